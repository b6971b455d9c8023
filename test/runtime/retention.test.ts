/**
 * Retention enforced, on real PostgreSQL: with a 1-day policy and rows seeded at every age in each table (runs,
 * webhook deliveries, dead letters, the ledger), a purge — in batches of two, while a worker keeps syncing webhook
 * orders of the same flow — leaves exactly what it must: what is younger than a day, and whatever its age what an
 * open dead letter or an unfinished run still needs, each flow's latest run and latest success, and everything of a
 * flow whose policy declares no retention. The dry run counts what the purge then deletes; the apply log counts it
 * (and its chain still verifies); `rsync status` shows the oldest row kept per table and the last purge.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { purgeRetention } from '../../engine/runtime/retention.js';
import type { RsyncWorker } from '../../engine/runtime/worker.js';
import { verifyLog } from '../../engine/state/apply-log.js';
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
let worker: RsyncWorker;

const STOCK = 'acme/flow/stock'; // policy "day": everything kept one day
const OLD = 'acme/flow/old'; // policy "day", and every run of it older than a day
const ORDERS = 'acme/flow/orders'; // policy "day", synced by the worker during the purge
const FOREVER = 'acme/flow/forever'; // the default policy: no retention, nothing purged

const HOUR = 3_600_000;
/** Database time minus `hours`. */
const ago = (now: Date, hours: number) => new Date(now.getTime() - hours * HOUR);

/** Each seeded row's id (or key) by a label, and the labels expected to survive. */
const ids = new Map<string, string>();
const survivors = new Set<string>();

async function run(now: Date, label: string, address: string, hours: number, status = 'succeeded', keep = false) {
  const at = ago(now, hours);
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at, finished_at, log)
     VALUES ($1, $2, 1, 'manual', $3, $4, $5, $6, '[{"event":"note"}]') RETURNING id`,
    // A running run is the live worker's (a dead worker's would be closed as interrupted by the sweep).
    [ENV, address, status, worker.id, at, status === 'running' ? null : at],
  );
  ids.set(label, rows[0].id);
  if (keep) survivors.add(label);
  return rows[0].id;
}

async function delivery(now: Date, label: string, address: string, hours: number, done: boolean, keep: boolean) {
  const at = ago(now, hours);
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO rsync.deliveries (env, address, delivery_id, topic, records, received_at, done_at)
     VALUES ($1, $2, $3, 'orders/create', '[]', $4, $5) RETURNING id`,
    [ENV, address, `seed-${label}`, at, done ? at : null],
  );
  ids.set(label, rows[0].id);
  if (keep) survivors.add(label);
}

async function letter(
  now: Date,
  label: string,
  address: string,
  o: { created: number; resolved?: number; status: string; runId?: string; key?: string },
  keep: boolean,
) {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO rsync.dead_letters (env, address, customer, revision, run_id, key, stage, error, payload, status,
                                     created_at, resolved_at)
     VALUES ($1, $2, 'acme', 1, $3, $4, 'map', 'seeded', '{}', $5, $6, $7) RETURNING id`,
    [
      ENV,
      address,
      o.runId ?? null,
      o.key ?? null,
      o.status,
      ago(now, o.created),
      o.resolved === undefined ? null : ago(now, o.resolved),
    ],
  );
  ids.set(label, rows[0].id);
  if (keep) survivors.add(label);
}

async function ledger(now: Date, label: string, address: string, hours: number, keep: boolean) {
  await pool.query(
    `INSERT INTO rsync.ledger (env, address, key, target, target_id, content_hash, revision, updated_at)
     VALUES ($1, $2, $3, 'acme/shop', $3, 'h', 1, $4)`,
    [ENV, address, `key-${label}`, ago(now, hours)],
  );
  ids.set(label, `key-${label}`);
  if (keep) survivors.add(label);
}

/** The labels of seeded rows still in the tables. */
async function remaining(): Promise<Set<string>> {
  const left = new Set<string>();
  const q = async (sql: string) => new Set((await pool.query<{ id: string }>(sql)).rows.map((r) => String(r.id)));
  const [runs, deliveries, letters, keys] = await Promise.all([
    q(`SELECT id FROM rsync.runs`),
    q(`SELECT id FROM rsync.deliveries WHERE delivery_id LIKE 'seed-%'`),
    q(`SELECT id FROM rsync.dead_letters WHERE error = 'seeded'`),
    q(`SELECT key AS id FROM rsync.ledger WHERE key LIKE 'key-%'`),
  ]);
  for (const [label, id] of ids) {
    const table = label.split(':')[0];
    const set = { run: runs, delivery: deliveries, letter: letters, ledger: keys }[table]!;
    if (set.has(id)) left.add(label);
  }
  return left;
}

const order = (id: number) => ({
  id,
  created_at: '2026-11-20T10:00:00Z',
  currency: 'USD',
  total_price: '12.50',
  line_items: [{ sku: 'SKU-1', quantity: 1, price: '12.50' }],
});

async function post(id: number): Promise<number> {
  const body = Buffer.from(JSON.stringify(order(id)));
  const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, {
    deliveryId: `live-${id}`,
    topic: 'orders/create',
  });
  const r = await fetch(`http://127.0.0.1:${worker.port}/hooks/acme/orders`, { method: 'POST', headers, body });
  return r.status;
}

