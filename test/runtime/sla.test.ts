/**
 * SLAs evaluated (issue 16, part 3), on a real database with a real worker in this process:
 *  - a month of seeded runs of one flow (SLA: freshness 1d, success rate 99%) gives the breaches and the error
 *    budget a hand calculation gives (below), through evaluateSlas, `rsync sla --json` and `rsync status --json`;
 *  - a target that stalls (an HTTP API on 127.0.0.1 that holds its answers) past a 2 s freshness objective is a
 *    breach that starts when lag first passed 2 s — the last success + 2 s, not when the evaluator looked — and
 *    ends when the stalled run succeeds;
 *  - only one session evaluates an environment at a time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlows } from '../../engine/runtime/flows.js';
import { evaluateSlas, type SlaEvaluation } from '../../engine/runtime/sla.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { idempotentApi, TOKEN } from '../helpers/idempotent-api.js';
import {
  applyWorkspace,
  cli,
  ENV,
  HOOK_ORDERS,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  seed,
  STOCK_KEY,
  STOCK_MAPPING,
  stockRecords,
  until,
} from '../helpers/runtime.js';

const LEDGER = 'acme/flow/ledger';
const ORDERS = 'acme/flow/orders';
const STALL = 'acme/flow/stall';
const at = (iso: string) => new Date(iso);

/**
 * November 2026 of the ledger flow, run by run (every run succeeded but one): records read and dead-lettered.
 *
 * Hand calculation. Records: 500 + 500 + 200 + 1,300 = 2,500 read, 2 + 8 + 5 + 5 = 20 dead-lettered. Success rate
 * 2,480 / 2,500 = 99.20%; budget (1 − 99%) × 2,500 = 25 records, used 20, left 5 (20.00% of it).
 * Running tally: after run 2, 10 dead of 1,000 (allowed 10: met); after run 3, 15 of 1,200 (allowed 12: breached,
 * from run 3's end, Nov 2 08:10, worst 1,185/1,200 = 98.75%); after run 4, 20 of 2,500 (allowed 25: met again at its
 * end, Nov 5 08:10).
 * Freshness 1d: runs 3 and 4 are 3 days apart, so lag passed 1 day at Nov 3 08:10 (run 3's end + 1d), until run 4
 * ended at Nov 5 08:10: 2 days = 2,880 minutes in breach (the failed run on Nov 3 did not help), worst lag 3d. Every
 * later run is 20 h after the previous. Time budget: (1 − 99%) × 30 days × 1,440 = 432 minutes, used 2,880, left
 * −2,448; the month was fresh (43,200 − 2,880) / 43,200 = 93.33% of the time.
 */
const NOVEMBER: { end: string; read: number; dead: number; status?: string }[] = [
  { end: '2026-11-01T00:10:00Z', read: 500, dead: 2 },
  { end: '2026-11-01T12:10:00Z', read: 500, dead: 8 },
  { end: '2026-11-02T08:10:00Z', read: 200, dead: 5 },
  { end: '2026-11-03T12:00:00Z', read: 0, dead: 0, status: 'failed' },
  { end: '2026-11-05T08:10:00Z', read: 1300, dead: 5 },
  ...Array.from({ length: 30 }, (_, k) => ({
    end: new Date(Date.parse('2026-11-05T08:10:00Z') + (k + 1) * 20 * 3_600_000).toISOString(),
    read: 0,
    dead: 0,
  })),
];

