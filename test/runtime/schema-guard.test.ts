/**
 * The schema guard on real PostgreSQL: a flow reads orders from one database's table and upserts them into a table
 * of another database (the partner's warehouse, not rsync's state database). A column the flow writes dropped from
 * the target pauses the flow before its first write, with one diagnostic — nothing written, nothing dead-lettered,
 * the cursor where it was — shown by `rsync status` and as a plan line by `rsync plan`; the column added back and
 * `rsync resume`, the same records are written. A NOT NULL column without a default that the mapping does not write
 * is caught the same way. compareSchema's rules (dropped, required, type) are checked on their own at the end.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSchema, writtenFields } from '../../engine/runtime/schema-guard.js';
import type { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, cli, ENV, inProcessWorker, runToEnd, runtimeWorkspace } from '../helpers/runtime.js';

const MAPPING = `{ "externalId": $string(id), "createdAt": created_at, "currency": currency, "total": total_price,
  "lines": [line_items.{ "sku": sku, "quantity": quantity, "unitPrice": price, "total": price }] }`;
const FLOW = 'acme/flow/orders';

let db: TestDatabase;
let warehouse: TestDatabase;
let pool: pg.Pool;
let wh: pg.Pool;
let dir: string;
let worker: RsyncWorker;
let nextId = 1;

/** `n` new orders in the source table, each a minute after the last. */
async function addOrders(n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++, nextId++) {
    const at = new Date(Date.UTC(2026, 10, 1, 0, nextId)).toISOString();
    const total = `${nextId}0.50`;
    await pool.query(`INSERT INTO shop_orders (id, updated_at, payload) VALUES ($1, $2, $3)`, [
      nextId,
      at,
      JSON.stringify({
        id: nextId,
        created_at: at,
        currency: 'EUR',
        total_price: total,
        line_items: [{ sku: 'A', quantity: 1, price: total }],
      }),
    ]);
    ids.push(nextId);
  }
  return ids;
}

const runNow = () => runToEnd(pool, worker, FLOW);

const count = async (q: pg.Pool, sql: string, params: unknown[] = []) => Number((await q.query(sql, params)).rows[0].n);
const deadLetters = () => count(pool, `SELECT count(*) AS n FROM rsync.dead_letters WHERE address = $1`, [FLOW]);
const cursor = async () =>
  (await pool.query(`SELECT cursor FROM rsync.cursors WHERE address = $1`, [FLOW])).rows[0]?.cursor ?? null;
const pause = async () =>
  (await pool.query(`SELECT paused_by, reason FROM rsync.flow_pauses WHERE address = $1`, [FLOW])).rows[0];

beforeAll(async () => {
  const problem = buildProblem([
    'cli/commands/apply.ts',
    'cli/commands/plan.ts',
    'cli/commands/status.ts',
    'cli/commands/resume.ts',
  ]);
  if (problem) throw new Error(problem);
  db = await testDatabase('schema_guard');
  warehouse = await testDatabase('schema_guard_wh');
  pool = new pg.Pool({ connectionString: db.url, max: 6, application_name: 'test schema-guard' });
  wh = new pg.Pool({ connectionString: warehouse.url, max: 2, application_name: 'test schema-guard warehouse' });
  process.env.RSYNC_TEST_SHOP_DB = db.url;
  process.env.RSYNC_TEST_WAREHOUSE = warehouse.url;
  await pool.query(
    `CREATE TABLE shop_orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, payload jsonb NOT NULL)`,
  );
  await wh.query(
    `CREATE TABLE erp_orders (key text PRIMARY KEY, "externalId" text NOT NULL, "createdAt" timestamptz,
       currency text, total text, lines jsonb, loaded_at timestamptz NOT NULL DEFAULT now())`,
  );
  dir = runtimeWorkspace('rsync-guard-', {
    retry: '{ maxAttempts: 2, backoff: fixed, initial: 1s, max: 1s }',
    connections: [
      {
        name: 'shopdb',
        connector: 'postgres',
        settings: {
          url: { secretRef: 'env:RSYNC_TEST_SHOP_DB' },
          streams: {
            orders: {
              canonical: ['order'],
              incremental: true,
              table: 'shop_orders',
              cursor: 'updated_at',
              key: 'id',
              document: 'payload',
            },
          },
        },
      },
      {
        name: 'warehouse',
        connector: 'postgres',
        settings: {
          url: { secretRef: 'env:RSYNC_TEST_WAREHOUSE' },
          entities: { order: { accepts: ['order'], table: 'erp_orders', key: 'key' } },
        },
      },
    ],
    flows: [
      {
        name: 'orders',
        source: { connection: 'shopdb', stream: 'orders' },
        target: { connection: 'warehouse', entity: 'order' },
        mapping: MAPPING,
        canonical: 'order',
        key: "'order-' & $string(id)",
      },
    ],
  });
  await applyWorkspace(dir, db.url);
  worker = await inProcessWorker(pool, db.url, { sandbox: false });
}, 120_000);

