/**
 * A JSONata → JavaScript compiler for the runtime's hot path.
 *
 * Why: even synchronous (sync-engine.ts), the jsonata interpreter walks some 2,800 AST nodes per Shopify order, each
 * through a generic `evaluate` with its dispatch, frame lookups, sequence allocations and argument checks. The issue
 * asks for 10,000 records/s end to end on two cores; the interpreter gives about 2,500 mappings/s per core. This
 * compiler turns the expression's AST (jsonata's own parser, ast.ts) into one JavaScript function (codegen/), with
 * every variable resolved to a JavaScript variable at compile time, that calls the runtime (runtime/).
 *
 * Semantics: each node compiles to code that does what jsonata 2.2's `evaluate` does for it — the same sequence
 * rules (singleton collapse, flattening of path steps, `keepSingleton`, `cons` arrays), the same filters, the same
 * object-constructor grouping, the same lambda frames (a lambda's body sees the input of its definition) — and the
 * built-in functions are jsonata's own implementations, taken from the synchronous engine and called with jsonata's
 * own signature validation.
 *
 * What it does not compile (it says why, and the caller keeps the interpreter): sort, transform, `~>`, partial
 * application, wildcards, descendants, parent, focus/index/tuple bindings, grouping after a path, `..`, and the
 * built-ins that need the interpreter's environment ($now, $millis, $eval).
 *
 * Safety: a compiled expression never decides an error. When the compiled code throws anything, the caller evaluates
 * the record again with the interpreter, whose answer (or error) counts. `rsync test` evaluates every mapping test
 * case with the compiled function as well and fails on any difference from jsonata, and a test compares the
 * two on the example mappings over thousands of mutated real payloads.
 */
import { parse } from './ast.js';
import { generate } from './codegen/index.js';
import { builtin, runtimeFor } from './runtime/index.js';
import { syncJsonata } from './sync-engine.js';

export interface CompiledExpression {
  evaluate(input: unknown, bindings?: Record<string, unknown>): unknown;
  /** The generated JavaScript (for tests and for curiosity). */
  readonly code: string;
}

/** The compiled expression, or why this compiler leaves it to the interpreter. */
export type CompiledToJavaScript = { ok: true; expr: CompiledExpression } | { ok: false; problem: string };

/** Results by text (a mapping revision): later calls with the same text get the same function. */
const byText = new Map<string, CompiledToJavaScript>();

/** Compile a JSONata expression to JavaScript, once per text; what it cannot compile is returned, not thrown. */
export function compileToJavaScript(text: string): CompiledToJavaScript {
  let known = byText.get(text);
  if (!known) {
    known = compileText(text);
    if (byText.size >= 500) byText.clear();
    byText.set(text, known);
  }
  return known;
}

function compileText(text: string): CompiledToJavaScript {
  const sync = syncJsonata();
  const R = sync.ok ? runtimeFor(sync.jsonata) : null;
  if (!sync.ok || !R) return { ok: false, problem: 'the synchronous jsonata engine is not available' };
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  const made = generate(parsed.ast);
  if (!made.ok) return made;
  const { code, constants, kept, globals } = made.generated;
  const S: Record<string, unknown> = Object.create(null);
  for (const name of globals) S[name] = builtin(sync.jsonata, name);
  let evaluate: CompiledExpression['evaluate'];
  try {
    evaluate = new Function('R', 'K', 'S', 'Z', code)(R, constants, S, new Array(kept).fill(null));
  } catch (e) {
    // A fault of this compiler, never of the mapping: the interpreter runs it.
    return { ok: false, problem: `the generated code does not load: ${(e as Error).message}` };
  }
  return { ok: true, expr: { evaluate, code } };
}
