/**
 * The broken workspaces of test/fixtures/broken/: each case is an overlay on `_baseline/` (the files it adds or
 * changes, a `.delete` list of baseline files it removes, an optional `case.json`), made into a whole workspace in
 * a temp folder by materialise(). The format is described in test/fixtures/broken/README.md.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './cli.js';

export const BROKEN = path.join(ROOT, 'test', 'fixtures', 'broken');
export const BASELINE = '_baseline';

/** What an overlay folder holds besides workspace files: never copied into the workspace. */
const OVERLAY_ONLY = new Set(['.delete', 'case.json', '.rsync']);

/** Every case folder, the baseline included, sorted. */
export function brokenCases(): string[] {
  return readdirSync(BROKEN)
    .filter((name) => statSync(path.join(BROKEN, name)).isDirectory())
    .sort();
}

/** A case's options, from its optional case.json: `{ "env": "staging" }` validates with `--env staging`. */
export function caseOptions(name: string): { env?: string } {
  const file = path.join(BROKEN, name, 'case.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { env?: string }) : {};
}

/** The baseline files a case removes: its `.delete`, one workspace-relative path a line (`#` starts a comment). */
function deletions(name: string): string[] {
  const file = path.join(BROKEN, name, '.delete');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/**
 * The whole workspace of a case (the baseline with the case's overlay on top) in a new temp folder, or in `into`
 * (created if missing). The caller removes it.
 */
export function materialise(name: string, into?: string): string {
  const dir = into ?? mkdtempSync(path.join(os.tmpdir(), `rsync-broken-${name}-`));
  const copy = (from: string) =>
    cpSync(from, dir, {
      recursive: true,
      // A validation of the fixture folder itself leaves a .rsync/ cache: never part of a case.
      filter: (src) =>
        path.relative(from, src) === '' || !OVERLAY_ONLY.has(path.relative(from, src).split(path.sep)[0]),
    });
  copy(path.join(BROKEN, BASELINE));
  if (name === BASELINE) return dir;
  for (const rel of deletions(name)) {
    const target = path.join(dir, rel);
    if (!existsSync(target)) throw new Error(`${name}/.delete names ${rel}, which the baseline does not have`);
    rmSync(target, { recursive: true });
  }
  copy(path.join(BROKEN, name));
  return dir;
}