afterAll(async () => {
  await worker?.stop(5_000);
  await pool?.end();
  await wh?.end();
  await db?.drop();
  await warehouse?.drop();
});

describe('the schema guard on a postgres target', { timeout: 120_000 }, () => {
  it('writes while the table fits, and takes it as the baseline', async () => {
    await addOrders(4);
    const run = await runNow();
    expect(run.status, JSON.stringify(run.log)).toBe('succeeded');
    expect(Number(run.written)).toBe(4);
    const guard = (await pool.query(`SELECT * FROM rsync.schema_guards WHERE address = $1`, [FLOW])).rows[0];
    expect(guard.writes).toEqual(['createdAt', 'currency', 'externalId', 'lines', 'total']);
    expect(guard.seen).toMatchObject({ total: 'text', currency: 'text', lines: 'jsonb' });
    expect(guard.finding).toBeNull();
  });

  it('a dropped column pauses the flow with one diagnostic; nothing is written or dead-lettered', async () => {
    const ids = await addOrders(3);
    const before = await cursor();
    await wh.query(`ALTER TABLE erp_orders DROP COLUMN total`);
    const run = await runNow();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /target schema changed: acme\/warehouse order \(public\.erp_orders\).*field total \(text\) was dropped/,
    );
    expect({ read: Number(run.read), written: Number(run.written), dead: Number(run.dead) }).toEqual({
      read: 0,
      written: 0,
      dead: 0,
    });
    expect(await deadLetters()).toBe(0);
    expect(await cursor()).toEqual(before);
    expect(
      await count(wh, `SELECT count(*) AS n FROM erp_orders WHERE key = ANY($1)`, [ids.map((i) => `order-${i}`)]),
    ).toBe(0);
    // One diagnostic, in the run's log: which flow, which target, which field, what changed, how to fix.
    const found = run.log.filter((e: { event: string }) => e.event === 'schema-guard');
    expect(found).toHaveLength(1);
    expect(found[0].diagnostic).toMatchObject({
      code: 'target-schema-changed',
      severity: 'error',
      address: `${ENV}/${FLOW}`,
      range: { file: 'integrations/acme/mappings/orders.jsonata', start: { line: 1, column: 77 } },
    });
    expect(found[0].diagnostic.detail).toMatch(
      /add total back \(text\).*change the mapping integrations\/acme\/mappings\/orders\.jsonata and apply; then `rsync resume acme\/orders --env staging`/,
    );
    expect(await pause()).toEqual({ paused_by: 'rsync schema guard', reason: expect.stringMatching(/field total/) });
    const log = (await pool.query(`SELECT action, actor, detail FROM rsync.apply_log ORDER BY n DESC LIMIT 1`)).rows[0];
    expect(log).toMatchObject({ action: 'pause', actor: 'rsync schema guard', detail: { flow: FLOW } });
  });

  it('rsync status shows the flow paused by the schema guard, and rsync plan reports the drift', async () => {
    const status = await cli(dir, db.url, 'status', '--env', ENV);
    expect(status.status, show(status)).toBe(0);
    expect(status.stdout).toMatch(
      /PAUSED acme\/orders by rsync schema guard since .*: target schema changed: .*field total \(text\) was dropped/,
    );

    const plan = await cli(dir, db.url, 'plan', '--env', ENV);
    expect(plan.status, show(plan)).toBe(0);
    expect(plan.stdout).toMatch(/Target schemas changed/);
    expect(plan.stdout).toMatch(
      /! acme\/flow\/orders: target schema changed — acme\/warehouse order: total dropped \(was text\)/,
    );
    const json = await cli(dir, db.url, 'plan', '--env', ENV, '--format', 'json');
    const value = JSON.parse(json.stdout);
    expect(value.targetDrift).toEqual([
      expect.objectContaining({ address: FLOW, changes: [{ field: 'total', change: 'dropped', before: 'text' }] }),
    ]);
    expect(value.empty).toBe(true); // apply cannot heal it: nothing for apply (or the controller) to do
  });

  it('after the column is added back and rsync resume, the same records are written', async () => {
    await wh.query(`ALTER TABLE erp_orders ADD COLUMN total text`);
    const resumed = await cli(dir, db.url, 'resume', 'acme/orders', '--env', ENV);
    expect(resumed.status, show(resumed)).toBe(0);
    const run = await runNow();
    expect(run.status, JSON.stringify(run.log)).toBe('succeeded');
    expect(Number(run.written)).toBe(3);
    const rows = (
      await wh.query(`SELECT key, total FROM erp_orders WHERE key IN ('order-5', 'order-6', 'order-7') ORDER BY key`)
    ).rows;
    expect(rows).toEqual([
      { key: 'order-5', total: '50.50' },
      { key: 'order-6', total: '60.50' },
      { key: 'order-7', total: '70.50' },
    ]);
    expect(
      (await pool.query(`SELECT finding FROM rsync.schema_guards WHERE address = $1`, [FLOW])).rows[0].finding,
    ).toBeNull();
    const plan = await cli(dir, db.url, 'plan', '--env', ENV);
    expect(plan.stdout).not.toMatch(/Target schemas changed/);
  });

  it('a new NOT NULL column without a default, which the mapping does not write, is caught the same way', async () => {
    await wh.query(`ALTER TABLE erp_orders ADD COLUMN region text NOT NULL DEFAULT 'eu'`);
    await wh.query(`ALTER TABLE erp_orders ALTER COLUMN region DROP DEFAULT`);
    await addOrders(2);
    const before = await cursor();
    const run = await runNow();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/field region \(text\) is now required and the flow does not write it/);
    expect(await deadLetters()).toBe(0);
    expect(await cursor()).toEqual(before);
    expect((await pause()).paused_by).toBe('rsync schema guard');
    const found = run.log.filter((e: { event: string }) => e.event === 'schema-guard');
    expect(found).toHaveLength(1);
    expect(found[0].diagnostic.detail).toMatch(/make region optional or give it a default/);
    // Given a default, the flow resumes and writes the two waiting orders.
    await wh.query(`ALTER TABLE erp_orders ALTER COLUMN region SET DEFAULT 'eu'`);
    expect((await cli(dir, db.url, 'resume', 'acme/orders', '--env', ENV)).status).toBe(0);
    const again = await runNow();
    expect(again.status, JSON.stringify(again.log)).toBe('succeeded');
    expect(Number(again.written)).toBe(2);
    expect(await deadLetters()).toBe(0);
  });
});

