/**
 * The postgres connector's write, on real PostgreSQL: the pipeline hands it each record as canonical JSON text with
 * its member names (no object serialised again); a caller may still hand it plain records. Both must give the same
 * rows: the key and document columns cast to their own types, the other columns from the record's members, and a
 * column no record names kept as it was on update.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePostgresPools, exactTypes, openPostgres } from './connector.js';
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

describe('postgres connector: a write repeated after a crash', () => {
  it('applies each write id once in another database: the repeat changes no row and fires no trigger', async () => {
    await pool.query(`CREATE TABLE stock (key text PRIMARY KEY, qty numeric)`);
    await pool.query(`CREATE TABLE stock_effects (key text, qty numeric)`);
    await pool.query(`CREATE FUNCTION stock_effect() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO stock_effects VALUES (NEW.key, NEW.qty); RETURN NEW; END $$`);
    await pool.query(
      `CREATE TRIGGER stock_effect AFTER INSERT OR UPDATE ON stock FOR EACH ROW EXECUTE FUNCTION stock_effect()`,
    );
    const c = openPostgres({
      system: 'acme/wms',
      secret: () => db.url,
      settings: { url: 'x', entities: { stock: { table: 'stock', key: 'key' } } },
    });
    const write = (key: string, qty: number, writeId: string) =>
      c.write!('stock', [Object.assign(asText(key, { qty }), { writeId })]);
    expect(await write('s-1', 5, 'w-1')).toEqual([{ ok: true, targetId: 's-1' }]);
    // The crash's repeat: the same write id, answered as written, applied no second time.
    expect(await write('s-1', 5, 'w-1')).toEqual([{ ok: true, targetId: 's-1' }]);
    // The key's next write (even to the same content) has a new id, and lands.
    await write('s-1', 7, 'w-2');
    await write('s-1', 5, 'w-3');
    const effects = await pool.query(`SELECT key, qty::int FROM stock_effects`);
    expect(effects.rows).toEqual([
      { key: 's-1', qty: 5 },
      { key: 's-1', qty: 7 },
      { key: 's-1', qty: 5 },
    ]);
    const ids = await pool.query(`SELECT target, key, write_id FROM rsync_write_ids WHERE target = 'stock'`);
    expect(ids.rows).toEqual([{ target: 'stock', key: 's-1', write_id: 'w-3' }]);
    // Not the state database: no pool of it was given, so it is not transactional.
    expect(await (c.transactional as () => Promise<boolean>)()).toBe(false);
  });

  it('is transactional on the state database itself, and a bad record there does not abort the transaction', async () => {
    const c = openPostgres({
      system: 'acme/erpdb',
      secret: () => db.url,
      state: pool,
      settings: { url: 'x', entities: { doc: { table: 'orders_doc', key: 'id', document: 'doc' } } },
    });
    expect(await (c.transactional as () => Promise<boolean>)()).toBe(true);
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      const results = await c.write!(
        'doc',
        [asText('301', { currency: 'EUR' }), asText('302', { currency: 'TOO-LONG' })],
        undefined,
        tx,
      );
      expect(results.map((r) => r.ok)).toEqual([true, false]);
      // Not committed yet: another session does not see it; a rollback takes it back with the page.
      expect((await pool.query(`SELECT id FROM orders_doc WHERE id > 300`)).rows).toEqual([]);
      await tx.query('ROLLBACK');
    } finally {
      tx.release();
    }
    expect((await pool.query(`SELECT id FROM orders_doc WHERE id > 300`)).rows).toEqual([]);
  });
});

describe('postgres connector: values', () => {
  it('parses json and jsonb losslessly and keeps int8 and numeric as their text, in its own pools only', async () => {
    const own = new pg.Pool({
      connectionString: db.url,
      max: 1,
      application_name: 'test connector-postgres types',
      types: exactTypes(pg.types),
    });
    const sql = `SELECT '{"id":820982911946154508,"n":[820982911946154509,1.5]}'::json AS j,
                        '{"id":820982911946154508}'::jsonb AS b, 820982911946154509::int8 AS i, 12.50::numeric AS m,
                        7::int4 AS small, true AS t`;
    try {
      expect((await own.query(sql)).rows[0]).toEqual({
        j: { id: '820982911946154508', n: ['820982911946154509', 1.5] },
        b: { id: '820982911946154508' },
        i: '820982911946154509',
        m: '12.50',
        small: 7,
        t: true,
      });
    } finally {
      await own.end();
    }
    // pg's global parsers, which rsync's state code uses, are as they were: JSON.parse.
    expect((await pool.query(`SELECT '{"id":820982911946154508}'::jsonb AS b`)).rows[0].b.id).toBe(820982911946154500);
  });
});
