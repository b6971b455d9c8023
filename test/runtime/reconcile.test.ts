/**
 * Reconciliation checks (issue 19, item 4) on real PostgreSQL, through the built CLI as a partner uses them: orders
 * seeded into the sandbox storefront are synced by a real worker into the sandbox ERP's sales orders; a
 * Reconciliation compares the storefront's orders stream with the sales orders read back from the ERP by the ids
 * rsync wrote. It agrees until the test removes orders from each side (it names exactly those keys, with whole
 * counts beyond maxKeys) and changes one amount in the ERP (only that currency's sum differs, that key is listed with
 * both amounts); `rsync status` shows the latest run in a line, the worker runs it on its schedule under one lock,
 * and `/metrics` carries the mismatches and the time of the last run.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDueReconciliations } from '../../engine/runtime/reconcile/index.js';
import { releaseClaim, tryClaim } from '../../engine/state/locks.js';
import { latestReconciliation } from '../../engine/state/reconciliations.js';
import { add, decimal, type Decimal, format, sub, ZERO } from '../../engine/util/decimal.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { parsePrometheus, sample } from '../helpers/prometheus.js';
import {
  applyWorkspace,
  backfillOnce,
  cli,
  ENV,
  inProcessWorker,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  seed,
  until,
} from '../helpers/runtime.js';

const N = 40;
const MAX_KEYS = 3;
const NAME = 'orders-vs-erp';

const RECONCILIATION = `apiVersion: rsync/v1
kind: Reconciliation
metadata: { name: ${NAME} }
spec:
  window: 30d
  every: 1h
  maxKeys: ${MAX_KEYS}
  left:
    connection: shop
    stream: orders
    key: "'order-' & $string(id)"
    time: created_at
    amount: total_price
    currency: currency
  right:
    connection: erp
    entity: salesOrder
    key: "'order-' & externalId"
    time: createdAt
    amount: total
    currency: currency
`;

const created = new Date(Date.now() - 2 * 3_600_000);
/** The storefront's orders: alternately USD and EUR, each with one line adding up to its total. */
const orders = Array.from({ length: N }, (_, i) => {
  const total = `${10 + i}.${i % 2 ? '05' : '50'}`;
  return {
    id: 5000 + i,
    created_at: new Date(created.getTime() + i * 60_000).toISOString(),
    currency: i % 2 ? 'EUR' : 'USD',
    total_price: total,
    line_items: [{ sku: `SKU-${i}`, quantity: 1, price: total }],
  };
});
const keyOf = (o: { id: number }) => `order-${o.id}`;

/** The sums per currency of some orders, exactly. */
function sums(list: typeof orders): Map<string, string> {
  const out = new Map<string, Decimal>();
  for (const o of list) out.set(o.currency, add(out.get(o.currency) ?? ZERO, decimal(o.total_price)));
  return new Map([...out].map(([c, d]) => [c, format(d)]));
}

