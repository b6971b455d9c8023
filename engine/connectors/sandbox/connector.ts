/**
 * The sandbox connector: a simulated storefront, POS or ERP backed by tables of the state database
 * (schema rsync_sandbox, migration 003), so that the demo and the tests have live systems to sync.
 *
 * It reads any stream (incrementally by updated_at + id) from `rsync_sandbox.records`, writes any entity into
 * `rsync_sandbox.writes` (upsert by key, with a version per key and a target id like an ERP's internal id), and
 * receives webhooks signed like a generic sender (receive.ts). `generate` fills a system with realistic records:
 * copies of real vendor payloads (the mapping tests' fixtures) with fresh ids, amounts and timestamps.
 *
 * With `rsync worker --sandbox` every connection of the environment, whatever its connector, is served by the
 * sandbox — the staging set-up of the example workspace, where each system is a sandbox.
 */
import type pg from 'pg';
import { ConnectorError, itemsJson } from '../types.js';
import type * as io from '../types.js';

interface SandboxCursor {
  t: string;
  id: string;
}

function isCursor(c: unknown): c is SandboxCursor {
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof (c as SandboxCursor).t === 'string' &&
    typeof (c as SandboxCursor).id === 'string'
  );
}

export function openSandbox(ctx: io.ConnectorContext, connector = 'sandbox'): io.OpenConnector {
  const db = ctx.state;
  if (!db) throw new ConnectorError('the sandbox connector needs the state database', false);
  const system = ctx.system;
  return {
    connector,
    async read(req: io.ReadRequest): Promise<io.Page> {
      const params: unknown[] = [system, req.stream, req.limit];
      const where: string[] = ['system = $1', 'stream = $2'];
      if (isCursor(req.cursor)) {
        params.push(req.cursor.t, req.cursor.id);
        where.push(`(updated_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`);
      }
      if (req.since) {
        params.push(req.since);
        where.push(`updated_at >= $${params.length}::timestamptz`);
      }
      if (req.until) {
        params.push(req.until);
        where.push(`updated_at < $${params.length}::timestamptz`);
      }
      // to_char keeps microseconds: a cursor rounded to milliseconds would skip or repeat records.
      const { rows } = await db.query<{ id: string; t: string; payload: string }>(
        `SELECT id, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t, payload::text AS payload
           FROM rsync_sandbox.records WHERE ${where.join(' AND ')}
          ORDER BY updated_at, id LIMIT $3`,
        params,
      );
      const last = rows[rows.length - 1];
      return {
        records: rows.map((r) => r.payload),
        json: true,
        cursor: last ? { t: last.t, id: last.id } : (req.cursor ?? null),
        more: rows.length === req.limit,
      };
    },
    transactional: true,
    async write(
      entity: string,
      items: io.WriteItem[],
      _signal?: AbortSignal,
      tx?: pg.PoolClient,
    ): Promise<io.WriteResult[]> {
      if (!items.length) return [];
      const { rows } = await (tx ?? db).query<{ key: string; target_id: string }>(
        `INSERT INTO rsync_sandbox.writes AS w (system, entity, key, target_id, record)
         SELECT $1, $2, e->>'k', upper(left($2, 2)) || '-' || lpad(nextval('rsync_sandbox.target_ids')::text, 8, '0'), e->'r'
           FROM jsonb_array_elements($3::jsonb) AS e
         ON CONFLICT (system, entity, key) DO UPDATE
           SET record = excluded.record, version = w.version + 1, written_at = now()
         RETURNING key, target_id`,
        // One JSON array (itemsJson): nothing serialised again, nothing escaped into an array literal.
        [system, entity, itemsJson(items)],
      );
      const ids = new Map(rows.map((r) => [r.key, r.target_id]));
      return items.map((i) => ({ ok: true as const, targetId: ids.get(i.key)! }));
    },
    // rsync xref verify: the records as the simulated system holds them (the canonical record rsync wrote, unless
    // someone changed it behind rsync's back), compared by content hash.
    async fetch(entity: string, targetIds: string[]): Promise<(Record<string, unknown> | null)[]> {
      const { rows } = await db.query<{ target_id: string; record: Record<string, unknown> }>(
        `SELECT target_id, record FROM rsync_sandbox.writes WHERE system = $1 AND entity = $2 AND target_id = ANY($3::text[])`,
        [system, entity, targetIds],
      );
      const byId = new Map(rows.map((r) => [r.target_id, r.record]));
      return targetIds.map((id) => byId.get(id) ?? null);
    },
  };
}

// ------------------------------------------------------------------------------------------ generated records

/** Id-like fields of a record that must differ between generated copies of one sample. */
const ID_FIELDS = new Set([
  'id',
  'order_id',
  'number',
  'order_number',
  'name',
  'admin_graphql_api_id',
  'externalId',
  'internalId',
  'No',
  'checkout_id',
  'checkout_token',
  'cart_token',
  'token',
  'confirmation_number',
  'reference_id',
  'receipt_number',
]);
/** Inside a record (its lines, customer, transactions…), the fields that identify their object. */
// Square's uid is left alone: a line's applied_discounts name the order's discounts by it.
const NESTED_ID_FIELDS = new Set(['id', 'admin_graphql_api_id']);
const TIME_FIELDS =
  /^(created_at|updated_at|processed_at|createdAt|updatedAt|date_created|date_modified|lastModifiedDateTime|lastModifiedDate|created|arrival_date|tranDate)$/;