describe('SLAs evaluated', { timeout: 120_000 }, () => {
  let stalled = false;
  let release: () => void = () => {};
  let gate = Promise.resolve();
  const api = idempotentApi(TOKEN);
  // The stock API behind a gate: while stalled, requests wait (the target stops answering), then go through.
  const front = http.createServer((req, res) => {
    void gate.then(() => api.server.emit('request', req, res));
  });
  let db: TestDatabase;
  let pool: pg.Pool;
  let worker: RsyncWorker;
  let dir: string;
  const handed: SlaEvaluation[] = [];

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts', 'cli/commands/sla.ts', 'cli/commands/status.ts']);
    if (problem) throw new Error(problem);
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    db = await testDatabase('sla');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test sla' });
    process.env.RSYNC_TEST_IDEM_TOKEN = TOKEN;
    dir = runtimeWorkspace('rsync-sla-', {
      connections: [
        ...SANDBOX_SYSTEMS,
        {
          name: 'stockapi',
          connector: 'http',
          settings: {
            baseUrl: `http://127.0.0.1:${(front.address() as AddressInfo).port}/api`,
            auth: { type: 'bearer', token: { secretRef: 'env:RSYNC_TEST_IDEM_TOKEN' } },
            entities: { stock: { accepts: ['inventoryLevel'], path: '/stock', method: 'POST' } },
          },
        },
      ],
      flows: [
        {
          name: 'stall',
          source: { connection: 'erp', stream: 'inventory' },
          target: { connection: 'stockapi', entity: 'stock' },
          mapping: STOCK_MAPPING,
          canonical: 'inventoryLevel',
          key: STOCK_KEY,
        },
        HOOK_ORDERS,
        {
          name: 'ledger',
          source: { connection: 'erp', stream: 'inventory' },
          target: { connection: 'shop', entity: 'inventoryLevel' },
          mapping: STOCK_MAPPING,
          canonical: 'inventoryLevel',
          key: STOCK_KEY,
        },
      ],
    });
    // Two SLAs of the workspace: a 2 s freshness for the stalling flow, a daily one for the seeded month.
    const ws = path.join(dir, 'rsync.yaml');
    writeFileSync(
      ws,
      `${readFileSync(ws, 'utf8')}---
apiVersion: rsync/v1
kind: SLA
metadata: { name: fast }
spec: { freshness: 2s, successRate: "99%" }
---
apiVersion: rsync/v1
kind: SLA
metadata: { name: monthly }
spec: { freshness: 1d, successRate: "99%" }
---
apiVersion: rsync/v1
kind: SLA
metadata: { name: hooks }
spec: { freshness: 1m, latencyP95: 10s, successRate: "99%" }
`,
    );
    for (const [flow, sla] of [
      ['stall', 'fast'],
      ['ledger', 'monthly'],
      ['orders', 'hooks'],
    ]) {
      const f = path.join(dir, 'integrations', 'acme', 'flows', `${flow}.yaml`);
      writeFileSync(f, `${readFileSync(f, 'utf8')}  sla: ${sla}\n`);
    }
    await applyWorkspace(dir, db.url);
    for (const r of NOVEMBER) {
      const end = at(r.end);
      await pool.query(
        `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at, finished_at, read, written, dead, error)
         VALUES ($1, $2, 1, 'schedule', $3, 'seed', $4, $5, $6, $7, $8, $9)`,
        [
          ENV,
          LEDGER,
          r.status ?? 'succeeded',
          new Date(end.getTime() - 60_000),
          end,
          r.read,
          r.read - r.dead,
          r.dead,
          r.status ? 'the ERP answered 503' : null,
        ],
      );
    }
    // Webhook deliveries of the orders flow: on Nov 10 two waited 3 minutes (past its 1m freshness: one breach from
    // the first's arrival + 1m to the second's write), one waited exactly 1m (not late); in the last half hour of
    // November ten took 20 s each (p95 20 s, past its 10 s latency objective).
    const deliveries: [string, string][] = [
      ['2026-11-10T12:00:00Z', '2026-11-10T12:03:00Z'],
      ['2026-11-10T12:01:30Z', '2026-11-10T12:02:30Z'],
      ['2026-11-10T12:02:00Z', '2026-11-10T12:05:00Z'],
      ...Array.from({ length: 10 }, (_, i): [string, string] => [
        new Date(Date.parse('2026-11-30T23:30:00Z') + i * 60_000).toISOString(),
        new Date(Date.parse('2026-11-30T23:30:20Z') + i * 60_000).toISOString(),
      ]),
    ];
    for (const [i, [received, done]] of deliveries.entries())
      await pool.query(
        `INSERT INTO rsync.deliveries (env, address, delivery_id, topic, records, received_at, done_at)
         VALUES ($1, $2, $3, 'orders/create', '[]', $4, $5)`,
        [ENV, ORDERS, `d-${i}`, received, done],
      );
    // The worker's own evaluator is off (slaEveryMs 0): the test evaluates when it chooses.
    worker = new RsyncWorker({
      pool,
      url: db.url,
      env: ENV,
      port: null,
      threads: 1,
      pollMs: 100,
      slaEveryMs: 0,
      onSla: (e) => void handed.push(e),
    });
    await worker.start();
  });

  afterAll(async () => {
    release();
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
    await new Promise((r) => front.close(r));
  });

  it('records a seeded month’s breaches with their true start and end, and the budget the hand calculation gives', async () => {
    const flows = await loadFlows(pool, ENV);
    expect(flows.get(LEDGER)?.sla).toEqual({ name: 'monthly', freshness: '1d', successRate: '99%' });
    const r = await evaluateSlas(pool, ENV, flows.values(), at('2026-12-01T00:00:00Z'));
    expect(r.skipped).toBe(false);
    const mine = (list: typeof r.opened) =>
      list
        .filter((e) => e.address === LEDGER)
        .map((e) => ({ objective: e.objective, start: e.startedAt.toISOString(), end: e.endedAt?.toISOString() }))
        .sort((a, b) => a.start.localeCompare(b.start));
    const expected = [
      { objective: 'successRate', start: '2026-11-02T08:10:00.000Z', end: '2026-11-05T08:10:00.000Z' },
      { objective: 'freshness', start: '2026-11-03T08:10:00.000Z', end: '2026-11-05T08:10:00.000Z' },
    ];
    // Both began and ended before this (first) evaluation: each is reported opened and closed, once.
    expect(mine(r.opened)).toEqual(expected);
    expect(mine(r.closed)).toEqual(expected);
    const rows = await pool.query(
      `SELECT objective, target, worst, cause, customer, sla FROM rsync.sla_events WHERE address = $1 ORDER BY started_at`,
      [LEDGER],
    );
    expect(rows.rows).toMatchObject([
      { objective: 'successRate', target: '99%', worst: '98.75%', customer: 'acme', sla: 'monthly' },
      { objective: 'freshness', target: '1d', worst: '3d', customer: 'acme', sla: 'monthly' },
    ]);
    expect(rows.rows[1].cause).toMatch(/1 run failed/);
    expect(rows.rows[0].cause).toBe('15 of 1200 records this month dead-lettered: more than the 12 the budget allows');

    // The event flow: one freshness breach from its merged late deliveries, and the last hour's latency, open.
    expect(
      r.opened
        .filter((e) => e.address === ORDERS)
        .map((e) => [e.objective, e.startedAt.toISOString(), e.endedAt?.toISOString() ?? null, e.worst, e.cause]),
    ).toEqual([
      [
        'freshness',
        '2026-11-10T12:01:00.000Z',
        '2026-11-10T12:05:00.000Z',
        '3m',
        '2 webhook deliveries waited longer than 1m to be written (the longest 3m)',
      ],
      [
        'latencyP95',
        '2026-11-30T23:30:20.000Z',
        null,
        '20s',
        "the p95 of the last hour's 10 deliveries was 20s, above 10s",
      ],
    ]);

    // Evaluating again changes nothing: the same breaches are not recorded twice.
    const again = await evaluateSlas(pool, ENV, flows.values(), at('2026-12-01T00:00:30Z'));
    expect(mine(again.opened)).toEqual([]);
    expect(again.opened.filter((e) => e.address === ORDERS)).toEqual([]); // the latency breach goes on
    expect(again.closed.filter((e) => e.address === ORDERS)).toEqual([]);
    expect((await pool.query(`SELECT 1 FROM rsync.sla_events WHERE address = $1`, [LEDGER])).rowCount).toBe(2);

    const out = await cli(dir, db.url, 'sla', '--env', ENV, '--customer', 'acme', '--month', '2026-11', '--json');
    expect(out.status, show(out)).toBe(0);
    const ledger = JSON.parse(out.stdout).flows.find((f: { flow: string }) => f.flow === 'ledger');
    expect(ledger.records).toMatchObject({ read: 2500, dead: 20 });
    expect(ledger.objectives).toEqual([
      {
        objective: 'freshness',
        target: '1d',
        attainment: '93.33%',
        met: false,
        breaches: 1,
        breachMs: 2880 * 60_000,
        budget: { unit: 'minutes', allowed: 432, used: 2880, left: -2448, leftShare: '0.00%' },
      },
      {
        objective: 'successRate',
        target: '99%',
        attainment: '99.20%',
        met: true,
        breaches: 1,
        breachMs: 3 * 86_400_000,
        budget: { unit: 'records', allowed: 25, used: 20, left: 5, leftShare: '20.00%' },
      },
    ]);
    const text = await cli(dir, db.url, 'sla', '--env', ENV, '--month', '2026-11');
    expect(text.status, show(text)).toBe(0);
    expect(text.stdout).toMatch(
      /acme\/ledger\s+monthly\s+successRate\s+99%\s+99\.20%\s+met\s+1 \(3d\)\s+5 \(20\.00%\) of 25 records/,
    );
    expect(text.stdout).toMatch(/acme\/ledger\s+freshness 1d\s+2026-11-03 08:10:00\s+2026-11-05 08:10:00\s+2d\s+3d/);
    const bad = await cli(dir, db.url, 'sla', '--env', ENV, '--month', '2026-13');
    expect(bad.status).toBe(64);
    expect(bad.stderr).toContain('--month 2026-13 is not a month.');
  });

  it('only one session evaluates an environment at a time', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`rsync.sla.${ENV}`]);
      const r = await evaluateSlas(pool, ENV, (await loadFlows(pool, ENV)).values(), at('2026-12-01T00:01:00Z'));
      expect(r).toMatchObject({ skipped: true, opened: [], closed: [] });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  it('a target that stalls past a 2 s freshness objective is a breach from the last success + 2 s to the next success', async () => {
    const succeeded = async (after: number) =>
      until('a successful run of stall', async () => {
        const q = await pool.query<{ id: string; finished_at: Date }>(
          `SELECT id, finished_at FROM rsync.runs WHERE address = $1 AND status = 'succeeded' AND id > $2 ORDER BY id LIMIT 1`,
          [STALL, after],
        );
        return q.rows[0] ? { id: Number(q.rows[0].id), at: q.rows[0].finished_at } : undefined;
      });
    await seed(pool, 'acme/erp', 'inventory', stockRecords(5), at('2026-12-01T00:00:00Z'), at('2026-12-01T01:00:00Z'));
    await worker.runNow(worker.flow(STALL)!);
    const first = await succeeded(0);

    // The target stops answering; a run starts and waits on it.
    stalled = true;
    gate = new Promise<void>((r) => (release = r));
    await seed(
      pool,
      'acme/erp',
      'inventory',
      stockRecords(5, 5),
      at('2026-12-02T00:00:00Z'),
      at('2026-12-02T01:00:00Z'),
    );
    await worker.runNow(worker.flow(STALL)!);
    await until('the stalled run', async () =>
      (await pool.query(`SELECT 1 FROM rsync.runs WHERE address = $1 AND status = 'running'`, [STALL])).rowCount
        ? true
        : undefined,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, first.at.getTime() + 3_500 - Date.now())));
    const during = await evaluateSlas(pool, ENV, (await loadFlows(pool, ENV)).values());
    const opened = during.opened.filter((e) => e.address === STALL);
    expect(opened.map((e) => [e.objective, e.startedAt.toISOString(), e.endedAt])).toEqual([
      ['freshness', new Date(first.at.getTime() + 2_000).toISOString(), null],
    ]);
    expect(opened[0].cause).toContain('a run is still going');
    // The hour before this evaluation had no slow delivery: the latency breach of November ends with it.
    expect(
      during.closed.filter((e) => e.address === ORDERS).map((e) => [e.objective, e.endedAt?.toISOString()]),
    ).toEqual([['latencyP95', during.at.toISOString()]]);
    expect(during.closed.filter((e) => e.address === STALL)).toEqual([]);

    // The target answers again: the stalled run succeeds, and the breach ends with it.
    stalled = false;
    release();
    const second = await succeeded(first.id);
    const after = await evaluateSlas(pool, ENV, (await loadFlows(pool, ENV)).values());
    expect(after.opened.filter((e) => e.address === STALL)).toEqual([]);
    expect(
      after.closed
        .filter((e) => e.address === STALL)
        .map((e) => [e.objective, e.startedAt.toISOString(), e.endedAt?.toISOString()]),
    ).toEqual([['freshness', new Date(first.at.getTime() + 2_000).toISOString(), second.at.toISOString()]]);
    const events = await pool.query(`SELECT worst FROM rsync.sla_events WHERE address = $1`, [STALL]);
    expect(events.rowCount).toBe(1);
    expect(api.effects.size).toBe(10);
    expect(stalled).toBe(false);

    // The worker's evaluation (what its timer runs) hands its result to onSla, for the alerts.
    const own = await worker.evaluateSlas();
    expect(own).toMatchObject({ skipped: false, opened: [], closed: [] });
    expect(handed).toEqual([own]);

    // rsync status shows the month's budget left: the stall flow dead-lettered nothing of its 10 records.
    const st = await cli(dir, db.url, 'status', '--env', ENV, '--json');
    expect(st.status, show(st)).toBe(0);
    const s = JSON.parse(st.stdout).flows.find((f: { flow: string }) => f.flow === 'stall');
    expect(s.budget.records).toEqual({ unit: 'records', allowed: 0.1, used: 0, left: 0.1, leftShare: '100.00%' });
    const text = await cli(dir, db.url, 'status', '--env', ENV);
    expect(text.stdout).toMatch(/BUDGET LEFT/);
    expect(text.stdout).toMatch(/acme\/stall .* 100\.00% \/ \d+\.\d\d% time/);
  });
});
