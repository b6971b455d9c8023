/**
 * A synchronous JSONata for the runtime's hot path, derived at load time from the installed jsonata package.
 *
 * Why: jsonata 2.x evaluates every node of an expression as an `async` function, so each of the ~2,800 nodes of
 * the Shopify order mapping costs a promise and a microtask, and every node looks up three debugging hooks by
 * walking the whole frame chain. Measured here on one core (jsonata 2.2.2, shopify-order.jsonata @2): 627
 * evaluations/s as shipped, 1,819/s with async/await removed, 2,545/s with the hook lookups removed as well.
 * rsync binds no asynchronous functions and no hooks, so for its mappings the two are the same program.
 *
 * How: the package's own jsonata.js is read from node_modules, `async`/`await`/`Promise.all` are removed and the
 * three hook lookups replaced by `undefined`, each rewrite counted against what this version of the file needs; if
 * any count differs (another jsonata version), no synchronous engine is made and callers keep the async one. The
 * result is evaluated as a CommonJS module. Nothing is written to disk.
 *
 * Safety: `rsync test` evaluates every mapping test case with both engines and fails on any difference, and the
 * pipeline re-evaluates a record with the async engine when the synchronous one fails with anything other than
 * a JSONata error (an engine difference must never dead-letter a good record).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import type jsonataType from 'jsonata';

export type Jsonata = typeof jsonataType;

/** The rewrites, each with how many times it must apply to jsonata 2.2.x's jsonata.js. */
const REWRITES: { name: string; from: RegExp | string; to: string; count: number }[] = [
  { name: 'Promise.all', from: /await Promise\.all\(/g, to: '(', count: 2 },
  { name: 'async function', from: /\basync function\b/g, to: 'function', count: 43 },
  { name: 'async arrow', from: /\basync \(/g, to: '(', count: 3 },
  { name: 'await', from: /\bawait\s+/g, to: '', count: 103 },
  { name: 'entry hook', from: "environment.lookup(Symbol.for('jsonata.__evaluate_entry'))", to: 'undefined', count: 1 },
  { name: 'exit hook', from: "environment.lookup(Symbol.for('jsonata.__evaluate_exit'))", to: 'undefined', count: 1 },
  {
    name: 'frame hook',
    from: "enclosingEnvironment.lookup(Symbol.for('jsonata.__createFrame_push'))",
    to: 'undefined',
    count: 1,
  },
];

/** The engine, or why there is none; made once (the installed jsonata does not change while running). */
export type SyncEngine = { ok: true; jsonata: Jsonata } | { ok: false; problem: string };

let made: SyncEngine | undefined;

function count(text: string, from: RegExp | string): number {
  if (typeof from === 'string') return text.split(from).length - 1;
  return (text.match(from) ?? []).length;
}

/** The synchronous engine, or the reason this jsonata cannot be derived. */
export function syncJsonata(): SyncEngine {
  made ??= derive();
  return made;
}

function derive(): SyncEngine {
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve('jsonata');
    let text = readFileSync(file, 'utf8');
    for (const r of REWRITES) {
      const n = count(text, r.from);
      if (n !== r.count) throw new Error(`jsonata ${versionOf(file)}: ${r.name} appears ${n} times, not ${r.count}`);
      text = typeof r.from === 'string' ? text.split(r.from).join(r.to) : text.replace(r.from, r.to);
    }
    const module = { exports: {} as unknown };
    const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${text}\n})`, {
      filename: `${file} (synchronous)`,
    }) as (...a: unknown[]) => void;
    wrapper(module.exports, require, module, file, path.dirname(file));
    const engine = module.exports as Jsonata;
    // A smoke test: the rewrite must give plain values, not promises.
    const probe = engine('$sum([1, 2]) & "-" & $join(["a", "b"])').evaluate({}) as unknown;
    if (probe !== '3-ab') throw new Error(`the synchronous engine gave ${String(probe)} for a probe`);
    return { ok: true, jsonata: engine };
  } catch (e) {
    return { ok: false, problem: (e as Error).message };
  }
}

function versionOf(file: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(path.dirname(file), 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return '?';
  }
}