describe('reconciliation checks', { timeout: 240_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/reconcile.ts', 'cli/commands/status.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_reconcile');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test reconcile' });
    dir = runtimeWorkspace('rsync-reconcile-', {
      connections: SANDBOX_SYSTEMS,
      flows: [
        {
          name: 'orders',
          source: { connection: 'shop', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          mapping: `{ "externalId": $string(id), "createdAt": created_at, "currency": currency, "total": total_price,
              "lines": [line_items.{ "sku": sku, "quantity": quantity, "unitPrice": price, "total": price }] }`,
          canonical: 'order',
          key: "'order-' & $string(id)",
        },
      ],
    });
    appendFileSync(path.join(dir, 'integrations', 'acme', 'reconciliations.yaml'), RECONCILIATION);
    await applyWorkspace(dir, db.url);
    await seed(pool, 'acme/shop', 'orders', orders, new Date(created.getTime()), new Date(Date.now() - 60_000));
    const worker = await inProcessWorker(pool, db.url, { port: null, reconcileIntervalMs: 0 });
    try {
      const done = await backfillOnce(pool, 'orders', new Date(Date.now() - 86_400_000), new Date());
      expect(done).toMatchObject({ done: 1, read: N });
    } finally {
      await worker.stop(5_000);
    }
    const w = await pool.query(`SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE entity = 'salesOrder'`);
    expect(w.rows[0].n).toBe(N);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const reconcile = async (...args: string[]) => {
    const r = await cli(dir, db.url, 'reconcile', ...args, '--env', ENV, '--json');
    return { ...r, out: r.stdout ? JSON.parse(r.stdout) : undefined };
  };

  it('agrees when every order reached the ERP: counts, sums per currency, no keys named; exit 0', async () => {
    const r = await reconcile(`acme/${NAME}`);
    expect(r.status, show(r)).toBe(0);
    expect(r.out).toMatchObject({ ok: true, mismatches: 0, error: null, trigger: 'manual', customer: 'acme' });
    const res = r.out.result;
    expect(res.left).toMatchObject({ system: 'acme/shop', reads: 'stream orders', records: N });
    expect(res.right).toMatchObject({ system: 'acme/erp', reads: 'entity salesOrder', records: N });
    const expected = sums(orders);
    expect(res.currencies).toEqual(
      [...expected].sort().map(([currency, amount]) => ({
        currency,
        left: amount,
        right: amount,
        difference: format(ZERO, amount.split('.')[1].length),
        ok: true,
      })),
    );
    expect(res.onlyLeft).toEqual({ count: 0, keys: [] });
    expect(res.onlyRight).toEqual({ count: 0, keys: [] });
    expect(res.amounts.count).toBe(0);
    // The window is the check's own (30 days, ending now: settle 0s), or --window's.
    expect(Date.parse(r.out.windowEnd) - Date.parse(r.out.windowStart)).toBe(30 * 86_400_000);
    const short = await reconcile(NAME, '--window', '1m');
    expect(short.status, show(short)).toBe(0);
    expect(short.out.result.left.records).toBe(0);
    expect(Date.parse(short.out.windowEnd) - Date.parse(short.out.windowStart)).toBe(60_000);
  });

  it('names exactly the orders removed from each side, capped at maxKeys with whole counts; exit 1', async () => {
    const fromErp = [orders[3], orders[8], orders[17], orders[22], orders[31]];
    const fromShop = [orders[12]];
    const erpRows = await pool.query(
      `DELETE FROM rsync_sandbox.writes WHERE entity = 'salesOrder' AND key = ANY($1::text[]) RETURNING *`,
      [fromErp.map(keyOf)],
    );
    expect(erpRows.rowCount).toBe(fromErp.length);
    const shopRows = await pool.query(
      `DELETE FROM rsync_sandbox.records WHERE system = 'acme/shop' AND stream = 'orders' AND id = ANY($1::text[]) RETURNING *`,
      [fromShop.map((o) => String(o.id))],
    );
    expect(shopRows.rowCount).toBe(1);
    try {
      const r = await reconcile(`acme/${NAME}`);
      expect(r.status, show(r)).toBe(1);
      expect(r.out.ok).toBe(false);
      const res = r.out.result;
      const missingInErp = fromErp.map(keyOf).sort();
      expect(res.onlyLeft).toEqual({ count: fromErp.length, keys: missingInErp.slice(0, MAX_KEYS) });
      expect(res.onlyRight).toEqual({ count: 1, keys: fromShop.map(keyOf) });
      expect(res.amounts.count).toBe(0);
      expect(r.out.mismatches).toBe(fromErp.length + fromShop.length);
      expect(res.left.records).toBe(N - fromShop.length);
      expect(res.right.records).toBe(N - fromErp.length);
      // Each side's sums are of what it holds.
      const left = sums(orders.filter((o) => !fromShop.includes(o)));
      const right = sums(orders.filter((o) => !fromErp.includes(o)));
      for (const c of res.currencies) {
        expect(c.left).toBe(left.get(c.currency));
        expect(c.right).toBe(right.get(c.currency));
      }

      // The text names the keys on each side and says how many there are in all.
      const text = await cli(dir, db.url, 'reconcile', NAME, '--env', ENV);
      expect(text.status, show(text)).toBe(1);
      expect(text.stdout).toContain(
        `only in acme/shop (stream orders), missing in acme/erp (first ${MAX_KEYS} of ${fromErp.length}): ${missingInErp.slice(0, MAX_KEYS).join(', ')}`,
      );
      expect(text.stdout).toContain(
        `only in acme/erp (entity salesOrder), missing in acme/shop: ${keyOf(fromShop[0])}`,
      );
      // The head line (README's example): counts and each currency's sums, both sides.
      const money = ['EUR', 'USD'].map((c) => `${c} ${left.get(c)} ≠ ${right.get(c)}`).join(', ');
      expect(text.stdout.split('\n')[0]).toMatch(
        new RegExp(
          `^MISMATCH: acme/${NAME}: ${fromErp.length + 1} mismatch\\(es\\): ${fromErp.length} only in acme/shop, 1 only in acme/erp, sums differ; ${N - 1} ≠ ${N - fromErp.length} records; ${money} \\(window `,
        ),
      );

      // rsync status: the latest run in one line; --json carries it whole.
      const status = await cli(dir, db.url, 'status', '--env', ENV);
      expect(status.status, show(status)).toBe(0);
      expect(status.stdout).toMatch(
        new RegExp(
          `Reconciliations \\(latest run\\):\\n  acme/${NAME}: ${fromErp.length + 1} mismatch\\(es\\): ${fromErp.length} only in acme/shop, 1 only in acme/erp`,
        ),
      );
      const statusJson = await cli(dir, db.url, 'status', '--env', ENV, '--json');
      const latest = JSON.parse(statusJson.stdout).reconciliations;
      expect(latest).toHaveLength(1);
      expect(latest[0]).toMatchObject({ name: NAME, ok: false, mismatches: fromErp.length + 1 });

      // The rollout gate's reading.
      const gate = await latestReconciliation(pool, ENV, 'acme', NAME);
      expect(gate).toEqual({ ok: false, mismatches: fromErp.length + 1, finishedAt: new Date(latest[0].finishedAt) });
      expect(await latestReconciliation(pool, ENV, 'acme', 'nothing')).toBeUndefined();
    } finally {
      for (const w of erpRows.rows)
        await pool.query(
          `INSERT INTO rsync_sandbox.writes (system, entity, key, target_id, record, version, first_written_at, written_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [w.system, w.entity, w.key, w.target_id, w.record, w.version, w.first_written_at, w.written_at],
        );
      for (const s of shopRows.rows)
        await pool.query(
          `INSERT INTO rsync_sandbox.records (system, stream, id, updated_at, payload) VALUES ($1, $2, $3, $4, $5)`,
          [s.system, s.stream, s.id, s.updated_at, s.payload],
        );
    }
    const again = await reconcile(NAME);
    expect(again.status, show(again)).toBe(0);
    expect(await latestReconciliation(pool, ENV, 'acme', NAME)).toMatchObject({ ok: true, mismatches: 0 });
  });

  it('an amount changed in the ERP: that key with both amounts, and only its currency sum differs', async () => {
    const changed = orders[7]; // EUR
    const now = '99.99';
    const before = await pool.query(
      `UPDATE rsync_sandbox.writes SET record = jsonb_set(record, '{total}', to_jsonb($2::text))
        WHERE entity = 'salesOrder' AND key = $1 RETURNING record`,
      [keyOf(changed), now],
    );
    expect(before.rowCount).toBe(1);
    try {
      const r = await reconcile(NAME);
      expect(r.status, show(r)).toBe(1);
      const res = r.out.result;
      expect(res.onlyLeft.count + res.onlyRight.count).toBe(0);
      expect(res.amounts).toEqual({
        count: 1,
        keys: [{ key: keyOf(changed), left: `${changed.total_price} EUR`, right: `${now} EUR` }],
      });
      const byCurrency = new Map(res.currencies.map((c: { currency: string }) => [c.currency, c]));
      expect(byCurrency.get('USD')).toMatchObject({ ok: true });
      const eur = sums(orders).get('EUR')!;
      const eurRight = format(add(sub(decimal(eur), decimal(changed.total_price)), decimal(now)));
      expect(byCurrency.get('EUR')).toEqual({
        currency: 'EUR',
        left: eur,
        right: eurRight,
        difference: format(sub(decimal(eur), decimal(eurRight))),
        ok: false,
      });
      expect(r.out.mismatches).toBe(1);
    } finally {
      await pool.query(
        `UPDATE rsync_sandbox.writes SET record = jsonb_set(record, '{total}', to_jsonb($2::text)) WHERE entity = 'salesOrder' AND key = $1`,
        [keyOf(changed), changed.total_price],
      );
    }
  });

  it('a check not deployed is named with those that are', async () => {
    const r = await cli(dir, db.url, 'reconcile', 'acme/nothing', '--env', ENV);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`no reconciliation acme/nothing is deployed in ${ENV}.*\\n.*acme/${NAME}`, 's'),
    );
    const bad = await cli(dir, db.url, 'reconcile', NAME, '--window', '1 day', '--env', ENV);
    expect(bad.status).toBe(64);
  });

  it('the worker runs a due check on its schedule, one process at a time; /metrics shows the latest run', async () => {
    // Make the check due: its latest run an hour and more ago.
    await pool.query(`UPDATE rsync.reconciliations SET finished_at = finished_at - interval '2 hours'`);
    const rt = { db: pool, sandbox: true };
    const client = await pool.connect();
    try {
      expect(await tryClaim(client, `rsync.reconcile.${ENV}`)).toBe(true);
      // Another process holds the environment's reconciliations: this one skips its turn.
      expect(await runDueReconciliations(rt, ENV)).toEqual({});
    } finally {
      await releaseClaim(client, `rsync.reconcile.${ENV}`);
      client.release();
    }
    const before = (await pool.query(`SELECT count(*)::int AS n FROM rsync.reconciliations`)).rows[0].n;
    const worker = await inProcessWorker(pool, db.url, { reconcileIntervalMs: 200 });
    try {
      const run = await until('a scheduled run', async () => {
        const { rows } = await pool.query(
          `SELECT id, ok, mismatches, finished_at FROM rsync.reconciliations WHERE trigger = 'schedule' ORDER BY id DESC LIMIT 1`,
        );
        return rows[0];
      });
      expect(run).toMatchObject({ ok: true, mismatches: 0 });
      // Not due again for an hour: the next passes run nothing.
      await new Promise((r) => setTimeout(r, 1_000));
      const after = (await pool.query(`SELECT count(*)::int AS n FROM rsync.reconciliations`)).rows[0].n;
      expect(after).toBe(before + 1);

      const res = await fetch(`http://127.0.0.1:${worker.port}/metrics`);
      const families = parsePrometheus(await res.text());
      const labels = { env: ENV, customer: 'acme', reconciliation: NAME };
      expect(sample(families, 'rsync_reconciliation_mismatches', labels)).toBe(0);
      expect(sample(families, 'rsync_reconciliation_ok', labels)).toBe(1);
      expect(sample(families, 'rsync_reconciliation_last_run_timestamp_seconds', labels)).toBe(
        run.finished_at.getTime() / 1000,
      );
    } finally {
      await worker.stop(5_000);
    }
  });
});
