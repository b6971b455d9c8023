/**
 * The content cache (engine/load/content-cache.ts): per-file results kept under .rsync/cache/ by the text's hash.
 * A cached run must report exactly what an uncached one reports, and a file that changes (in the working tree, in a
 * template, at another Git ref) must be parsed and checked again: a cache never lets an invalid workspace pass.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ContentCache } from '../../engine/load/content-cache.js';
import { loadWorkspace } from '../../engine/load/loader.js';
import { validateWorkspace } from '../../engine/validate/validate.js';
import { openAndValidate } from '../../engine/workspace/open.js';
import { brokenCases, caseOptions, materialise } from '../helpers/broken.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = path.join('.rsync', 'cache', 'content.json');

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A copy of the example workspace at the project root, in a temp folder. */
function copyWorkspace(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-content-cache-'));
  made.push(dir);
  for (const p of ['rsync.yaml', 'integrations', 'templates']) {
    if (existsSync(path.join(ROOT, p))) cpSync(path.join(ROOT, p), path.join(dir, p), { recursive: true });
  }
  return dir;
}

const codes = async (dir: string, opts: { ref?: string; env?: string } = {}) =>
  (await openAndValidate({ path: dir, ...opts })).diagnostics.map(
    (d) => `${d.code} ${d.range?.file}:${d.range?.start.line}`,
  );