const EMAIL = /^([^@\s+]+)(?:\+[^@\s]*)?@([^@\s]+)$/;

/** A record's id made unique by n: a number's digits, a string's trailing digits (a gid's too), or a suffix. */
function varyId(v: unknown, n: number, suffix: boolean): unknown {
  if (typeof v === 'number') return 1_000_000_000 + n;
  if (typeof v !== 'string') return v;
  if (/\d+$/.test(v)) return v.replace(/\d+$/, String(1_000_000_000 + n));
  return suffix && v !== '' ? `${v}-${n}` : v;
}

/**
 * A nested object's id made unique by n and still distinct from its siblings': the copy's number followed by the
 * id's last six digits (16 digits, a safe integer), else a suffix.
 */
function varyNestedId(v: string | number, n: number): string | number {
  const s = String(v);
  const m = /\d+$/.exec(s);
  if (!m) return s === '' ? s : `${s}-${n}`;
  const id = `${1_000_000_000 + (n % 1_000_000_000)}${m[0].slice(-6).padStart(6, '0')}`;
  return typeof v === 'number' ? Number(id) : s.slice(0, m.index) + id;
}

/** The record's nested objects with their ids (and e-mail addresses) made unique by n; amounts are left alone. */
function varyNested(v: unknown, n: number, depth: number): unknown {
  if (Array.isArray(v)) return v.map((x) => varyNested(x, n, depth));
  if (!v || typeof v !== 'object' || depth > 6) return typeof v === 'string' ? varyEmail(v, n) : v;
  const o = v as Record<string, unknown>;
  for (const [k, x] of Object.entries(o)) {
    if (NESTED_ID_FIELDS.has(k) && (typeof x === 'number' || typeof x === 'string')) o[k] = varyNestedId(x, n);
    else o[k] = varyNested(x, n, depth + 1);
  }
  return o;
}

/** jane@example.com → jane+n@example.com (a plus address: still the same domain, and valid). */
function varyEmail(v: string, n: number): string {
  const m = EMAIL.exec(v);
  return m ? `${m[1]}+${n}@${m[2]}` : v;
}

/**
 * A copy of `sample` with every identifying field made unique by `n` — its ids, gids, numbers and names (`#1001`),
 * the ids of its lines, customer and other nested objects, its e-mail addresses — and its timestamps set to `at`
 * (ISO strings, or Unix seconds where the sample has a number).
 * Amounts, quantities and currencies stay as they are, so the copy adds up exactly as the sample does; so do
 * references to other systems' fixed objects (locations, variants, products: `location_id`, `variant_id`).
 */
export function varySample(sample: unknown, n: number, at: Date): Record<string, unknown> {
  const copy = structuredClone(sample) as Record<string, unknown>;
  if (!copy || typeof copy !== 'object' || Array.isArray(copy)) return { value: copy, id: n };
  for (const [k, v] of Object.entries(copy)) {
    if (ID_FIELDS.has(k)) copy[k] = varyId(v, n, k === 'id' || k === 'token' || k === 'checkout_token');
    else if (TIME_FIELDS.test(k) && typeof v === 'string') copy[k] = at.toISOString();
    // Unix seconds (Stripe's created, arrival_date)
    else if (TIME_FIELDS.test(k) && typeof v === 'number') copy[k] = Math.floor(at.getTime() / 1000);
    else copy[k] = varyNested(v, n, 1);
  }
  return copy;
}

/** The id the sandbox files a record under (its top-level id, else n). */
function recordId(r: Record<string, unknown>, n: number): string {
  const id = r.admin_graphql_api_id ?? r.id ?? r.number ?? n;
  return String(id);
}

/**
 * Add `count` records to a system's stream, copied from `samples` in turn, with fresh ids starting after `start`
 * and updated_at spread evenly from `from` to `to` (default: now). Returns the records as inserted.
 */
export async function generate(
  db: Pick<pg.Pool, 'query'>,
  opts: { system: string; stream: string; samples: unknown[]; count: number; start?: number; from?: Date; to?: Date },
): Promise<{ id: string; record: Record<string, unknown> }[]> {
  if (!opts.samples.length) throw new Error(`no sample records for ${opts.system} ${opts.stream}`);
  const to = opts.to ?? new Date();
  const from = opts.from ?? to;
  const span = to.getTime() - from.getTime();
  const out: { id: string; record: Record<string, unknown>; at: Date }[] = [];
  const start = opts.start ?? Date.now() % 1_000_000_000;
  for (let i = 0; i < opts.count; i++) {
    const at = new Date(from.getTime() + (opts.count > 1 ? Math.floor((span * i) / (opts.count - 1)) : 0));
    const record = varySample(opts.samples[i % opts.samples.length], start + i, at);
    out.push({ id: recordId(record, start + i), record, at });
  }
  for (let i = 0; i < out.length; i += 2000) {
    const part = out.slice(i, i + 2000);
    await db.query(
      `INSERT INTO rsync_sandbox.records (system, stream, id, updated_at, payload)
       SELECT $1, $2, id, at, p FROM unnest($3::text[], $4::timestamptz[], $5::jsonb[]) AS u(id, at, p)
       ON CONFLICT (system, stream, id) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at`,
      [
        opts.system,
        opts.stream,
        part.map((r) => r.id),
        part.map((r) => r.at.toISOString()),
        part.map((r) => JSON.stringify(r.record)),
      ],
    );
  }
  return out.map(({ id, record }) => ({ id, record }));
}
