/**
 * engine/jsonata/ is a module of its own: it imports only node: modules, the jsonata package and its own files, so
 * it could be lifted out of rsync as it is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const DIR = path.join(ROOT, 'engine', 'jsonata');

/** Every module specifier of a file: static imports and re-exports, and dynamic import()s. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gms)) found.push(m[1]);
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]);
  for (const m of text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]);
  return found;
}

const files = readdirSync(DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(DIR, f));

describe('engine/jsonata', () => {
  it('is read whole: every module, and every kind of import in them', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(specifiers(readFileSync(path.join(DIR, 'index.ts'), 'utf8'))).toContain('./compile.js');
    const sample = `import a from '../util/hash.js';\nimport {\n  b,\n} from "node:fs";\nexport { c } from './c.js';\nawait import('../x.js');`;
    expect(specifiers(sample)).toEqual(['../util/hash.js', 'node:fs', './c.js', '../x.js']);
  });

  for (const file of files) {
    it(`${path.relative(DIR, file)} imports nothing from outside engine/jsonata/ but node: and jsonata`, () => {
      const outside = specifiers(readFileSync(file, 'utf8')).filter((s) => {
        if (s.startsWith('node:') || s === 'jsonata') return false;
        if (!s.startsWith('.')) return true;
        const target = path.resolve(path.dirname(file), s);
        return path.relative(DIR, target).startsWith('..');
      });
      expect(outside).toEqual([]);
    });
  }
});
