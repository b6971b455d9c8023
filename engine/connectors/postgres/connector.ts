/**
 * The postgres connector: real tables. A stream reads a table incrementally by a cursor column (a timestamp or
 * an increasing id) with the key column as tie-breaker; an entity upserts rows by a key column.
 *
 *   settings:
 *     url: { secretRef: env:SHOP_DB_URL }
 *     schema: public
 *     streams:  { orders:  { table: shop_orders, cursor: updated_at, key: id, document: payload } }
 *     entities: { order:   { table: erp_orders,  key: key, document: body } }
 *
 * `document` (optional) names a jsonb column holding the whole record: a stream then yields that column's value,
 * and an entity stores the canonical record in it. Either way an entity also writes the record's fields into the
 * columns of the same name (jsonb_populate_record), and a stream without it yields the row as an object.
 */
import type pg from 'pg';
import { ConnectorError, itemFields, itemsJson } from '../types.js';
import type * as io from '../types.js';
import { isObject } from '../../util/merge.js';
import { sha256 } from '../../util/hash.js';

const pools = new Map<string, pg.Pool>();

/**
 * The driver, loaded on the first connection: the catalogue imports every plugin, and validation, which reads
 * only the catalogue, should not pay for loading a database driver it never uses.
 */
let driver: Promise<typeof pg> | undefined;

async function poolFor(url: string): Promise<pg.Pool> {
  const { Pool } = await (driver ??= import('pg').then((m) => m.default));
  let p = pools.get(url);
  if (!p) {
    p = new Pool({ connectionString: url, max: 4, application_name: 'rsync connector postgres' });
    p.on('error', () => {});
    pools.set(url, p);
  }
  return p;
}

export async function closePostgresPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => {})));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
function ident(name: unknown, what: string): string {
  if (typeof name !== 'string' || !IDENT.test(name))
    throw new ConnectorError(
      `${what} must be a plain SQL identifier (letters, digits, _), not ${JSON.stringify(name)}`,
      false,
    );
  return `"${name}"`;
}

/** Connection problems are transient (the database may come back); SQL errors in a statement are not. */
function classify(e: unknown, what: string): ConnectorError {
  const err = e as { code?: string; message?: string };
  const transient = !err.code || /^(08|53|57P|40)/.test(err.code);
  return new ConnectorError(`${what}: ${err.message ?? String(e)}`, transient);
}

