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
 *
 * Each write's effect happens once, even when a worker dies between the target's commit and the ledger's:
 *  - a connection to rsync's own state database (same cluster and database: `transactional`) writes in the page's
 *    transaction, so the rows commit with the ledger, or not at all;
 *  - any other database gets the write ids (`WriteItem.writeId`) in a table of its own (settings.writeIds, default
 *    rsync_write_ids), written in the upsert's own statement: the write the crash cut off already holds its id
 *    there, and its repeat after the re-read changes no row (no update, no trigger fired).
 */
import type pg from 'pg';
import { ConnectorError, itemFields, itemsJson } from '../types.js';
import type * as io from '../types.js';
import { isObject } from '../../util/merge.js';
import { sha256 } from '../../util/hash.js';
import { parseJsonLossless } from '../../util/json.js';

const pools = new Map<string, pg.Pool>();

/**
 * The driver, loaded on the first connection: the catalogue imports every plugin, and validation, which reads
 * only the catalogue, should not pay for loading a database driver it never uses.
 */
let driver: Promise<typeof pg> | undefined;

/**
 * The connector's own value parsers (its pools', never pg's global ones, which rsync's state code uses): json and
 * jsonb losslessly (parseJsonLossless), int8 and numeric as their exact text, everything else as pg parses it.
 * Records themselves are read as text (`::text`, see read) and parsed in the mapping threads, losslessly too; these
 * keep any other value the connector selects exact, whatever a global setTypeParser elsewhere in the process says.
 */
export function exactTypes(types: typeof pg.types): pg.CustomTypesConfig {
  const text = (v: string) => v;
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (format !== 'binary') {
        if (oid === JSON_OID || oid === JSONB_OID) return parseJsonLossless;
        if (oid === INT8_OID || oid === NUMERIC_OID) return text;
      }
      return types.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}
const INT8_OID = 20;
const JSON_OID = 114;
const NUMERIC_OID = 1700;
const JSONB_OID = 3802;

