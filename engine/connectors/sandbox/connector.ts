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
  };
}

// ------------------------------------------------------------------------------------------ generated records

/** Id-like fields that must differ between generated copies of one sample. */
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
  'number',
]);
const TIME_FIELDS =
  /^(created_at|updated_at|processed_at|createdAt|updatedAt|date_created|date_modified|lastModifiedDateTime|lastModifiedDate|created|arrival_date|tranDate)$/;

/** A copy of `sample` with its top-level ids made unique by `n` and its timestamps set to `at`. */
export function varySample(sample: unknown, n: number, at: Date): Record<string, unknown> {
  const copy = structuredClone(sample) as Record<string, unknown>;
  if (!copy || typeof copy !== 'object' || Array.isArray(copy)) return { value: copy, id: n };
  for (const [k, v] of Object.entries(copy)) {
    if (ID_FIELDS.has(k)) {
      if (typeof v === 'number') copy[k] = 1_000_000_000 + n;
      else if (typeof v === 'string' && /\d+$/.test(v)) copy[k] = v.replace(/\d+$/, String(1_000_000_000 + n));
      else if (typeof v === 'string' && k === 'id') copy[k] = `${v}-${n}`;
    } else if (TIME_FIELDS.test(k) && typeof v === 'string') copy[k] = at.toISOString();
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
