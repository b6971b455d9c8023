/**
 * Day-2 controls on real PostgreSQL with three workers in this process: `rsync pause` stops every trigger of a flow
 * in all of them at once (scheduled ticks, webhooks — stored, run after resume — and manual runs, refused with exit
 * 75), is shown in status, audited, and outlives an apply that changes the flow; `rsync resume` lets it run again.
 * A schedule that fired while no worker ticked is caught up once, and not at all under `missedRuns: skip`.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import type { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  cli,
  ENV,
  HOOK_ORDERS,
  inProcessWorker,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  stockFlow,
  until,
} from '../helpers/runtime.js';

let db: TestDatabase;
let pool: pg.Pool;
let dir: string;
const workers: RsyncWorker[] = [];

const runs = async (flow: string): Promise<number> =>
  (
    await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rsync.runs WHERE address = $1`, [
      `acme/flow/${flow}`,
    ])
  ).rows[0].n;

/** Every worker ticks the minute (as the tick job would reach one of them; the others find it claimed). */
async function tickAll(at: string): Promise<void> {
  for (const w of workers) await w.tick(new Date(at));
}

/** No run of `flow` starts within a second (the workers poll every 100 ms). */
async function staysIdle(flow: string, n: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await runs(flow)).toBe(n);
}

beforeAll(async () => {
  const problem = buildProblem(['pause', 'resume', 'run', 'status', 'apply']);
  if (problem) throw new Error(problem);
  db = await testDatabase('pause');
  pool = new pg.Pool({ connectionString: db.url, application_name: 'pause test' });
  dir = runtimeWorkspace('rsync-pause-', {
    connections: SANDBOX_SYSTEMS,
    flows: [
      stockFlow({ trigger: '{ schedule: { cron: "*/15 * * * *", timezone: UTC } }' }),
      HOOK_ORDERS,
      stockFlow({ name: 'hourly', trigger: '{ schedule: { cron: "50 * * * *", timezone: UTC } }' }),
      stockFlow({
        name: 'hourly-skip',
        trigger: '{ schedule: { cron: "50 * * * *", timezone: UTC } }',
        policy: 'skip-missed',
      }),
    ],
  });
  appendFileSync(
    path.join(dir, 'rsync.yaml'),
    `---\napiVersion: rsync/v1\nkind: Policy\nmetadata: { name: skip-missed }\nspec:\n  missedRuns: skip\n`,
  );
  await applyWorkspace(dir, db.url);
  for (let i = 0; i < 3; i++) workers.push(await inProcessWorker(pool, db.url));
}, 90_000);

afterAll(async () => {
  for (const w of workers) await w.stop(5_000);
  await pool?.end();
  await db?.drop();
});

