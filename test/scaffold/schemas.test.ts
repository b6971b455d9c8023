/**
 * `rsync init` from this installation: every editor modeline in the new workspace (`# yaml-language-server:
 * $schema=…`, which the templates carry) names a file the workspace has — init used to leave them pointing at a
 * schemas/ folder it did not create — and every file a copied schema `$ref`s is there too, so an editor resolves
 * the whole chain. The schemas are this installation's, byte for byte. And init says how to run the flows while
 * the connections are placeholders (the sandbox), instead of leaving a worker to dead-letter every record.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaffoldWorkspace } from '../../engine/scaffold/scaffold.js';
import { schemasDir } from '../../engine/util/paths.js';

function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).flatMap((name) => {
    const r = rel ? `${rel}/${name}` : name;
    if (name === '.git') return [];
    return statSync(path.join(dir, r)).isDirectory() ? filesUnder(dir, r) : [r];
  });
}

describe('rsync init: the schemas its modelines point at', () => {
  let tmp: string;
  let dir: string;
  let result: Awaited<ReturnType<typeof scaffoldWorkspace>>;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'rsync-init-schemas-'));
    dir = path.join(tmp, 'acme');
    result = await scaffoldWorkspace({ dir, partner: 'Acme', customer: 'northwind', git: false });
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('every modeline and every $ref of a copied schema leads to a file of the workspace', () => {
    const files = filesUnder(dir);
    const modelines = files.flatMap((f) => {
      const m = /^#\s*yaml-language-server:\s*\$schema=(\S+)/m.exec(readFileSync(path.join(dir, f), 'utf8'));
      return m ? [{ f, target: path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1])) }] : [];
    });
    expect(modelines.length, 'the default template carries modelines').toBeGreaterThan(0);
    for (const { f, target } of modelines) expect(files, `${f} points at ${target}`).toContain(target);

    const schemas = files.filter((f) => f.startsWith('schemas/'));
    expect(schemas).toContain('schemas/document.schema.json');
    expect(schemas).toContain('schemas/defs.schema.json');
    for (const s of schemas) {
      const text = readFileSync(path.join(dir, s), 'utf8');
      expect(text, `${s} is the installation's`).toBe(
        readFileSync(path.join(schemasDir(), s.slice('schemas/'.length)), 'utf8'),
      );
      for (const m of text.matchAll(/"\$ref"\s*:\s*"([^"#]+)/g))
        expect(files, `${s} refers to ${m[1]}`).toContain(
          path.posix.normalize(path.posix.join(path.posix.dirname(s), m[1])),
        );
    }
    // Listed among the files init wrote, and only the schemas something refers to (not the canonical model's).
    expect(result.files.filter((f) => f.startsWith('schemas/')).sort()).toEqual(schemas.sort());
    expect(schemas.some((s) => s.startsWith('schemas/canonical/'))).toBe(false);
  });

  it('validates and tests as created, and says to run the flows on the sandbox until the connections are real', () => {
    expect(result.check).toMatchObject({ valid: true, errors: 0, failed: 0 });
    expect(result.next).toContain('retail-sync validate');
    expect(result.run).toEqual(['retail-sync apply --env staging', 'retail-sync worker --env staging --sandbox']);
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('`retail-sync worker --env staging --sandbox`');
    expect(readme).toMatch(/^schemas\/ +the JSON Schemas/m);
  });
});
