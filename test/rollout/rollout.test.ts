/**
 * `rsync rollout` (issue 19, item 3) on a real Git repository and a fresh PostgreSQL database. Three customers
 * (acme the canary, beta labelled early, gamma everyone else) each run a stock flow on the sandbox connector in an
 * in-process worker, whose rollout loop advances the rollout. A commit changes the three mappings, beta's poisoned
 * (every record fails to map: dead-lettered): `rollout start` applies it to the canary only; the canary's records go
 * through, its gate passes and the worker applies the early cohort; beta's records are dead-lettered by the new
 * revision, its gate fails and the rollout halts with gamma never changed. `abort --cohort early` puts beta back on
 * its previous revision and leaves the canary on the new one; a plain abort then reverts the canary too. A second
 * rollout, driven by the engine's pass with a chosen clock, shows pause/resume, a manual approval released by
 * `rollout approve`, a wait gate, and completion. Every step is an apply-log entry.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceRollouts, type RolloutContext } from '../../engine/rollout/rollout.js';
import { evaluateAlerts } from '../../engine/runtime/alerts/index.js';
import { awaitBackfill, createBackfill } from '../../engine/runtime/backfill.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import type { RsyncWorker } from '../../engine/runtime/worker.js';
import { connect, type Database } from '../../engine/state/db.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  ACTOR,
  applyWorkspace,
  cli,
  ENV,
  inProcessWorker,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  seed,
  stockFlow,
  stockRecords,
  until,
} from '../helpers/runtime.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const ROLLOUTS = `apiVersion: rsync/v1
kind: Rollout
metadata: { name: stock-v2 }
spec:
  cohorts:
    - name: canary
      customers: [acme]
      gate: { maxDeadLetterRate: "5%", minRecords: 3 }
    - name: early
      selector: { ring: early }
      gate: { maxDeadLetterRate: "5%", minRecords: 3 }
    - name: everyone
---
apiVersion: rsync/v1
kind: Rollout
metadata: { name: stock-manual }
spec:
  cohorts:
    - name: canary
      customers: [acme]
      gate: { approval: true }
    - name: rest
      gate: { wait: 1h }
`;

describe('rsync rollout: cohorts, gates, halt and abort', { timeout: 240_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  let worker: RsyncWorker | undefined;
  const day = (d: number) => new Date(Date.UTC(2026, 10, d));
  const flow = (c: string) => `${c}/flow/stock`;
  const deployed = async (c: string) =>
    (
      await pool.query<{ revision: number; spec: Record<string, unknown> }>(
        `SELECT revision, spec FROM rsync.resources WHERE env = $1 AND address = $2`,
        [ENV, flow(c)],
      )
    ).rows[0];
  const revisionSpec = async (c: string, n: number) =>
    (
      await pool.query(`SELECT spec FROM rsync.revisions WHERE env = $1 AND address = $2 AND revision = $3`, [
        ENV,
        flow(c),
        n,
      ])
    ).rows[0].spec;
  const status = async (name: string) => {
    const r = await cli(dir, db.url, 'rollout', 'status', name, '--env', ENV, '--json');
    expect(r.status, show(r)).toBe(0);
    return JSON.parse(r.stdout).rollouts[0];
  };
  /** One backfill window of a customer's stock flow over [from, to), run by the worker, awaited. */
  const backfillOf = async (customer: string, from: Date, to: Date) => {
    const f = (await loadFlows(pool, ENV)).get(flow(customer))!;
    const b = await createBackfill(pool, f, from, to, to.getTime() - from.getTime(), ACTOR);
    return awaitBackfill(pool, b.id);
  };

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/rollout/start.ts', 'cli/commands/rollout/abort.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('rollout');
    pool = new pg.Pool({ connectionString: db.url, max: 6, application_name: 'test rollout' });
    dir = runtimeWorkspace('rsync-rollout-', { connections: SANDBOX_SYSTEMS, flows: [stockFlow()] });
    const acme = path.join(dir, 'integrations/acme');
    for (const [c, labels] of [
      ['beta', '{ ring: early }'],
      ['gamma', '{ ring: late }'],
    ]) {
      const to = path.join(dir, 'integrations', c);
      cpSync(acme, to, { recursive: true });
      writeFileSync(
        path.join(to, 'customer.yaml'),
        `apiVersion: rsync/v1\nkind: Customer\nmetadata: { name: ${c}, labels: ${labels} }\nspec:\n  displayName: ${c}\n  timezone: America/Chicago\n`,
      );
    }
    writeFileSync(path.join(dir, 'rollouts.yaml'), ROLLOUTS);
    const settings = path.join(dir, 'rsync.yaml');
    writeFileSync(
      settings,
      readFileSync(settings, 'utf8').replace(
        'staging: { ref: main }',
        'staging: { ref: main }\n    production: { ref: production, requiresApproval: true }',
      ),
    );
    // A halted rollout is an incident of an Alert that asks for it (nothing listens on the channel: only the incident
    // is looked at here).
    appendFileSync(
      path.join(dir, 'rsync.yaml'),
      `---\napiVersion: rsync/v1\nkind: Alert\nmetadata: { name: rollouts }\nspec:\n  when: { rolloutHalted: true }\n  channels:\n    - webhook: { url: "http://127.0.0.1:9/rsync" }\n`,
    );
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'config', 'user.name', 'Ops');
    git(dir, 'config', 'user.email', 'ops@acme.example');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'Three customers with a stock flow');
    await applyWorkspace(dir, db.url);

    // The change: a safety buffer for everyone; beta's mapping is poisoned (a SKU is no number: every record fails).
    for (const c of ['acme', 'beta', 'gamma']) {
      const file = path.join(dir, 'integrations', c, 'mappings/stock.jsonata');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace('$number(qty)', c === 'beta' ? '$number(sku) + 1000' : '$number(qty) + 1000'));
    }
    git(dir, 'commit', '-q', '-am', 'Stock: add the safety buffer');
    worker = await inProcessWorker(pool, db.url, { rolloutIntervalMs: 200 });
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('start applies the change to the first cohort only', async () => {
    const r = await cli(dir, db.url, 'rollout', 'start', 'stock-v2', '--env', ENV);
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain('rollout stock-v2 in staging: RUNNING');
    expect(r.stdout).toMatch(/▶ 1\. canary\s+APPLIED\s+acme/);
    expect(r.stdout).toMatch(/2\. early\s+PENDING\s+beta/);
    expect(r.stdout).toMatch(/3\. everyone\s+PENDING\s+gamma/);
    expect(r.stdout).toContain('… maxDeadLetterRate: 0 of 0 records dead-lettered since the cohort was applied');
    expect((await deployed('acme')).revision).toBe(2);
    expect((await deployed('beta')).revision).toBe(1);
    expect((await deployed('gamma')).revision).toBe(1);
    // Where every apply needs an approved plan, a rollout is refused.
    const approvals = await cli(dir, db.url, 'rollout', 'start', 'stock-v2', '--env', 'production');
    expect(approvals.status, show(approvals)).toBe(75);
    expect(approvals.stderr).toContain(
      'production requires approval of every apply: a rollout cannot be started there',
    );
    // A second start while it is under way is refused.
    const again = await cli(dir, db.url, 'rollout', 'start', 'stock-v2', '--env', ENV);
    expect(again.status, show(again)).toBe(75);
    expect(again.stderr).toContain('Rollout stock-v2 is already under way in staging');
  });

  it("the canary's records pass its gate, the worker applies the early cohort; beta's poisoned records halt it", async () => {
    await seed(pool, 'acme/erp', 'inventory', stockRecords(4), day(1), day(1));
    const canary = await backfillOf('acme', day(1), day(2));
    expect(canary).toEqual({ windows: 1, done: 1, read: 4 });
    const written = await pool.query(
      `SELECT record FROM rsync_sandbox.writes WHERE system = 'acme/shop' AND key = 'stock-2'`,
    );
    expect(written.rows[0].record.available).toBe(1013); // the new revision's safety buffer
    await until('the early cohort applied', async () => ((await deployed('beta')).revision === 2 ? true : undefined));
    expect((await deployed('gamma')).revision).toBe(1);

    await seed(pool, 'beta/erp', 'inventory', stockRecords(4), day(1), day(1));
    await backfillOf('beta', day(1), day(2));
    const dead = await pool.query(
      `SELECT count(*)::int AS n, min(revision) AS rev FROM rsync.dead_letters WHERE address = $1`,
      [flow('beta')],
    );
    expect(dead.rows[0]).toEqual({ n: 4, rev: 2 });
    const halted = await until('the rollout halted', async () => {
      const s = await status('stock-v2');
      return s.state === 'halted' ? s : undefined;
    });
    expect(halted.cohorts.map((c: { name: string; state: string }) => [c.name, c.state])).toEqual([
      ['canary', 'passed'],
      ['early', 'failed'],
      ['everyone', 'pending'],
    ]);
    expect(halted.reason).toBe(
      'the gate of cohort early failed: 4 of 4 records dead-lettered since the cohort was applied (100%; at most 5%)',
    );
    // The third cohort was never changed, and stays so while the rollout is halted.
    await new Promise((r) => setTimeout(r, 600));
    expect((await deployed('gamma')).revision).toBe(1);
    const text = await cli(dir, db.url, 'rollout', 'status', 'stock-v2', '--env', ENV);
    expect(text.stdout).toContain('rollout stock-v2 in staging: HALTED');
    expect(text.stdout).toContain('halted: the gate of cohort early failed: 4 of 4 records dead-lettered');
    expect(text.stdout).toMatch(/1\. canary\s+PASSED\s+acme; applied/);
    // The halt is an incident of the Alert that asks for it.
    const alerts = await evaluateAlerts(pool, { envs: [ENV] });
    expect(alerts.opened.map((i) => [i.condition, i.subject, i.summary])).toEqual([
      ['rolloutHalted', 'stock-v2', 'Rollout stock-v2 halted in staging'],
    ]);
    expect(alerts.opened[0].detail).toContain('the gate of cohort early failed: 4 of 4 records dead-lettered');
    // Halted is not paused: resume is refused, with what to do instead.
    const resume = await cli(dir, db.url, 'rollout', 'resume', 'stock-v2', '--env', ENV);
    expect(resume.status, show(resume)).toBe(75);
    expect(resume.stderr).toContain('abort it (rsync rollout abort stock-v2)');
  });

  it('abort --cohort early restores beta to its previous revision and leaves the canary on the new one', async () => {
    const bad = await cli(dir, db.url, 'rollout', 'abort', 'stock-v2', '--env', ENV, '--cohort', 'everyone');
    expect(bad.status, show(bad)).toBe(64);
    expect(bad.stderr).toContain('everyone is pending');
    const r = await cli(dir, db.url, 'rollout', 'abort', 'stock-v2', '--env', ENV, '--cohort', 'early', '--json');
    expect(r.status, show(r)).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.reverted).toEqual([{ cohort: 'early', entry: expect.any(Number), resources: 1 }]);
    expect(out.rollout.state).toBe('aborted');
    expect(out.rollout.reason).toBe(`aborted by ${ACTOR}; canary kept the change`);
    const beta = await deployed('beta');
    expect(beta.revision).toBe(3);
    expect(beta.spec).toEqual(await revisionSpec('beta', 1));
    expect((await deployed('acme')).revision).toBe(2);
    expect((await deployed('gamma')).revision).toBe(1);
    const log = await pool.query(`SELECT action, detail FROM rsync.apply_log WHERE n = $1`, [out.reverted[0].entry]);
    expect(log.rows[0].action).toBe('rollback');
    expect(log.rows[0].detail.rollout).toMatchObject({ name: 'stock-v2', cohort: 'early' });

    // beta's next records are written by its previous mapping.
    await seed(pool, 'beta/erp', 'inventory', stockRecords(2, 10), day(3), day(3));
    await backfillOf('beta', day(3), day(4));
    const w = await pool.query(
      `SELECT record FROM rsync_sandbox.writes WHERE system = 'beta/shop' AND key = 'stock-12'`,
    );
    expect(w.rows[0].record.available).toBe(13);
  });

  it('a plain abort then reverts the cohorts still changed: the canary', async () => {
    const r = await cli(dir, db.url, 'rollout', 'abort', 'stock-v2', '--env', ENV, '--json');
    expect(r.status, show(r)).toBe(0);
    expect(JSON.parse(r.stdout).reverted).toEqual([{ cohort: 'canary', entry: expect.any(Number), resources: 1 }]);
    const acme = await deployed('acme');
    expect(acme.revision).toBe(3);
    expect(acme.spec).toEqual(await revisionSpec('acme', 1));
    const s = await status('stock-v2');
    expect(s.cohorts.map((c: { state: string }) => c.state)).toEqual(['reverted', 'reverted', 'pending']);
    // Aborted, it is no longer an incident.
    const alerts = await evaluateAlerts(pool, { envs: [ENV] });
    expect(alerts.resolved.map((i) => [i.condition, i.subject])).toEqual([['rolloutHalted', 'stock-v2']]);
  });

  it('every step is in the apply log', async () => {
    const { rows } = await pool.query<{ action: string; actor: string; detail: { rollout?: { name: string } } }>(
      `SELECT action, actor, detail FROM rsync.apply_log WHERE detail->'rollout'->>'name' = 'stock-v2' ORDER BY n`,
    );
    expect(rows.map((r) => r.action)).toEqual([
      'rollout-start',
      'rollout', // canary applied
      'rollout-gate', // canary passed
      'rollout', // early applied
      'rollout-halt',
      'rollback', // early reverted
      'rollout-abort',
      'rollback', // canary reverted
      'rollout-abort',
    ]);
    expect(rows[2].actor).toBe('rsync worker');
    expect(rows[0].actor).toBe(ACTOR);
  });

  describe('pause, resume, a manual approval and a wait gate (the engine pass, on a chosen clock)', () => {
    let state: Database;
    let ctx: RolloutContext;
    const at = (ms: number) => () => new Date(Date.now() + ms);

    beforeAll(async () => {
      await worker?.stop(5_000); // from here the test makes the passes itself
      worker = undefined;
      state = await connect(dir, { url: db.url });
      ctx = { db: state, url: db.url, actor: 'rsync worker' };
    });
    afterAll(async () => {
      await state?.close();
    });

    it('waits for its approval, ignores it while paused, and moves on once resumed', async () => {
      const r = await cli(dir, db.url, 'rollout', 'start', 'stock-manual', '--env', ENV);
      expect(r.status, show(r)).toBe(0);
      expect(r.stdout).toContain('… approval: awaiting approval (rsync rollout approve)');
      expect((await deployed('acme')).revision).toBe(4);
      expect(await advanceRollouts(ctx, ENV)).toEqual([
        {
          rollout: 'stock-manual',
          cohort: 'canary',
          outcome: 'waiting',
          reason: 'awaiting approval (rsync rollout approve)',
        },
      ]);
      const pause = await cli(dir, db.url, 'rollout', 'pause', 'stock-manual', '--env', ENV);
      expect(pause.status, show(pause)).toBe(0);
      expect(pause.stdout).toContain('rollout stock-manual in staging: PAUSED');
      const wrongCohort = await cli(
        dir,
        db.url,
        'rollout',
        'approve',
        'stock-manual',
        '--env',
        ENV,
        '--cohort',
        'rest',
      );
      expect(wrongCohort.status, show(wrongCohort)).toBe(64);
      expect(wrongCohort.stderr).toContain('The gate of cohort rest of rollout stock-manual asks for no approval');
      const approve = await cli(dir, db.url, 'rollout', 'approve', 'stock-manual', '--env', ENV);
      expect(approve.status, show(approve)).toBe(0);
      expect(approve.stdout).toContain(`gate: approval; approved by ${ACTOR}`);
      expect(await advanceRollouts(ctx, ENV)).toEqual([]); // paused: not looked at
      expect((await deployed('beta')).revision).toBe(3);

      const resume = await cli(dir, db.url, 'rollout', 'resume', 'stock-manual', '--env', ENV);
      expect(resume.status, show(resume)).toBe(0);
      expect(await advanceRollouts(ctx, ENV)).toEqual([
        { rollout: 'stock-manual', cohort: 'rest', outcome: 'advanced', reason: 'gate passed' },
      ]);
      expect((await deployed('beta')).revision).toBe(4);
      expect((await deployed('gamma')).revision).toBe(2);
    });

    it('the last gate waits its hour, then the rollout completes', async () => {
      const early = await advanceRollouts({ ...ctx, now: at(10 * 60_000) }, ENV);
      expect(early).toEqual([
        {
          rollout: 'stock-manual',
          cohort: 'rest',
          outcome: 'waiting',
          reason: expect.stringMatching(/ of 1h waited$/),
        },
      ]);
      const s = await status('stock-manual');
      expect(s.gate.checks).toEqual([
        { condition: 'wait', outcome: 'wait', detail: expect.stringMatching(/ of 1h waited$/) },
      ]);
      const done = await advanceRollouts({ ...ctx, now: at(2 * 3_600_000) }, ENV);
      expect(done).toEqual([{ rollout: 'stock-manual', cohort: 'rest', outcome: 'completed', reason: 'gate passed' }]);
      const final = await status('stock-manual');
      expect(final.state).toBe('completed');
      expect(final.cohorts.map((c: { state: string }) => c.state)).toEqual(['passed', 'passed']);
      const text = await cli(dir, db.url, 'rollout', 'status', '--env', ENV);
      expect(text.stdout).toBe(`No rollout under way in ${ENV}.\n`);
      const log = await pool.query<{ action: string }>(
        `SELECT action FROM rsync.apply_log WHERE detail->'rollout'->>'name' = 'stock-manual' ORDER BY n`,
      );
      expect(log.rows.map((r) => r.action)).toEqual([
        'rollout-start',
        'rollout',
        'rollout-pause',
        'rollout-approve',
        'rollout-resume',
        'rollout-gate',
        'rollout',
        'rollout-gate',
        'rollout-complete',
      ]);
    });
  });
});
