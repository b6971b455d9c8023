/**
 * `rsync rollback` (issue 18, part 4) on a real Git repository and a fresh PostgreSQL database, with a flow run on
 * the sandbox connector by an in-process worker: a mapping is changed in Git and applied; the rollback plans the
 * return to the previous revision, names the commit to revert, applies it (logged as a rollback) and the next run
 * writes with the previous mapping; `rsync status` shows the flow as diverged from Git, and the next plan from Git
 * shows the change back. Rolling back an apply-log entry whose change is already undone does nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planEnvironment } from '../../engine/plan/index.js';
import { planRollback } from '../../engine/rollback/rollback.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { connect } from '../../engine/state/db.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  ACTOR,
  applyWorkspace,
  backfillOnce,
  cli,
  ENV,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  seed,
  stockFlow,
  stockRecords,
} from '../helpers/runtime.js';

const FLOW = 'acme/flow/stock';
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('rsync rollback: back to the previous mapping, and the next run uses it', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  let worker: RsyncWorker;
  let changeCommit: string;
  const day = (d: number) => new Date(Date.UTC(2026, 10, d));
  /** What the storefront holds for a stock record's key. */
  const written = async (id: number) =>
    (
      await pool.query<{ record: { available: number } }>(
        `SELECT record FROM rsync_sandbox.writes WHERE system = 'acme/shop' AND key = $1`,
        [`stock-${id}`],
      )
    ).rows[0]?.record.available;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/rollback.ts', 'cli/commands/status.ts', 'cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('rollback');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test rollback' });
    dir = runtimeWorkspace('rsync-rollback-', { connections: SANDBOX_SYSTEMS, flows: [stockFlow()] });
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'config', 'user.name', 'Ops');
    git(dir, 'config', 'user.email', 'ops@acme.example');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'The stock flow');
    await applyWorkspace(dir, db.url);
    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: null, threads: 1, pollMs: 100 });
    await worker.start();
    // Revision 1 runs: available is the quantity.
    await seed(pool, 'acme/erp', 'inventory', stockRecords(3), day(1), day(1));
    await backfillOnce(pool, 'stock', day(1), day(2));

    // Revision 2, from a commit: available is the quantity plus 1000.
    const mapping = path.join(dir, 'integrations/acme/mappings/stock.jsonata');
    writeFileSync(mapping, readFileSync(mapping, 'utf8').replace('$number(qty)', '$number(qty) + 1000'));
    git(dir, 'commit', '-q', '-am', 'Stock: add the safety buffer');
    changeCommit = git(dir, 'rev-parse', 'HEAD');
    await applyWorkspace(dir, db.url);
    await seed(pool, 'acme/erp', 'inventory', stockRecords(2, 10), day(3), day(3));
    await backfillOnce(pool, 'stock', day(3), day(4));
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the change ran: revision 2 wrote with the new mapping', async () => {
    expect(stockRecords(2, 10)[1]).toMatchObject({ id: 12, qty: '13' });
    expect(await written(12)).toBe(1013);
    expect(await written(2)).toBe(13); // written by revision 1: the quantity as it is
  });

  it('rollback plans revision 1 back, names the commit to revert, and applies it as a rollback', async () => {
    const before = await pool.query(`SELECT revision, spec FROM rsync.resources WHERE env = $1 AND address = $2`, [
      ENV,
      FLOW,
    ]);
    expect(before.rows[0].revision).toBe(2);
    const run = await cli(dir, db.url, 'rollback', FLOW, '--env', ENV, '--yes');
    expect(run.status, show(run)).toBe(0);
    expect(run.stdout).toContain(`~ ${FLOW} — rollback to revision 1 (from 2)`);
    expect(run.stdout).toContain('-  "available": $number(qty) + 1000,\n');
    expect(run.stdout).toContain('+  "available": $number(qty),\n');
    expect(run.stdout).not.toContain('Partial plan');
    expect(run.stdout).toContain(`git revert ${changeCommit}`);

    const rev1 = await pool.query(`SELECT spec FROM rsync.revisions WHERE env = $1 AND address = $2 AND revision = 1`, [
      ENV,
      FLOW,
    ]);
    const now = await pool.query(`SELECT revision, spec FROM rsync.resources WHERE env = $1 AND address = $2`, [
      ENV,
      FLOW,
    ]);
    expect(now.rows[0].revision).toBe(3);
    expect(now.rows[0].spec).toEqual(rev1.rows[0].spec);
    const log = await pool.query(`SELECT action, detail FROM rsync.apply_log ORDER BY n DESC LIMIT 1`);
    expect(log.rows[0].action).toBe('rollback');
    expect(log.rows[0].detail.rollback.resources).toEqual([
      { address: FLOW, fromRevision: 2, toRevision: 1, introducedBy: changeCommit },
    ]);
  });

  it('the next run uses the previous mapping', async () => {
    await seed(pool, 'acme/erp', 'inventory', stockRecords(2, 20), day(5), day(5));
    await backfillOnce(pool, 'stock', day(5), day(6));
    expect(await written(22)).toBe(13); // not 1013
    const runs = await pool.query(`SELECT revision FROM rsync.runs WHERE address = $1 ORDER BY id DESC LIMIT 1`, [
      FLOW,
    ]);
    expect(runs.rows[0].revision).toBe(3);
  });

  it('status shows it diverged from Git, and the next plan from Git shows the change back', async () => {
    const status = await cli(dir, db.url, 'status', '--env', ENV, '--json');
    expect(status.status, show(status)).toBe(0);
    expect(JSON.parse(status.stdout).diverged).toEqual([
      { address: FLOW, revision: 3, entry: expect.any(Number), revert: [changeCommit] },
    ]);
    const text = await cli(dir, db.url, 'status', '--env', ENV);
    expect(text.stdout).toContain(
      `Diverged from Git (rolled back; the next apply from Git undoes it):\n  ${FLOW}: revision 3`,
    );

    const state = await connect(dir, { url: db.url });
    try {
      const plan = await planEnvironment(state, { path: dir, env: ENV, actor: ACTOR });
      expect(plan.ok).toBe(true);
      if (!plan.ok) return;
      expect(plan.plan.changes.map((c) => [c.action, c.address, c.reason])).toEqual([
        ['update', FLOW, 'mapping changed'],
      ]);
      // The apply-log entry of the change, rolled back again: already as it was, nothing to do.
      const entry = await pool.query<{ apply_seq: string }>(
        `SELECT apply_seq FROM rsync.revisions WHERE env = $1 AND address = $2 AND revision = 2`,
        [ENV, FLOW],
      );
      const again = await planRollback(state, {
        env: ENV,
        what: entry.rows[0].apply_seq,
        actor: ACTOR,
        branding: plan.plan.branding,
      });
      expect(again.empty).toBe(true);
    } finally {
      await state.close();
    }
  });

  it('after git revert and a plan of it, status no longer shows it diverged', async () => {
    git(dir, 'revert', '--no-edit', changeCommit);
    const plan = await cli(dir, db.url, 'plan', '--env', ENV, '--json');
    expect(plan.status, show(plan)).toBe(0);
    expect(JSON.parse(plan.stdout).changes).toEqual([]);
    const status = await cli(dir, db.url, 'status', '--env', ENV, '--json');
    expect(JSON.parse(status.stdout).diverged).toEqual([]);
  });

  it('refuses an unknown address and a revision that is not there, with a hint', async () => {
    const unknown = await cli(dir, db.url, 'rollback', 'acme/flow/stok', '--env', ENV, '--yes');
    expect(unknown.status, show(unknown)).toBe(64);
    expect(unknown.stderr).toContain('acme/flow/stock');
    const state = await connect(dir, { url: db.url });
    try {
      await expect(
        planRollback(state, { env: ENV, what: FLOW, toRevision: 9, actor: ACTOR, branding: {} as never }),
      ).rejects.toThrow(`${FLOW} has no revision 9 to roll back to in ${ENV}.`);
    } finally {
      await state.close();
    }
  });

  it('rolls back the apply that created a flow by deleting it (it did not exist before that entry)', async () => {
    const flows = path.join(dir, 'integrations/acme/flows/stock.yaml');
    const extra = path.join(dir, 'integrations/acme/flows/stock-copy.yaml');
    writeFileSync(extra, readFileSync(flows, 'utf8').replace('name: stock', 'name: stock-copy'));
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'A second stock flow');
    await applyWorkspace(dir, db.url);
    const created = await pool.query<{ n: number }>(
      `SELECT apply_seq::int AS n FROM rsync.revisions WHERE env = $1 AND address = 'acme/flow/stock-copy' AND action = 'create'`,
      [ENV],
    );
    const entry = created.rows[0].n;
    const r = await cli(dir, db.url, 'rollback', String(entry), '--env', ENV, '--yes', '--json');
    expect(r.status, show(r)).toBe(0);
    const left = await pool.query(`SELECT 1 FROM rsync.resources WHERE env = $1 AND address = 'acme/flow/stock-copy'`, [
      ENV,
    ]);
    expect(left.rows).toEqual([]);
    const deleted = await pool.query<{ action: string }>(
      `SELECT action FROM rsync.revisions WHERE env = $1 AND address = 'acme/flow/stock-copy' ORDER BY revision`,
      [ENV],
    );
    expect(deleted.rows.map((x) => x.action)).toEqual(['create', 'delete']);
    // The stock flow itself, which that entry did not touch, is still deployed.
    const stock = await pool.query(`SELECT 1 FROM rsync.resources WHERE env = $1 AND address = $2`, [ENV, FLOW]);
    expect(stock.rows.length).toBe(1);
  });
});
