/**
 * The layering of engine/ (engine/README.md), kept by a test: a module imports only from its own layer or below,
 * nothing in engine/ imports from cli/, only engine/git/ speaks to Git (that engine/jsonata/ imports nothing of
 * rsync's is test/jsonata/no-rsync-imports.test.ts), and the commands in cli/ run no SQL, pg-boss or Git of their own (they call the engine).
 *
 * Imports are read as text (static `import … from`, `export … from` and `import('…')`), so a new file is checked
 * without being listed anywhere. A folder of engine/ that has no layer below fails too: adding a folder means placing
 * it in the map.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

/** engine/README.md's map, lowest layer first. */
const LAYERS: readonly (readonly string[])[] = [
  ['util', 'diagnostics', 'jsonata'],
  ['model', 'git', 'load'],
  ['workspace', 'validate', 'mapping', 'state', 'live', 'connectors', 'auth'],
  [
    'plan',
    'diff',
    'apply',
    'promote',
    'history',
    'runtime',
    'scaffold',
    'watch',
    'xref',
    'gitops',
    'report',
    'rollback',
    'rollout',
    'console',
  ],
];

const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'generated') out.push(...tsFiles(p));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s(type\s)?[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

interface Import {
  /** Repository-relative path of the importing file. */
  file: string;
  /** What it imports, as written. */
  spec: string;
  /** Repository-relative path of the imported file, for a relative import. */
  target?: string;
  /** `import type …`: erased at build, so it runs nothing. */
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const rel = path.relative(ROOT, file).split(path.sep).join('/');
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3];
    const target = spec.startsWith('.')
      ? path
          .relative(ROOT, path.resolve(path.dirname(file), spec))
          .split(path.sep)
          .join('/')
      : undefined;
    out.push({ file: rel, spec, target, typeOnly: m[1] !== undefined });
  }
  return out;
}

/** The engine folder a repository-relative path lies in ('' for a file directly in engine/), or undefined. */
function engineFolder(rel: string): string | undefined {
  const m = /^engine\/(?:([^/]+)\/)?[^/]*$|^engine\/([^/]+)\//.exec(rel);
  if (!m) return undefined;
  return m[2] ?? m[1] ?? '';
}

const engineFiles = tsFiles(path.join(ROOT, 'engine')).filter((f) => !f.endsWith('.test.ts'));
const engineImports = engineFiles.flatMap(importsOf);
const cliImports = tsFiles(path.join(ROOT, 'cli')).flatMap(importsOf);
const show = (list: Import[]) => list.map((i) => `${i.file} imports ${i.spec}`);

describe('the layers of engine/', () => {
  it('every folder of engine/ has a layer in the map, and no module lies directly in engine/', () => {
    const folders = readdirSync(path.join(ROOT, 'engine'), { withFileTypes: true });
    const unplaced = folders.filter((e) => (e.isDirectory() ? !layerOf.has(e.name) : e.name.endsWith('.ts')));
    expect(unplaced.map((e) => e.name)).toEqual([]);
  });

  it('a module imports only from its own layer or a lower one', () => {
    const upward = engineImports.filter((i) => {
      if (!i.target) return false;
      const from = layerOf.get(engineFolder(i.file) ?? '');
      const to = layerOf.get(engineFolder(i.target) ?? '');
      return from !== undefined && to !== undefined && to > from;
    });
    expect(show(upward)).toEqual([]);
  });

  it('nothing in engine/ imports from cli/', () => {
    expect(show(engineImports.filter((i) => i.target?.startsWith('cli/')))).toEqual([]);
  });

  it('only engine/git/ speaks to Git', () => {
    const git = engineImports.filter((i) => i.spec === 'simple-git' && engineFolder(i.file) !== 'git');
    const spawned = engineFiles.filter(
      (f) =>
        engineFolder(path.relative(ROOT, f)) !== 'git' &&
        /\b(?:spawn|execFile|exec)(?:Sync)?\(\s*['"]git['"]/.test(readFileSync(f, 'utf8')),
    );
    expect([...show(git), ...spawned.map((f) => `${path.relative(ROOT, f)} runs git`)]).toEqual([]);
  });

  it('the commands in cli/ run no SQL, pg-boss or Git of their own', () => {
    const own = cliImports.filter(
      (i) => !i.typeOnly && ['pg', 'pg-boss', 'simple-git', 'node:child_process'].includes(i.spec),
    );
    expect(show(own)).toEqual([]);
    const sql = tsFiles(path.join(ROOT, 'cli')).filter((f) =>
      /\.query\(|pg_notify|\bSELECT\s|\bINSERT\s+INTO\b/.test(readFileSync(f, 'utf8')),
    );
    expect(sql.map((f) => path.relative(ROOT, f))).toEqual([]);
  });
});
