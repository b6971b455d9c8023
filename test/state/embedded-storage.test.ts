/**
 * The embedded PostgreSQL on a state folder it cannot write (issue 15): a full disk and a read-only file system
 * each give a clear error — the folder, why, what to do, exit 69 — instead of an internal error (a raw ENOENT from
 * mkdir, exit 70) or a page of initdb's output. Each workspace lies on a small tmpfs of its own (3 MB: full once
 * initdb writes its WAL; the other remounted read-only), so the test needs mount(8) as root; it is skipped where
 * that is not allowed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, show } from '../helpers/cli.js';
import { SANDBOX_SYSTEMS, writeWorkspace } from '../helpers/runtime.js';

const mounted: string[] = [];
/** A tmpfs of `size` at a new temp folder, or undefined when this process may not mount. */
function tmpfs(size: string): string | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-fs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (r.status !== 0) return undefined;
  mounted.push(dir);
  return dir;
}
const canMount = (() => {
  const d = tmpfs('1m');
  if (!d) return false;
  spawnSync('umount', [d]);
  mounted.pop();
  return true;
})();

describe.skipIf(!canMount)('the embedded PostgreSQL on a state folder it cannot write', { timeout: 120_000 }, () => {
  afterAll(() => {
    for (const d of mounted) spawnSync('umount', ['-l', d]);
  });
  const status = (dir: string) => runCli(['status', '--env', 'staging'], dir, { actor: 'test <t@example.com>' });

  it('a full disk: exit 69 naming the folder and the cause, with what to do', async () => {
    const dir = tmpfs('3m')!;
    writeWorkspace(dir, { connections: SANDBOX_SYSTEMS, flows: [] });
    const r = await status(dir);
    expect(r.status, show(r)).toBe(69);
    expect(r.stderr).toContain(`The embedded PostgreSQL cannot keep its state in ${dir}/.rsync/pg: the disk is full.`);
    expect(r.stderr).toMatch(/PostgreSQL said: .*No space left on device/);
    expect(r.stderr).toContain('or set DATABASE_URL');
    expect(r.stderr).not.toMatch(/internal error|initdb: removing/);
  });

  it('a read-only file system: exit 69, not an internal error', async () => {
    const dir = tmpfs('3m')!;
    writeWorkspace(dir, { connections: SANDBOX_SYSTEMS, flows: [] });
    expect(spawnSync('mount', ['-o', 'remount,ro', dir]).status).toBe(0);
    const r = await status(dir);
    expect(r.status, show(r)).toBe(69);
    expect(r.stderr).toMatch(new RegExp(`cannot keep its state in ${dir}/\\.rsync.*read-only file system`));
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
