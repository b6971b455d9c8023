/**
 * A target that accepts a write and then drops the connection before answering (issue 15's faults): the worker
 * never hears that the write landed, takes it for a transient failure and retries it — with the same write id as
 * Idempotency-Key, so the API answers the retry with its first response and applies nothing again. Every key's
 * effect lands exactly once, no record is dead-lettered, and the run's log shows the retries.
 *
 * A real worker in this process, a real database, and the Idempotency-Key API of test/helpers/idempotent-api.ts on
 * 127.0.0.1, dropping the connection after applying the first request of every tenth key.
 */
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { idempotentApi, TOKEN } from '../helpers/idempotent-api.js';
import {
  applyWorkspace,
  backfillOnce,
  ENV,
  runtimeWorkspace,
  seed,
  STOCK_KEY,
  STOCK_MAPPING,
  stockRecords,
} from '../helpers/runtime.js';

const N = 200;
const FROM = new Date('2026-10-01T00:00:00Z');
const TO = new Date('2026-10-02T00:00:00Z');

describe('a target that applies a write and drops the connection before answering', { timeout: 180_000 }, () => {
  const firsts = new Set<string>();
  // The first request of every tenth key is applied, then its connection dropped.
  const api = idempotentApi(TOKEN, (key) => {
    const drop = Number(key.split('-').pop()) % 10 === 3 && !firsts.has(key);
    firsts.add(key);
    return drop;
  });
  let db: TestDatabase;
  let pool: pg.Pool;
  let worker: RsyncWorker;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
    db = await testDatabase('faults_dropped');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test faults' });
    process.env.RSYNC_TEST_IDEM_TOKEN = TOKEN;
    const dir = runtimeWorkspace('rsync-faults-', {
      connections: [
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
        {
          name: 'stockapi',
          connector: 'http',
          settings: {
            baseUrl: `http://127.0.0.1:${(api.server.address() as AddressInfo).port}/api`,
            auth: { type: 'bearer', token: { secretRef: 'env:RSYNC_TEST_IDEM_TOKEN' } },
            entities: { stock: { accepts: ['inventoryLevel'], path: '/stock', method: 'POST' } },
          },
        },
      ],
      flows: [
        {
          name: 'toapi',
          source: { connection: 'erp', stream: 'inventory' },
          target: { connection: 'stockapi', entity: 'stock' },
          mapping: STOCK_MAPPING,
          canonical: 'inventoryLevel',
          key: STOCK_KEY,
          batchSize: 50,
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    await seed(pool, 'acme/erp', 'inventory', stockRecords(N), FROM, new Date(TO.getTime() - 1));
    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: null, threads: 1, pollMs: 100 });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
    await new Promise((r) => api.server.close(r));
  });

  it('retries with the same Idempotency-Key: every effect once, nothing dead, the retries in the log', async () => {
    expect(await backfillOnce(pool, 'toapi', FROM, TO)).toMatchObject({ done: 1, read: N });
    expect(api.dropped()).toBe(N / 10);
    expect(api.repeats()).toBeGreaterThanOrEqual(N / 10); // each dropped write was sent again, and answered from the first
    expect(api.effects.size).toBe(N);
    expect([...api.effects.values()].filter((n) => n !== 1)).toEqual([]);
    const ledger = await pool.query(
      `SELECT count(*)::int AS n, max(writes) AS w FROM rsync.ledger WHERE address = 'acme/flow/toapi'`,
    );
    expect(ledger.rows[0]).toEqual({ n: N, w: 1 });
    const runs = await pool.query(
      `SELECT sum(written)::int AS written, sum(dead)::int AS dead, sum(retries)::int AS retries, string_agg(log::text, ' ') AS log
         FROM rsync.runs WHERE address = 'acme/flow/toapi'`,
    );
    expect(runs.rows[0]).toMatchObject({ written: N, dead: 0 });
    expect(runs.rows[0].retries).toBeGreaterThan(0);
    expect(runs.rows[0].log).toMatch(/"event": "backoff", "reason": "http: POST \/api\/stock\/stock-3: network error/);
  });
});