describe('compareSchema', () => {
  const table = (fields: [string, string, boolean?][], more: object = {}) => ({
    name: 'public.t',
    fields: fields.map(([name, type, required]) => ({ name, type, required: !!required })),
    filled: ['key'],
    ...more,
  });
  const writes = writtenFields(MAPPING);

  it('reads the top-level fields a mapping writes, and none of one whose shape is known only at run time', () => {
    expect(writes).toEqual(['createdAt', 'currency', 'externalId', 'lines', 'total']);
    expect(writtenFields('$merge([{ "a": 1 }, $])')).toBeNull();
  });

  it('dropped: only a field the target had at the last passing check (a document column keeps the others)', () => {
    const now = table([
      ['key', 'text', true],
      ['currency', 'text'],
    ]);
    expect(compareSchema(['currency', 'total'], now, { key: 'text', currency: 'text', total: 'numeric' })).toEqual([
      { field: 'total', change: 'dropped', before: 'numeric' },
    ]);
    expect(compareSchema(['currency', 'total'], now, { key: 'text', currency: 'text' })).toEqual([]);
    expect(compareSchema(['currency', 'total'], now, undefined)).toEqual([]);
  });

  it('required: NOT NULL without a default that the flow does not write, unless the connector fills it', () => {
    const now = table([
      ['key', 'text', true],
      ['region', 'text', true],
      ['note', 'text'],
    ]);
    expect(compareSchema(['note'], now, undefined)).toEqual([{ field: 'region', change: 'required', after: 'text' }]);
    expect(compareSchema(['note', 'region'], now, undefined)).toEqual([]);
    expect(compareSchema(null, now, undefined)).toEqual([]);
  });

  it('type: a change into a type its values may not fit; to text or json is not one', () => {
    const seen = { key: 'text', qty: 'text', total: 'numeric(12,2)', at: 'text' };
    const now = table([
      ['key', 'text'],
      ['qty', 'integer'],
      ['total', 'text'],
      ['at', 'timestamp with time zone'],
    ]);
    expect(compareSchema(['qty', 'total', 'at'], now, seen)).toEqual([
      { field: 'qty', change: 'type', before: 'text', after: 'integer' },
      { field: 'at', change: 'type', before: 'text', after: 'timestamp with time zone' },
    ]);
    expect(compareSchema(['total'], table([['total', 'numeric(14,2)']]), seen)).toEqual([]);
  });
});