async function poolFor(url: string): Promise<pg.Pool> {
  const { Pool, types } = await (driver ??= import('pg').then((m) => m.default));
  let p = pools.get(url);
  if (!p) {
    p = new Pool({
      connectionString: url,
      max: 4,
      application_name: 'rsync connector postgres',
      types: exactTypes(types),
    });
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
  // The connector's own errors know what they are ("table … does not exist" is no reason to retry).
  if (e instanceof ConnectorError) return new ConnectorError(`${what}: ${e.message}`, e.transient, e.retryAfterMs);
  const err = e as { code?: string; message?: string };
  const transient = !err.code || /^(08|53|57P|40)/.test(err.code);
  return new ConnectorError(`${what}: ${err.message ?? String(e)}`, transient);
}

/** Where a pool's database is: its cluster's system identifier and the database's name (null: unknown). */
async function whereIs(q: Pick<pg.Pool, 'query'>): Promise<string | null> {
  try {
    const { rows } = await q.query<{ id: string }>(
      `SELECT (SELECT system_identifier::text FROM pg_control_system()) || '/' || current_database() AS id`,
    );
    return rows[0]?.id ?? null;
  } catch (e) {
    // A server that hides pg_control_system (some managed services): then it cannot be known to be the same one.
    if ((e as { code?: string }).code === '42501' || (e as { code?: string }).code === '42883') return null;
    throw e;
  }
}

/**
 * The upsert of a batch. Each record goes as its JSON text, spliced into one array (no object is serialised
 * here); the key and the document columns take the key and the whole record (cast to their types), the other
 * columns the record's members of their name, converted as jsonb_populate_record converts them. Columns written:
 * the key, the document, and the record's members that are columns; absent members are not written at all, so an
 * update keeps what the row had.
 *
 * With `marks`, the statement first records each item's write id in that table, and writes only the rows whose
 * write id is new: a write repeated after a crash (the ledger did not commit, the target did) changes nothing. The
 * mark and the row commit together, in the one statement; $2 is then the target table's name.
 */
function upsert(
  table: string,
  keyName: string,
  docName: string | null,
  cols: { name: string; type: string }[],
  items: io.WriteItem[],
  marks: string | null,
): string {
  const present = cols.filter(
    (c) => c.name === keyName || c.name === docName || items.some((i) => itemFields(i).includes(c.name)),
  );
  const list = present.map((c) => `"${c.name}"`).join(', ');
  const updates = present.filter((c) => c.name !== keyName).map((c) => `"${c.name}" = excluded."${c.name}"`);
  const value = (c: { name: string; type: string }): string =>
    c.name === keyName
      ? `(e->>'k')::${c.type}`
      : c.name === docName
        ? c.type === 'jsonb' || c.type === 'json'
          ? `(e->'r')::${c.type}`
          : `((e->'r')::text)::${c.type}`
        : `r."${c.name}"`;
  const fresh = marks
    ? `WITH batch AS (SELECT e FROM jsonb_array_elements($1::jsonb) AS e),
       fresh AS (
         INSERT INTO ${marks} AS m (target, key, write_id)
         SELECT $2::text, e->>'k', coalesce(e->>'w', gen_random_uuid()::text) FROM batch
         ON CONFLICT (target, key) DO UPDATE SET write_id = excluded.write_id, applied_at = now()
           WHERE m.write_id <> excluded.write_id
         RETURNING key)
     `
    : '';
  const from = marks ? `batch JOIN fresh ON fresh.key = batch.e->>'k'` : 'jsonb_array_elements($1::jsonb) AS e';
  return `${fresh}INSERT INTO ${table} (${list})
     SELECT ${present.map(value).join(', ')}
       FROM ${from}, LATERAL jsonb_populate_record(null::${table}, e->'r') AS r
     ON CONFLICT ("${keyName}") DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
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

  /**
   * Whether this connection's database is rsync's state database (the same cluster, by its system identifier,
   * and the same database): then writes commit in the page's transaction, with the ledger.
   */
  let sameDatabase: Promise<boolean> | undefined;
  async function inStateDatabase(): Promise<boolean> {
    if (!ctx.state) return false;
    const [here, state] = await Promise.all([whereIs(await db()), whereIs(ctx.state)]);
    return here !== null && here === state;
  }

  /**
   * The table that remembers, per target table and key, the id of the last write applied (null: none is kept,
   * settings.writeIds: false). Created on first use; a role that may not create it is told how.
   */
  let marks: Promise<string | null> | undefined;
  const marksTable = () =>
    (marks ??= (async () => {
      if (s.writeIds === false) return null;
      const name = String(s.writeIds ?? 'rsync_write_ids');
      const qualified = `${schema}.${ident(name, 'settings.writeIds')}`;
      const pool = await db();
      const found = await pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
        `${schema}."${name}"`,
      ]);
      if (found.rows[0]?.t) return qualified;
      const ddl = `CREATE TABLE IF NOT EXISTS ${qualified} (target text NOT NULL, key text NOT NULL, write_id text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (target, key))`;
      try {
        await pool.query(ddl);
      } catch (e) {
        const err = e as { code?: string };
        if (err.code === '42501')
          throw new ConnectorError(
            `the role cannot create ${String(s.schema ?? 'public')}.${name}, where each row's write id is kept so that a write repeated after a crash is applied once; have an owner run: ${ddl}; or set writeIds: false to accept repeated writes`,
            false,
          );
        throw e;
      }
      return qualified;
    })().catch((e: unknown) => {
      marks = undefined;
      throw e instanceof ConnectorError ? e : classify(e, 'preparing the write ids table');
    }));

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
    /**
     * An entity's table as the catalogue says it is now: each column's type, and whether a write must fill it (NOT
     * NULL with no default, not an identity or generated column). The key and document columns are filled by every
     * write. It also forgets the columns cached for writes, so a write after it sees the table as it now is.
     */
    async describeTarget(entity: string): Promise<io.TargetSchema> {
      const en = entities[entity];
      if (!isObject(en)) throw new ConnectorError(`entity ${entity} is not declared under settings.entities`, false);
      const tableName = String(en.table);
      ident(en.table, `settings.entities.${entity}.table`);
      columns.delete(tableName);
      const schemaName = String(s.schema ?? 'public');
      try {
        const { rows } = await (await db()).query<{ name: string; type: string; required: boolean }>(
          `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                  (a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '') AS required
             FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = $1 AND t.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
          [schemaName, tableName],
        );
        const docName = en.document !== undefined ? String(en.document) : null;
        return {
          name: `${schemaName}.${tableName}`,
          fields: rows,
          filled: [String(en.key ?? 'key'), ...(docName ? [docName] : [])],
          keepsUnknown: docName !== null,
        };
      } catch (e) {
        throw classify(e, `describing ${tableName}`);
      }
    },
    transactional: () =>
      (sameDatabase ??= inStateDatabase().catch((e: unknown) => {
        sameDatabase = undefined; // asked again on the next page: the database may be back
        throw classify(e, 'finding where the connection points');
      })),
    async write(
      entity: string,
      items: io.WriteItem[],
      _signal?: AbortSignal,
      tx?: pg.PoolClient,
    ): Promise<io.WriteResult[]> {
      const en = entities[entity];
      if (!isObject(en)) throw new ConnectorError(`entity ${entity} is not declared under settings.entities`, false);
      const tableName = String(en.table);
      const table = `${schema}.${ident(en.table, `settings.entities.${entity}.table`)}`;
      const keyName = String(en.key ?? 'key');
      ident(keyName, `settings.entities.${entity}.key`);
      const docName = en.document !== undefined ? String(en.document) : null;
      if (docName) ident(docName, `settings.entities.${entity}.document`);
      if (!items.length) return [];
      // In the state database the write commits with the ledger (tx); elsewhere each row commits with its write id.
      const marks = tx ? null : await marksTable();
      const run = async (batch: io.WriteItem[]): Promise<void> => {
        const text = upsert(table, keyName, docName, await columnsOf(tableName), batch, marks);
        // A named (prepared) statement: planning it took PostgreSQL more time than executing the ledger lookups
        // (3.6 µs a record, pg_stat_statements, 500-record batches); prepared, its plan is kept per connection.
        const query = {
          name: `rsync_${sha256(text).slice(0, 24)}`,
          text,
          values: marks ? [itemsJson(batch), tableName] : [itemsJson(batch)],
        };
        if (!tx) {
          await (await db()).query(query);
          return;
        }
        // Inside the page's transaction a failed statement would abort it: a savepoint keeps the page's other work.
        await tx.query('SAVEPOINT rsync_write');
        try {
          await tx.query(query);
        } catch (e) {
          await tx.query('ROLLBACK TO SAVEPOINT rsync_write');
          throw e;
        } finally {
          await tx.query('RELEASE SAVEPOINT rsync_write').catch(() => {});
        }
      };
      try {
        await run(items);
        return items.map((i) => ({ ok: true as const, targetId: i.key }));
      } catch (e) {
        const err = classify(e, `writing ${tableName}`);
        if (err.transient || items.length === 1)
          return items.map(() => ({ ok: false as const, transient: err.transient, error: err.message }));
        // A permanent error fails the statement, not one record: find the bad ones one by one.
        const out: io.WriteResult[] = [];
        for (const i of items) out.push(...(await this.write!(entity, [i], undefined, tx)));
        return out;
      }
    },
  };
}