function edit(file: string, change: (text: string) => string): void {
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

const ORDER_MAPPING = 'templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata';

describe('content cache', () => {
  it('a cached validation reports exactly what an uncached one does, for every broken workspace', async () => {
    for (const name of brokenCases()) {
      const dir = materialise(name);
      made.push(dir);
      const { env } = caseOptions(name);
      const uncached = validateWorkspace(await loadWorkspace({ root: dir, env })).diagnostics.map(diagnosticToJSON);
      const cold = (await openAndValidate({ path: dir, env })).diagnostics.map(diagnosticToJSON);
      const warm = (await openAndValidate({ path: dir, env })).diagnostics.map(diagnosticToJSON);
      expect(cold, name).toEqual(uncached);
      expect(warm, name).toEqual(uncached);
    }
  });

  it('is written by a validation and read by the next one', async () => {
    const dir = copyWorkspace();
    expect(await codes(dir)).toEqual([]);
    const stored = JSON.parse(readFileSync(path.join(dir, CACHE), 'utf8')) as { yaml: object; jsonata: object };
    expect(Object.keys(stored.yaml).length).toBeGreaterThan(10);
    expect(Object.keys(stored.jsonata).length).toBeGreaterThan(5);
    const before = statSync(path.join(dir, CACHE)).mtimeMs;
    expect(await codes(dir)).toEqual([]);
    expect(statSync(path.join(dir, CACHE)).mtimeMs, 'nothing new: not rewritten').toBe(before);
  });

  it('a file that changes after a cached valid run is checked again: YAML syntax, schema, JSONata, $now()', async () => {
    const dir = copyWorkspace();
    expect(await codes(dir)).toEqual([]);
    edit(path.join(dir, 'integrations/northwind/flows/pos-prices.yaml'), (t) =>
      t.replace(/^kind: Flow$/m, 'kind: Flow\nunknownField: 1'),
    );
    expect(await codes(dir)).toEqual(['schema-unknown-field integrations/northwind/flows/pos-prices.yaml:7']);
    edit(path.join(dir, 'integrations/northwind/flows/pos-prices.yaml'), (t) =>
      t.replace('unknownField: 1', 'unknownField: [1'),
    );
    expect((await codes(dir)).map((c) => c.split(' ')[0])).toContain('yaml-syntax');
    edit(path.join(dir, 'integrations/northwind/flows/pos-prices.yaml'), (t) => t.replace('\nunknownField: [1', ''));
    expect(await codes(dir)).toEqual([]);
    edit(path.join(dir, 'integrations/northwind/mappings/netsuite-store-price.jsonata'), (t) => `${t}\n)(`);
    expect((await codes(dir)).map((c) => c.split(' ')[0])).toEqual(['jsonata-syntax']);
    edit(
      path.join(dir, 'integrations/northwind/mappings/netsuite-store-price.jsonata'),
      (t) => `(${t.replace(/\n\)\($/, '')}) ~> | $ | { "at": $now() } |`,
    );
    expect(await codes(dir)).toEqual([
      'mapping-nondeterministic integrations/northwind/mappings/netsuite-store-price.jsonata:1',
    ]);
  });

  it('a template change is seen by every customer that uses it', async () => {
    const dir = copyWorkspace();
    expect(await codes(dir)).toEqual([]);
    edit(path.join(dir, ORDER_MAPPING), () => '{ "a": ');
    expect(await codes(dir)).toEqual([`jsonata-syntax ${ORDER_MAPPING}:1`]);
    edit(path.join(dir, 'templates/shopify-orders-to-erp/2/template.yaml'), (t) =>
      t.replace(/^kind: Template$/m, 'kind: Template\nextra: 1'),
    );
    expect(await codes(dir)).toContain('schema-unknown-field templates/shopify-orders-to-erp/2/template.yaml:4');
  });

  it('another Git ref is another set of texts: an invalid commit is reported after a valid one, and back', async () => {
    const dir = copyWorkspace();
    const git = (...args: string[]) => {
      const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args], {
        cwd: dir,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(r.stderr || r.stdout);
      return r.stdout.trim();
    };
    writeFileSync(path.join(dir, '.gitignore'), '.rsync/\n');
    git('init', '--quiet');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'valid');
    const valid = git('rev-parse', 'HEAD');
    edit(path.join(dir, ORDER_MAPPING), (t) => `${t}\n)(`);
    git('commit', '--quiet', '-am', 'broken mapping');
    const broken = git('rev-parse', 'HEAD');
    git('checkout', '--quiet', valid, '--', '.'); // the working tree is valid again; only the ref is broken

    expect(await codes(dir, { ref: valid, env: 'production' })).toEqual([]);
    expect((await codes(dir, { ref: broken, env: 'production' })).map((c) => c.split(' ')[0])).toEqual([
      'jsonata-syntax',
    ]);
    expect(await codes(dir)).toEqual([]);
    expect(await codes(dir, { ref: valid, env: 'production' })).toEqual([]);
  });

  it('a cache written by another build is ignored', async () => {
    const dir = copyWorkspace();
    expect(await codes(dir)).toEqual([]);
    const file = path.join(dir, CACHE);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as {
      build: string;
      jsonata: Record<string, [number, unknown]>;
    };
    // Claim that a broken text compiles, under another build.
    const brokenText = '{ "a": ';
    stored.jsonata[ContentCache.inMemory().key(brokenText)] = [
      stored.jsonata[Object.keys(stored.jsonata)[0]][0],
      { ok: true, fields: [], calls: [] },
    ];
    stored.build = 'another-build';
    writeFileSync(file, JSON.stringify(stored));
    edit(path.join(dir, ORDER_MAPPING), () => brokenText);
    expect(await codes(dir)).toEqual([`jsonata-syntax ${ORDER_MAPPING}:1`]);
  });

  it('keeps only values JSON gives back exactly, and drops entries no recent command used', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-content-cache-'));
    made.push(dir);
    const c = ContentCache.open(dir);
    c.put('yaml', 'nan', [{ x: NaN }]);
    c.put('yaml', 'minus-zero', [-0]);
    c.put('yaml', 'plain', [{ a: [1, 'b', null, true] }]);
    expect(c.get('yaml', 'nan')).toBeUndefined();
    expect(c.get('yaml', 'minus-zero')).toBeUndefined();
    expect(c.get('yaml', 'plain')).toEqual([{ a: [1, 'b', null, true] }]);
    c.save();
    // Four more writes that do not use "plain": it is gone after them.
    for (let i = 0; i < 4; i++) {
      const next = ContentCache.open(dir);
      expect(next.get('yaml', 'plain'), `write ${i}`).toBeDefined();
      const later = ContentCache.open(dir);
      later.put('jsonata', `k${i}`, { ok: true, fields: null, calls: [] });
      later.save();
    }
    expect(ContentCache.open(dir).get('yaml', 'plain')).toBeUndefined();
    expect(ContentCache.open(dir).get('jsonata', 'k3')).toBeDefined();
  });
});
