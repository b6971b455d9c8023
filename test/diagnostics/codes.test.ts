import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODES } from '../../engine/diagnostics/codes.js';

const root = path.resolve(import.meta.dirname, '../..');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== 'generated') sources(p, out);
    } else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('diagnostic codes', () => {
  const used = new Set<string>();
  for (const file of sources(path.join(root, 'engine'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/code: '([a-z][a-z-]+)'/g)) used.add(m[1]);
    for (const m of text.matchAll(/'(yaml-[a-z-]+)'/g)) used.add(m[1]);
  }

  it('every code the engine reports is listed in engine/diagnostics/codes.ts', () => {
    const missing = [...used].filter((c) => !(c in CODES));
    expect(missing).toEqual([]);
  });

  it('the README documents exactly the listed codes, with the same meaning', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = readme.split('<!-- codes:start')[1]?.split('<!-- codes:end -->')[0] ?? '';
    const rows = [...block.matchAll(/^\| `([a-z-]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual({ ...CODES });
  });
});
