/**
 * The postgres connector's write, on real PostgreSQL: the pipeline hands it each record as canonical JSON text with
 * its member names (no object serialised again); a caller may still hand it plain records. Both must give the same
 * rows: the key and document columns cast to their own types, the other columns from the record's members, and a
 * column no record names kept as it was on update.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePostgresPools, openPostgres } from './connector.js';
import type { WriteItem } from '../types.js';
import { canonicalJson } from '../../util/hash.js';
import { testDatabase, type TestDatabase } from '../../../test/helpers/db.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await testDatabase('pgconn');
  pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test connector-postgres' });
  process.env.RSYNC_TEST_PGCONN_URL = db.url;
  await pool.query(
    `CREATE TABLE orders_doc (id bigint PRIMARY KEY, doc json NOT NULL, currency varchar(3), total numeric(12,2), note text)`,
  );
  await pool.query(
    `CREATE TABLE orders_cols (key text PRIMARY KEY, currency text, total numeric, lines jsonb, note text DEFAULT 'kept')`,
  );
});

afterAll(async () => {
  await closePostgresPools();
  await pool?.end();
  await db?.drop();
});

const connector = () =>
  openPostgres({
    system: 'acme/erpdb',
    secret: () => process.env.RSYNC_TEST_PGCONN_URL!,
    settings: {
      url: { secretRef: 'env:RSYNC_TEST_PGCONN_URL' },
      entities: {
        doc: { table: 'orders_doc', key: 'id', document: 'doc' },
        cols: { table: 'orders_cols', key: 'key' },
      },
    },
  });

/** A write item as the pipeline makes it: the record only as text (reading .record would be a bug here). */
function asText(key: string, record: Record<string, unknown>): WriteItem {
  return {
    key,
    text: canonicalJson(record),
    fields: Object.keys(record).sort(),
    get record(): Record<string, unknown> {
      throw new Error('the connector parsed the record instead of sending its text');
    },
  };
}

const records = [
  { currency: 'EUR', total: '12.50', lines: [{ sku: 'A-1', quantity: 2 }], name: 'Zoë "quoted" \\ back' },
  { currency: 'USD', total: '7.00', lines: [] },
];

describe('postgres connector: write', () => {
  for (const form of ['text', 'record'] as const) {
    it(`upserts by key from ${form === 'text' ? 'the pipeline’s texts' : 'plain records'}: key and document in their own types, members into columns`, async () => {
      const c = connector();
      const offset = form === 'text' ? 0 : 100;
      const items = records.map((r, i) =>
        form === 'text' ? asText(String(offset + i + 1), r) : { key: String(offset + i + 1), record: r },
      );
      const results = await c.write!('doc', items);
      expect(results).toEqual([
        { ok: true, targetId: String(offset + 1) },
        { ok: true, targetId: String(offset + 2) },
      ]);
      const { rows } = await pool.query(
        `SELECT id, doc, currency, total::text AS total, note FROM orders_doc WHERE id > $1 AND id <= $2 ORDER BY id`,
        [offset, offset + 10],
      );
      expect(rows).toEqual([
        { id: String(offset + 1), doc: records[0], currency: 'EUR', total: '12.50', note: null },
        { id: String(offset + 2), doc: records[1], currency: 'USD', total: '7.00', note: null },
      ]);
    });
  }

  it('keeps a column that no record of the batch names, on update; writes only what the records name', async () => {
    const c = connector();
    await c.write!('cols', [asText('k-1', { currency: 'EUR', total: '1.10', lines: [{ sku: 'A' }] })]);
    await pool.query(`UPDATE orders_cols SET note = 'set by the ERP' WHERE key = 'k-1'`);
    await c.write!('cols', [asText('k-1', { currency: 'GBP', total: '2.20', lines: [] })]);
    const { rows } = await pool.query(`SELECT key, currency, total::text AS total, lines, note FROM orders_cols`);
    expect(rows).toEqual([{ key: 'k-1', currency: 'GBP', total: '2.20', lines: [], note: 'set by the ERP' }]);
  });

  it('finds the bad record of a batch one by one and writes the others', async () => {
    const c = connector();
    const results = await c.write!('doc', [
      asText('201', { currency: 'EUR', total: '1.00' }),
      asText('202', { currency: 'TOO-LONG', total: '2.00' }),
      asText('203', { currency: 'USD', total: '3.00' }),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, transient: false, error: expect.stringMatching(/too long/) });
    const { rows } = await pool.query(`SELECT id FROM orders_doc WHERE id > 200 ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual(['201', '203']);
  });
});