describe('rsync pause and resume', { timeout: 90_000 }, () => {
  const order = { id: 5, created_at: '2026-11-20T10:00:00Z', currency: 'USD', total_price: '3.00', line_items: [] };

  it('a paused flow runs nothing in any of three workers, until resumed', async () => {
    const paused = await cli(dir, db.url, 'pause', 'acme/stock', '--env', ENV, '--reason', 'ERP maintenance');
    expect(paused.status, show(paused)).toBe(0);
    const hooks = await cli(dir, db.url, 'pause', 'acme/orders', '--env', ENV, '--json');
    expect(JSON.parse(hooks.stdout)).toMatchObject({ paused: true, changed: true, flow: 'acme/flow/orders' });

    // The schedule's minute comes: none of the three starts it.
    await tickAll('2026-11-20T10:15:10Z');
    // A manual run is refused, with why and how to go on.
    const manual = await cli(dir, db.url, 'run', 'acme/stock', '--env', ENV);
    expect(manual.status).toBe(75);
    expect(manual.stderr).toContain('acme/stock is paused in staging');
    expect(manual.stderr).toContain('ERP maintenance');
    expect(manual.stderr).toContain('rsync resume acme/stock --env staging');
    // A job queued anyway (before the pause, from an old client) is taken and does nothing.
    const flow = workers[0].flow('acme/flow/stock')!;
    await workers[1].runNow(flow);
    // A webhook is stored (202), not run.
    const body = Buffer.from(JSON.stringify(order));
    const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, { deliveryId: 'd-5', topic: 'orders/create' });
    const posted = await fetch(`http://127.0.0.1:${workers[2].port}/hooks/acme/orders`, {
      method: 'POST',
      headers,
      body,
    });
    expect(posted.status).toBe(202);
    await staysIdle('stock', 0);
    expect(await runs('orders')).toBe(0);
    const stored = await pool.query(`SELECT count(*)::int AS n, count(done_at)::int AS done FROM rsync.deliveries`);
    expect(stored.rows[0]).toEqual({ n: 1, done: 0 });

    // Status shows it, and the apply log has it.
    const status = await cli(dir, db.url, 'status', '--env', ENV, '--json');
    const stock = JSON.parse(status.stdout).flows.find((f: { flow: string }) => f.flow === 'stock');
    expect(stock.paused).toMatchObject({ reason: 'ERP maintenance', by: 'ops-bot <ops@acme.example>' });
    const text = await cli(dir, db.url, 'status', '--env', ENV);
    expect(text.stdout).toMatch(/PAUSED acme\/stock by ops-bot <ops@acme\.example> since \S+: ERP maintenance/);
    const log = await pool.query(
      `SELECT action, actor, detail FROM rsync.apply_log WHERE action IN ('pause', 'resume') ORDER BY n`,
    );
    expect(log.rows.map((r) => [r.action, r.detail.flow])).toEqual([
      ['pause', 'acme/flow/stock'],
      ['pause', 'acme/flow/orders'],
    ]);
  });

  it('stays paused after an apply that changes the flow', async () => {
    const file = path.join(dir, 'integrations', 'acme', 'flows', 'stock.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('spec:\n', 'spec:\n  batchSize: 50\n'));
    await applyWorkspace(dir, db.url);
    await until('the workers on revision 2', async () =>
      workers.every((w) => w.flow('acme/flow/stock')?.revision === 2) ? true : undefined,
    );
    await tickAll('2026-11-20T10:30:10Z');
    await staysIdle('stock', 0);
  });

  it('resumed, it runs again: the stored webhook at once, the schedule at its next minute', async () => {
    const resumed = await cli(dir, db.url, 'resume', 'acme/orders', '--env', ENV);
    expect(resumed.status, show(resumed)).toBe(0);
    await until('the stored delivery run', async () => ((await runs('orders')) === 1 ? true : undefined), 10_000);
    expect((await cli(dir, db.url, 'resume', 'acme/stock', '--env', ENV)).status).toBe(0);
    await tickAll('2026-11-20T10:45:10Z');
    await until('the scheduled run', async () => ((await runs('stock')) === 1 ? true : undefined), 10_000);
    await staysIdle('stock', 1); // once, however many workers ticked
    const again = await cli(dir, db.url, 'resume', 'acme/stock', '--env', ENV, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ paused: false, changed: false });
    const log = await pool.query(`SELECT count(*)::int AS n FROM rsync.apply_log WHERE action = 'resume'`);
    expect(log.rows[0].n).toBe(2);
  });

  it('catches up a schedule that fired while no worker ticked, once (and not under missedRuns: skip)', async () => {
    expect([await runs('hourly'), await runs('hourly-skip')]).toEqual([0, 0]);
    // No tick from 10:45 on the 20th to 10:00 on the 21st: hourly at :50 fired 23 times unticked.
    await tickAll('2026-11-21T10:00:10Z');
    await tickAll('2026-11-21T10:00:40Z');
    await until('the caught-up run', async () => ((await runs('hourly')) === 1 ? true : undefined), 10_000);
    await staysIdle('hourly', 1);
    expect(await runs('hourly-skip')).toBe(0);
    const trigger = await pool.query(`SELECT trigger FROM rsync.runs WHERE address = 'acme/flow/hourly'`);
    expect(trigger.rows[0].trigger).toBe('schedule');
  });
});