beforeAll(async () => {
  const problem = buildProblem(['purge', 'status', 'apply']);
  if (problem) throw new Error(problem);
  db = await testDatabase('retention');
  pool = new pg.Pool({ connectionString: db.url, application_name: 'retention test' });
  dir = runtimeWorkspace('rsync-retention-', {
    connections: SANDBOX_SYSTEMS,
    flows: [
      stockFlow({ policy: 'day' }),
      stockFlow({ name: 'old', policy: 'day' }),
      { ...HOOK_ORDERS, policy: 'day' },
      stockFlow({ name: 'forever' }),
    ],
  });
  appendFileSync(
    path.join(dir, 'rsync.yaml'),
    `---\napiVersion: rsync/v1\nkind: Policy\nmetadata: { name: day }\nspec:\n  deadLetter: { retain: 1d }\n  retention: { runs: 1d, ledger: 1d }\n`,
  );
  await applyWorkspace(dir, db.url);
  worker = await inProcessWorker(pool, db.url, { retentionEveryMs: 0 });

  const now = (await pool.query<{ now: Date }>('SELECT now()')).rows[0].now;
  // Runs of the stock flow, oldest first (so the youngest is its latest).
  const stuck = await run(now, 'run:running-3d', STOCK, 72, 'running', true);
  const named = await run(now, 'run:failed-40d-open-letter', STOCK, 960, 'failed', true);
  await run(now, 'run:succeeded-40d', STOCK, 960);
  await run(now, 'run:failed-3d', STOCK, 72, 'failed');
  await run(now, 'run:interrupted-25h', STOCK, 25, 'interrupted');
  await run(now, 'run:succeeded-23h', STOCK, 23, 'succeeded', true);
  await run(now, 'run:failed-1h', STOCK, 1, 'failed', true);
  // A flow all of whose runs are old: its latest success and its latest run stay, the others go.
  await run(now, 'run:old-succeeded-10d', OLD, 240);
  await run(now, 'run:old-succeeded-5d', OLD, 120, 'succeeded', true);
  await run(now, 'run:old-failed-4d', OLD, 96);
  await pool.query(`UPDATE rsync.runs SET status = 'failed' WHERE id = $1`, [ids.get('run:old-failed-4d')]);
  survivors.add('run:old-failed-4d');
  // A flow without retention keeps everything.
  await run(now, 'run:forever-40d', FOREVER, 960, 'succeeded', true);
  await run(now, 'run:forever-30d', FOREVER, 720, 'failed', true);

  await delivery(now, 'delivery:done-25h', ORDERS, 25, true, false);
  await delivery(now, 'delivery:done-3d', ORDERS, 72, true, false);
  await delivery(now, 'delivery:done-23h', ORDERS, 23, true, true);
  await delivery(now, 'delivery:pending-3d', ORDERS, 72, false, true);
  await delivery(now, 'delivery:forever-done-40d', FOREVER, 960, true, true);

  await letter(
    now,
    'letter:open-40d',
    STOCK,
    { created: 960, status: 'open', runId: named, key: 'key-ledger:40d-open' },
    true,
  );
  await letter(now, 'letter:open-3d-of-running-run', STOCK, { created: 72, status: 'open', runId: stuck }, true);
  await letter(now, 'letter:replayed-3d', STOCK, { created: 100, resolved: 72, status: 'replayed' }, false);
  await letter(now, 'letter:discarded-25h', STOCK, { created: 960, resolved: 25, status: 'discarded' }, false);
  await letter(
    now,
    'letter:discarded-12h-created-40d',
    STOCK,
    { created: 960, resolved: 12, status: 'discarded' },
    true,
  );
  await letter(
    now,
    'letter:forever-discarded-40d',
    FOREVER,
    { created: 960, resolved: 960, status: 'discarded' },
    true,
  );

  await ledger(now, 'ledger:25h', STOCK, 25, false);
  await ledger(now, 'ledger:3d', STOCK, 72, false);
  await ledger(now, 'ledger:23h', STOCK, 23, true);
  await ledger(now, 'ledger:40d-open', STOCK, 960, true); // the key of the open dead letter
  await ledger(now, 'ledger:forever-40d', FOREVER, 960, true);
}, 120_000);

