/**
 * One apply per environment at a time (engine/state/locks.ts): while another apply holds an environment's lock,
 * `rsync apply` is refused with exit 75 and told who holds it and since when; another environment is not blocked;
 * a lock whose holder died is free again; and two applies started together never apply the same plan twice.
 *
 * The built CLI in child processes, on a Git repository holding a copy of the example workspace and a fresh
 * PostgreSQL database (test/helpers/db.ts).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireApplyLock } from '../../engine/state/locks.js';
import { buildProblem as sharedBuildProblem, runCli, show, git, exampleRepo, type Run } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ENV = 'staging';
const ACTOR = 'ci-bot <ci@acme.example>';

// --- helpers (test/helpers/cli.ts) ----------------------------------------------------------------------------------

const buildProblem = () => sharedBuildProblem(['cli/commands/plan.ts', 'cli/commands/apply.ts']);
const rsync = (args: string[], cwd: string, url: string): Promise<Run> =>
  runCli(args, cwd, { url, actor: ACTOR, isolateGit: true });

// --- the tests -----------------------------------------------------------------------------------------------------

const CONNECTION = 'integrations/northwind/connections/shopify.yaml';
const ADDRESS = 'northwind/connection/shopify';

describe('one apply per environment at a time', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: string;
  let version = 0;
  const cli = (...args: string[]) => rsync(args, repo, db.url);
  const revisionOf = async (address: string) =>
    (
      await pool.query<{ revision: number }>(`SELECT revision FROM rsync.resources WHERE env = $1 AND address = $2`, [
        ENV,
        address,
      ])
    ).rows[0]?.revision;
  const logEntries = async () =>
    Number((await pool.query(`SELECT count(*) AS n FROM rsync.apply_log WHERE env = $1`, [ENV])).rows[0].n);

  /** Commit a change to one connection, so that the next plan has exactly one update. */
  function changeSomething(): void {
    const file = path.join(repo, CONNECTION);
    const text = readFileSync(file, 'utf8');
    const next = text.replace(/^( {2}description: .*?)( \(v\d+\))?$/m, `$1 (v${++version})`);
    if (next === text) throw new Error(`${CONNECTION}: no description to change`);
    writeFileSync(file, next);
    git(repo, 'commit', '--quiet', '-am', `Reword the Shopify connection (v${version})`);
  }

  beforeAll(async () => {
    const problem = buildProblem();
    if (problem) throw new Error(problem);
    db = await testDatabase('lock');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test lock' });
    repo = exampleRepo('rsync-lock-');
    git(repo, 'branch', 'production');
    const first = await cli('apply', '--auto-approve');
    if (first.status !== 0) throw new Error(`the first apply failed:\n${show(first)}`);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('apply is refused (exit 75) while another apply holds the lock, naming who holds it and since when', async () => {
    changeSomething();
    const holder = 'Priya Shah <priya@acme.example> (release 2026.11)';
    const lock = await acquireApplyLock(db.url, ENV, holder);
    const saved = path.join(repo, 'saved-plan.json'); // untracked: staging plans what main has committed
    try {
      const row = (
        await pool.query<{ holder: string; host: string; pid: number; since: Date }>(
          `SELECT holder, host, pid, since FROM rsync.locks WHERE env = $1`,
          [ENV],
        )
      ).rows[0];
      expect(row).toMatchObject({ holder, host: os.hostname(), pid: process.pid });
      const expected = `Another apply to staging is running: ${holder} on ${os.hostname()} (pid ${process.pid}) since ${row.since.toISOString()}.`;
      const logBefore = await logEntries();

      const r = await cli('apply', '--auto-approve');
      expect(r.status, show(r)).toBe(75);
      expect(r.stderr).toContain(`rsync: ${expected}`);
      expect(r.stderr).toContain('Wait for it to finish, then plan again');
      expect(r.stderr).not.toMatch(/^ {4}at /m);

      // A saved plan is refused the same way, and --json says so as an error object.
      const s = await cli('plan', '--out', saved);
      expect(s.status, show(s)).toBe(0);
      const r2 = await cli('apply', saved);
      expect(r2.status, show(r2)).toBe(75);
      expect(r2.stderr).toContain(expected);
      const j = await cli('apply', '--auto-approve', '--json');
      expect(j.status, show(j)).toBe(75);
      expect(JSON.parse(j.stdout)).toMatchObject({ version: 1, error: { exitCode: 75, message: expected } });

      expect(await revisionOf(ADDRESS)).toBe(1);
      expect(await logEntries()).toBe(logBefore);

      // The lock is per environment: production is not blocked. Its apply takes its own lock and gets as far as
      // the approval check, made under that lock (the example's production requires approval).
      const prod = await cli('apply', '--env', 'production', '--auto-approve');
      expect(prod.status, show(prod)).toBe(75);
      expect(prod.stderr).toContain('production requires approval');
      expect(prod.stderr).not.toContain(expected);
    } finally {
      await lock.release();
    }
    expect((await pool.query(`SELECT * FROM rsync.locks WHERE env = $1`, [ENV])).rows).toEqual([]);

    // Released: the saved plan still applies (nothing moved in staging), and the row of the lock is gone again.
    const r = await cli('apply', saved);
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain('Applied to staging: 0 created, 1 updated, 0 deleted');
    expect(await revisionOf(ADDRESS)).toBe(2);
    expect((await pool.query(`SELECT * FROM rsync.locks WHERE env = $1`, [ENV])).rows).toEqual([]);
  });

  it('a lock whose holder died is free again (PostgreSQL releases it with the session)', async () => {
    changeSomething();
    const lock = await acquireApplyLock(db.url, ENV, 'an apply that crashed');
    const { backend } = (await pool.query<{ backend: number }>(`SELECT backend FROM rsync.locks WHERE env = $1`, [ENV]))
      .rows[0];
    await pool.query(`SELECT pg_terminate_backend($1)`, [backend]);
    await lock.release().catch(() => {}); // its session is gone

    const r = await cli('apply', '--auto-approve');
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain('Applied to staging: 0 created, 1 updated, 0 deleted');
    expect(await revisionOf(ADDRESS)).toBe(3);
  });

  it('two applies started together: one applies, the other is refused (lock or stale plan) or finds nothing to do', async () => {
    changeSomething();
    const logBefore = await logEntries();
    const runs = await Promise.all([cli('apply', '--auto-approve'), cli('apply', '--auto-approve')]);
    for (const r of runs) expect([0, 75], show(r)).toContain(r.status);
    const applied = runs.filter(
      (r) => r.status === 0 && r.stdout.includes('Applied to staging: 0 created, 1 updated, 0 deleted'),
    );
    expect(applied, runs.map(show).join('\n\n')).toHaveLength(1);
    const other = runs.find((r) => r !== applied[0])!;
    if (other.status === 75) expect(other.stderr).toMatch(/Another apply to staging is running|The plan is stale/);
    else expect(other.stdout).toContain('No changes.');

    // Applied once: one new revision, one new log entry.
    expect(await revisionOf(ADDRESS)).toBe(4);
    expect(
      Number(
        (await pool.query(`SELECT count(*) AS n FROM rsync.revisions WHERE env = $1 AND address = $2`, [ENV, ADDRESS]))
          .rows[0].n,
      ),
    ).toBe(4);
    expect(await logEntries()).toBe(logBefore + 1);
    expect((await pool.query(`SELECT * FROM rsync.locks WHERE env = $1`, [ENV])).rows).toEqual([]);
  });
});