export function openPostgres(ctx: io.ConnectorContext): io.OpenConnector {
  const s = ctx.settings;
  const schema = ident(s.schema ?? 'public', 'settings.schema');
  const streams = isObject(s.streams) ? s.streams : {};
  const entities = isObject(s.entities) ? s.entities : {};
  let pool: pg.Pool | undefined;
  const db = async () => (pool ??= await poolFor(ctx.secret(s.url)));
  const columns = new Map<string, { name: string; type: string }[]>();

  /** A table's columns, in order, with their SQL types. */
  async function columnsOf(table: string): Promise<{ name: string; type: string }[]> {
    let c = columns.get(table);
    if (!c) {
      const { rows } = await (await db()).query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = $1 AND t.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [String(s.schema ?? 'public'), table],
      );
      if (!rows.length)
        throw new ConnectorError(
          `table ${String(s.schema ?? 'public')}.${table} does not exist (or has no columns)`,
          false,
        );
      c = rows;
      columns.set(table, c);
    }
    return c;
  }

  return {
    connector: 'postgres',
    async read(req: io.ReadRequest): Promise<io.Page> {
      const st = streams[req.stream];
      if (!isObject(st)) throw new ConnectorError(`stream ${req.stream} is not declared under settings.streams`, false);
      const table = ident(st.table, `settings.streams.${req.stream}.table`);
      const cursorCol = ident(st.cursor ?? 'updated_at', `settings.streams.${req.stream}.cursor`);
      const keyCol = ident(st.key ?? 'id', `settings.streams.${req.stream}.key`);
      const doc = st.document !== undefined ? ident(st.document, `settings.streams.${req.stream}.document`) : null;
      const params: unknown[] = [req.limit];
      const where: string[] = [];
      const c = req.cursor as { c?: unknown; k?: unknown } | null;
      if (c && typeof c === 'object' && 'c' in c) {
        params.push(c.c, c.k);
        // Compared in the columns' own types (parameters typed from them), so an index on (cursor, key) serves it.
        where.push(`(${cursorCol}, ${keyCol}) > ($2, $3)`);
      }
      if (req.since) {
        params.push(req.since);
        where.push(`${cursorCol} >= $${params.length}`);
      }
      if (req.until) {
        params.push(req.until);
        where.push(`${cursorCol} < $${params.length}`);
      }
      const sql = `SELECT ${cursorCol}::text AS "__c", ${keyCol}::text AS "__k", ${doc ? `${doc}::text` : 'row_to_json(t)::text'} AS "__r"
                     FROM ${schema}.${table} t ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                    ORDER BY ${cursorCol}, ${keyCol} LIMIT $1`;
      try {
        const { rows } = await (await db()).query<{ __c: string; __k: string; __r: string }>(sql, params);
        const last = rows[rows.length - 1];
        return {
          records: rows.map((r) => r.__r),
          json: true,
          cursor: last ? { c: last.__c, k: last.__k } : (req.cursor ?? null),
          more: rows.length === req.limit,
        };
      } catch (e) {
        throw classify(e, `reading ${String(st.table)}`);
      }
    },
    async write(entity: string, items: io.WriteItem[]): Promise<io.WriteResult[]> {
      const en = entities[entity];
      if (!isObject(en)) throw new ConnectorError(`entity ${entity} is not declared under settings.entities`, false);
      const tableName = String(en.table);
      const table = ident(en.table, `settings.entities.${entity}.table`);
      const keyName = String(en.key ?? 'key');
      const keyCol = ident(keyName, `settings.entities.${entity}.key`);
      const docName = en.document !== undefined ? String(en.document) : null;
      if (docName) ident(docName, `settings.entities.${entity}.document`);
      if (!items.length) return [];
      try {
        const cols = await columnsOf(tableName);
        // Columns written: the key, the document, and the record's members that are columns. Absent members are not
        // written at all, so an update keeps what the row had.
        const present = cols.filter(
          (c) => c.name === keyName || c.name === docName || items.some((i) => itemFields(i).includes(c.name)),
        );
        const list = present.map((c) => `"${c.name}"`).join(', ');
        const updates = present.filter((c) => c.name !== keyName).map((c) => `"${c.name}" = excluded."${c.name}"`);
        // Each record goes as its JSON text, spliced into one array (no object is serialised here). The key and the
        // document columns take the key and the whole record (cast to their types); the other columns take the
        // record's members of their name, converted as jsonb_populate_record converts them.
        const value = (c: { name: string; type: string }): string =>
          c.name === keyName
            ? `(e->>'k')::${c.type}`
            : c.name === docName
              ? c.type === 'jsonb' || c.type === 'json'
                ? `(e->'r')::${c.type}`
                : `((e->'r')::text)::${c.type}`
              : `r."${c.name}"`;
        const text = `INSERT INTO ${schema}.${table} (${list})
           SELECT ${present.map(value).join(', ')}
             FROM jsonb_array_elements($1::jsonb) AS e, LATERAL jsonb_populate_record(null::${schema}.${table}, e->'r') AS r
           ON CONFLICT (${keyCol}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
        // A named (prepared) statement: planning it took PostgreSQL more time than executing the ledger lookups
        // (3.6 µs a record, pg_stat_statements, 500-record batches); prepared, its plan is kept per connection.
        await (await db()).query({ name: `rsync_${sha256(text).slice(0, 24)}`, text, values: [itemsJson(items)] });
        return items.map((i) => ({ ok: true as const, targetId: i.key }));
      } catch (e) {
        const err = classify(e, `writing ${tableName}`);
        if (err.transient || items.length === 1)
          return items.map(() => ({ ok: false as const, transient: err.transient, error: err.message }));
        // A permanent error fails the statement, not one record: find the bad ones one by one.
        const out: io.WriteResult[] = [];
        for (const i of items) out.push(...(await this.write!(entity, [i])));
        return out;
      }
    },
  };
}
