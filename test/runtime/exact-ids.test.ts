/**
 * A 64-bit id survives a backfill from each connector that reads records, byte for byte (issue 14): refunds whose
 * ids differ only in their last digits (820982911946154508 and …509, one double apart from none: both would be
 * 820982911946154500) come from the sandbox, a PostgreSQL table, an HTTP API and a JSON Lines drop, and each lands
 * in a PostgreSQL target with its exact id and a ledger key of its own.
 */
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, backfillOnce, ENV, runtimeWorkspace, type FlowSpec } from '../helpers/runtime.js';

const IDS = ['820982911946154508', '820982911946154509'];
const ORDER = '9007199254740993';
const AT = '2026-11-01T10:00:00Z';

/** The refunds as their systems send them: JSON text with the ids as bare numbers, never through a double. */
const refundJson = (source: string, id: string) =>
  `{"id":${id},"order_id":${ORDER},"created_at":"${AT}","currency":"EUR","amount":"10.00","note":"${note(source, id)}"}`;
/** Each system's refunds differ by their note: the target's echo check would take the same content for an echo. */
const note = (source: string, id: string) => `${source} refund ${id}`;

const MAPPING = `{ "externalId": $string(id), "orderExternalId": $string(order_id), "createdAt": created_at,
  "currency": currency, "adjustment": amount, "total": amount, "reason": note }`;

const SOURCES = ['sandbox', 'postgres', 'http', 'file'] as const;
const flow = (source: (typeof SOURCES)[number], connection: string): FlowSpec => ({
  name: `from-${source}`,
  source: { connection, stream: 'refunds' },
  target: { connection: 'erpdb', entity: 'refund' },
  mapping: MAPPING,
  canonical: 'refund',
  key: `'${source}-refund-' & $string(id)`,
});

describe('exact ids on every path', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let worker: RsyncWorker;
  const drops = mkdtempSync(path.join(os.tmpdir(), 'rsync-exact-drops-'));
  const api = http.createServer((req, res) => {
    if (!req.url?.startsWith('/refunds')) return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(`{"data":[${IDS.map((id) => refundJson('http', id)).join(',')}]}`);
  });

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts', 'engine/runtime/mapping/mapper-thread.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_exact_ids');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test runtime-exact-ids' });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    process.env.RSYNC_TEST_EXACT_DB = db.url;
    // The source table has no document column: each record is its row, as row_to_json gives it (bigint as a number).
    await pool.query(`CREATE TABLE src_refunds (id bigint PRIMARY KEY, order_id bigint NOT NULL, created_at text NOT NULL,
                        currency text NOT NULL, amount text NOT NULL, note text NOT NULL, updated_at timestamptz NOT NULL)`);
    await pool.query(`CREATE TABLE erp_refunds (key text PRIMARY KEY, body jsonb NOT NULL, "externalId" text)`);
    const dir = runtimeWorkspace('rsync-exact-ids-', {
      connections: [
        { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
        {
          name: 'erpdb',
          connector: 'postgres',
          settings: {
            url: { secretRef: 'env:RSYNC_TEST_EXACT_DB' },
            streams: {
              refunds: {
                canonical: ['refund'],
                incremental: true,
                table: 'src_refunds',
                cursor: 'updated_at',
                key: 'id',
              },
            },
            entities: { refund: { accepts: ['refund'], table: 'erp_refunds', key: 'key', document: 'body' } },
          },
        },
        {
          name: 'api',
          connector: 'http',
          settings: {
            baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
            streams: { refunds: { canonical: ['refund'], path: '/refunds' } },
          },
        },
        {
          name: 'drops',
          connector: 'file',
          settings: {
            folder: drops,
            format: 'jsonl',
            streams: { refunds: { canonical: ['refund'], pattern: 'refunds-*.jsonl', settleMs: 0 } },
          },
        },
      ],
      flows: [flow('sandbox', 'shop'), flow('postgres', 'erpdb'), flow('http', 'api'), flow('file', 'drops')],
    });
    await applyWorkspace(dir, db.url);

    // The same two refunds in each system, as text: jsonb and bigint keep every digit.
    for (const id of IDS) {
      await pool.query(
        `INSERT INTO rsync_sandbox.records (system, stream, id, updated_at, payload) VALUES ('acme/shop', 'refunds', $1, $2, $3::jsonb)`,
        [id, AT, refundJson('sandbox', id)],
      );
      await pool.query(
        `INSERT INTO src_refunds VALUES ($1::bigint, $2::bigint, $3::text, 'EUR', '10.00', $4, $3::timestamptz)`,
        [id, ORDER, AT, note('postgres', id)],
      );
    }
    const drop = path.join(drops, 'refunds-001.jsonl');
    writeFileSync(drop, `${IDS.map((id) => refundJson('file', id)).join('\n')}\n`);
    const old = new Date(Date.now() - 5000);
    utimesSync(drop, old, old);

    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: null, threads: 1, pollMs: 100 });
    await worker.start();
  });

  afterAll(async () => {
    api.close();
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
  });

  for (const source of SOURCES) {
    it(`a 64-bit id survives a backfill from the ${source} connector, byte for byte`, async () => {
      const f = { address: `acme/flow/from-${source}` };
      const day = [new Date('2026-11-01T00:00:00Z'), new Date('2026-11-02T00:00:00Z')] as const;
      expect(await backfillOnce(pool, `from-${source}`, ...day)).toMatchObject({ windows: 1, done: 1, read: 2 });
      const runs = await pool.query(`SELECT status, read, written, dead FROM rsync.runs WHERE address = $1`, [
        f.address,
      ]);
      expect(runs.rows.map((r) => [r.status, Number(r.read), Number(r.written), Number(r.dead)])).toEqual([
        ['succeeded', 2, 2, 0],
      ]);

      const keys = IDS.map((id) => `${source}-refund-${id}`);
      const ledger = await pool.query(`SELECT key FROM rsync.ledger WHERE address = $1 ORDER BY key`, [f.address]);
      expect(ledger.rows.map((r) => r.key)).toEqual(keys);

      // Read as text, so that nothing on the way back turns the ids into doubles either.
      const rows = await pool.query(
        `SELECT key, body::text AS body, body->>'externalId' AS id, body->>'orderExternalId' AS "order", "externalId" AS col
           FROM erp_refunds WHERE key LIKE $1 ORDER BY key`,
        [`${source}-%`],
      );
      expect(rows.rows.map((r) => [r.key, r.id, r.order, r.col])).toEqual(IDS.map((id, i) => [keys[i], id, ORDER, id]));
      for (const [i, r] of rows.rows.entries()) expect(r.body).toContain(`"externalId": "${IDS[i]}"`);
    });
  }
});
