/**
 * The schema guard on an ERP: orders from a sandbox storefront into sales orders on the fake NetSuite
 * (engine/connectors/netsuite/fake.ts), whose metadata catalogue (GET /record/v1/metadata-catalog/salesOrder, JSON
 * Schema) the connector describes its target by. An administrator makes a custom body field mandatory: NetSuite would
 * refuse every sales order rsync sends ("Please enter value(s) for: …"), so the guard pauses the flow before the
 * first write, with one diagnostic and nothing dead-lettered; the field made optional again and the flow resumed,
 * the waiting orders are written.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeNetSuite, fakeSettings, startFakeNetSuite } from '../../engine/connectors/netsuite/fake.js';
import type { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, cli, ENV, inProcessWorker, runToEnd, runtimeWorkspace, seed } from '../helpers/runtime.js';

const MAPPING = readFileSync(
  new URL('../../templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata', import.meta.url),
  'utf8',
);
const ORDER = JSON.parse(
  readFileSync(new URL('../fixtures/shopify-variants/orders_create.consistent.json', import.meta.url), 'utf8'),
).response as Record<string, unknown> & { line_items: { sku: string }[] };
const FLOW = 'acme/flow/orders';

let db: TestDatabase;
let pool: pg.Pool;
let dir: string;
let fake: FakeNetSuite;
let worker: RsyncWorker;
let next = 9000;

async function addOrders(n: number): Promise<void> {
  const at = new Date();
  const orders = Array.from({ length: n }, () => {
    const id = next++;
    return { ...ORDER, test: false, id, admin_graphql_api_id: `gid://shopify/Order/${id}`, name: `#G${id}` };
  });
  await seed(pool, 'acme/shop', 'orders', orders, at, at);
}

const runNow = () => runToEnd(pool, worker, FLOW);

beforeAll(async () => {
  const problem = buildProblem(['cli/commands/apply.ts', 'cli/commands/resume.ts', 'cli/commands/status.ts']);
  if (problem) throw new Error(problem);
  fake = await startFakeNetSuite();
  fake.seedItems([...new Set(ORDER.line_items.map((l) => l.sku))].map((sku) => ({ itemId: sku })));
  db = await testDatabase('schema_guard_netsuite');
  pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test schema-guard netsuite' });
  dir = runtimeWorkspace('rsync-guard-ns-', {
    connections: [
      { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
      { name: 'erp', connector: 'netsuite', settings: { ...fakeSettings(fake, 'NS_GUARD'), customer: '42' } },
    ],
    flows: [
      {
        name: 'orders',
        source: { connection: 'shop', stream: 'orders' },
        target: { connection: 'erp', entity: 'salesOrder' },
        mapping: MAPPING,
        canonical: 'order',
        key: "'shopify-order-' & $split(admin_graphql_api_id, '/')[-1]",
      },
    ],
  });
  await applyWorkspace(dir, db.url);
  worker = await inProcessWorker(pool, db.url, { sandbox: (system) => system === 'acme/shop' });
}, 120_000);

afterAll(async () => {
  await worker?.stop(5_000);
  await pool?.end();
  await fake?.close();
  await db?.drop();
});

describe('the schema guard on NetSuite', { timeout: 120_000 }, () => {
  it('a custom field made mandatory pauses the flow before any sales order is sent; made optional, they are written', async () => {
    await addOrders(3);
    const first = await runNow();
    expect(first.status, JSON.stringify(first.log)).toBe('succeeded');
    expect(fake.creates.get('salesOrder')).toBe(3);

    fake.customField('salesOrder', 'custbody_channel', { title: 'Sales Channel', mandatory: true });
    await addOrders(2);
    const requests = fake.stats.requests;
    const run = await runNow();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /target schema changed: acme\/erp salesOrder \(salesOrder\) no longer fits what flow acme\/orders writes: field custbody_channel \(string\) is now required/,
    );
    expect(fake.creates.get('salesOrder')).toBe(3);
    // Only the metadata call reached NetSuite: no upsert, so no refusal per record.
    expect(fake.stats.requests - requests).toBe(1);
    expect(Number((await pool.query(`SELECT count(*) AS n FROM rsync.dead_letters`)).rows[0].n)).toBe(0);
    const found = run.log.filter((e: { event: string }) => e.event === 'schema-guard');
    expect(found).toHaveLength(1);
    expect(found[0].diagnostic.detail).toMatch(/make custbody_channel optional or give it a default/);
    const status = await cli(dir, db.url, 'status', '--env', ENV);
    expect(status.stdout, show(status)).toMatch(/PAUSED acme\/orders by rsync schema guard/);

    fake.customField('salesOrder', 'custbody_channel', { title: 'Sales Channel', mandatory: false });
    expect((await cli(dir, db.url, 'resume', 'acme/orders', '--env', ENV)).status).toBe(0);
    const again = await runNow();
    expect(again.status, JSON.stringify(again.log)).toBe('succeeded');
    expect(Number(again.written)).toBe(2);
    expect(fake.creates.get('salesOrder')).toBe(5);
  });
});
