/**
 * A connection's API-call quota (its `limits.apiCallsPerDay`) on real PostgreSQL: the kit's HTTP client counts each
 * request it sends to a real server on 127.0.0.1 into rsync.quota_usage, and the flows reading or writing that
 * connection see the quota reached once the count meets it — by the database's UTC day, so yesterday's count does not.
 */
import { createServer, type Server } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpClient } from '../../engine/connectors/kit/http.js';
import type { FlowDef } from '../../engine/runtime/flows.js';
import { callCounter, describeQuota, quotaReached } from '../../engine/runtime/quotas.js';
import { migrate } from '../../engine/state/migrate.js';
import { usageToday } from '../../engine/state/quotas.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { listenLocal } from '../helpers/runtime.js';

let db: TestDatabase;
let pool: pg.Pool;
let server: Server;
let port: number;
let served = 0;

beforeAll(async () => {
  db = await testDatabase('quotas');
  pool = new pg.Pool({ connectionString: db.url, application_name: 'quotas test' });
  await migrate(pool);
  server = createServer((_req, res) => {
    served++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  port = await listenLocal(server);
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await pool?.end();
  await db?.drop();
});

const api = { name: 'api', system: 'northwind/api', type: 'http', settings: {}, env: 'staging', apiCallsPerDay: 3 };
const flow = {
  env: 'staging',
  customer: 'northwind',
  limits: {},
  source: { ...api, stream: 'orders' },
  target: { name: 'erp', system: 'northwind/erp', type: 'sandbox', settings: {}, entity: 'salesOrder' },
} as unknown as FlowDef;

describe("a connection's API calls per day", () => {
  it('counts every request the kit sends, and the quota is reached at the limit', async () => {
    const calls = callCounter(pool, 'staging', api);
    expect(calls).toBeDefined();
    const http = httpClient({ settings: {}, calls }, { name: 'api', baseUrl: `http://127.0.0.1:${port}/v1` });
    await http.request('GET', '/orders');
    await http.request('GET', '/orders');
    expect(await quotaReached(pool, flow)).toBeUndefined();
    await http.request('POST', '/orders', { json: { id: 1 } });
    expect(served).toBe(3);
    expect((await usageToday(pool, 'staging', ['calls:northwind/api'])).get('calls:northwind/api')).toBe(3);
    const reached = await quotaReached(pool, flow);
    expect(reached).toMatchObject({ unit: 'API calls', of: 'northwind/api', limit: 3, used: 3 });
    expect(describeQuota(reached!)).toBe('quota reached: 3 API calls/day to api, resets at 00:00 UTC');
    // Another environment's count is its own.
    expect((await usageToday(pool, 'production')).size).toBe(0);
  });

  it("yesterday's count does not hold today", async () => {
    await pool.query(`UPDATE rsync.quota_usage SET day = day - 1 WHERE scope = 'calls:northwind/api'`);
    expect(await quotaReached(pool, flow)).toBeUndefined();
  });

  it('a connection without a quota is not counted', () => {
    expect(callCounter(pool, 'staging', { system: 'northwind/erp' })).toBeUndefined();
  });
});