afterAll(async () => {
  await worker?.stop(5_000);
  await pool?.end();
  await db?.drop();
});

describe('retention', () => {
  it('counts in a dry run exactly what the purge then deletes, beside a syncing worker, and keeps what it must', async () => {
    const before = await remaining();
    const doomed = [...before].filter((l) => !survivors.has(l));
    expect(doomed.length).toBe(10);

    const dry = await cli(dir, db.url, 'purge', '--env', ENV, '--dry-run', '--json');
    expect(dry.status, show(dry)).toBe(0);
    const counted = JSON.parse(dry.stdout);
    expect(counted.dryRun).toBe(true);
    expect(counted.deleted).toEqual({ runs: 4, deliveries: 2, deadLetters: 2, ledger: 2 });
    expect(await remaining()).toEqual(before);

    // Webhook orders keep arriving and syncing while the purge runs, in batches of two with pauses.
    const flows = await loadFlows(pool, ENV);
    const posting = (async () => {
      const codes: number[] = [];
      for (let i = 1; i <= 20; i++) codes.push(await post(i));
      return codes;
    })();
    const report = await purgeRetention(pool, ENV, flows.values(), { actor: 'test', batch: 2, pauseMs: 20 });
    expect((await posting).every((c) => c === 202 || c === 200)).toBe(true);

    expect(report.deleted).toEqual(counted.deleted);
    const left = await remaining();
    expect([...left].sort()).toEqual([...survivors].sort());

    // The orders synced during the purge all reached the ledger; their runs succeeded.
    await until('the 20 orders are written', async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rsync.ledger WHERE address = $1 AND key LIKE 'order-%'`,
        [ORDERS],
      );
      return rows[0].n === 20 ? true : undefined;
    });
    const failed = await pool.query(`SELECT id FROM rsync.runs WHERE address = $1 AND status = 'failed'`, [ORDERS]);
    expect(failed.rows).toEqual([]);

    // Counted in the apply log, whose chain still verifies.
    const entry = await pool.query<{ actor: string; detail: { deleted: unknown } }>(
      `SELECT actor, detail FROM rsync.apply_log WHERE n = $1`,
      [report.logEntry],
    );
    expect(entry.rows[0]).toMatchObject({ actor: 'test', detail: { deleted: counted.deleted } });
    expect((await verifyLog(pool)).ok).toBe(true);

    // A second purge finds nothing, and logs nothing.
    const again = await purgeRetention(pool, ENV, flows.values(), { actor: 'test' });
    expect(again.deleted).toEqual({ runs: 0, deliveries: 0, deadLetters: 0, ledger: 0 });
    expect(again.logEntry).toBeUndefined();
  }, 120_000);

  it('shows the oldest row kept per table and the last purge in rsync status', async () => {
    const s = await cli(dir, db.url, 'status', '--env', ENV, '--json');
    expect(s.status, show(s)).toBe(0);
    const { retention } = JSON.parse(s.stdout);
    const oldest = await pool.query<{ runs: Date; ledger: Date }>(
      `SELECT (SELECT min(finished_at) FROM rsync.runs) AS runs, (SELECT min(updated_at) FROM rsync.ledger) AS ledger`,
    );
    expect(retention.oldest.runs).toBe(oldest.rows[0].runs.toISOString());
    expect(retention.oldest.ledger).toBe(oldest.rows[0].ledger.toISOString());
    expect(retention.lastPurge.deleted).toEqual({ runs: 4, deliveries: 2, deadLetters: 2, ledger: 2 });
    const text = await cli(dir, db.url, 'status', '--env', ENV);
    expect(text.stdout).toMatch(/Oldest kept: runs \d{4}-\d\d-\d\d \d\d:\d\d · webhook deliveries /);
    expect(text.stdout).toMatch(
      /Last purge: .* \(apply log entry \d+\): 4 runs, 2 webhook deliveries, 2 resolved dead letters, 2 ledger rows/,
    );
  }, 60_000);

  it('lets one purge run at a time per environment', async () => {
    const flows = [...(await loadFlows(pool, ENV)).values()];
    const client = await pool.connect();
    try {
      // Hold the environment's purge lock as another worker would.
      const { lockKeys } = await import('../../engine/state/locks.js');
      const [a, b] = lockKeys(`retention:${ENV}`);
      await client.query('SELECT pg_advisory_lock($1, $2)', [a, b]);
      const r = await purgeRetention(pool, ENV, flows, { actor: 'test' });
      expect(r.skipped).toMatch(/another purge/);
      await client.query('SELECT pg_advisory_unlock($1, $2)', [a, b]);
    } finally {
      client.release();
    }
  });
});
