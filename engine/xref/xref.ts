/**
 * The ID cross-reference (issue 13): the ledger maps each flow's idempotency key to the record's id in the target
 * (and since migration 006, the source record's id and what the target held after the write). `rsync xref` looks
 * it up by key, target id or source id; `rsync xref verify` reads a sample of the flow's records back from the
 * target and reports, as drift, those the target no longer has and those whose content moved from what rsync wrote.
 *
 * Verify compares, per record:
 * - when the connector returned a `view` at write time (the fields rsync set, in the target's terms) and can `fetch`
 *   the record projected to the same fields: field by field, so the detail says which fields changed and how;
 * - when it kept no view but `fetch` gives the record as rsync wrote it (the sandbox, whose systems keep the
 *   canonical record): the content hash against the ledger's, so the detail can say only that it changed;
 * - a connector without `fetch` cannot be verified, and verify says so (exit 1) rather than report all is well.
 *
 * PII: a field the flow's policy names as PII is never shown in a detail: its change is reported as "(PII) changed".
 */
import type pg from 'pg';
import type { OpenConnector } from '../connectors/types.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { fieldChanges } from '../plan/diff.js';
import type { FieldChange } from '../plan/types.js';
import type { FlowDef } from '../runtime/flows.js';
import { maskPii, piiNames } from '../runtime/mask.js';
import { canonicalJson, sha256 } from '../util/hash.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** One record of the cross-reference. */
export interface XrefEntry {
  /** The flow's idempotency key. */
  key: string;
  /** The record's id in the source system (absent for records written before rsync kept it). */
  sourceId: string | null;
  /** `<customer>/<connection>` of the target. */
  target: string;
  targetId: string;
  /** The revision of the flow that last wrote it. */
  revision: number;
  /** How many times rsync wrote it (1: created and never changed since). */
  writes: number;
  /** When rsync last wrote it. */
  writtenAt: string;
}

export interface XrefQuery {
  env: string;
  /** `<customer>/flow/<name>` */
  address: string;
  key?: string;
  targetId?: string;
  sourceId?: string;
  limit: number;
}

interface LedgerRow {
  key: string;
  source_id: string | null;
  target: string;
  target_id: string;
  revision: number;
  writes: number;
  updated_at: Date;
  content_hash: string;
  target_view: Record<string, unknown> | null;
}

const entryOf = (r: LedgerRow): XrefEntry => ({
  key: r.key,
  sourceId: r.source_id,
  target: r.target,
  targetId: r.target_id,
  revision: r.revision,
  writes: r.writes,
  writtenAt: r.updated_at.toISOString(),
});

/** The flow's cross-reference, newest writes first, narrowed to one key, target id or source id when asked. */
export async function listXref(db: Queryable, q: XrefQuery): Promise<XrefEntry[]> {
  const where = ['env = $1', 'address = $2'];
  const params: unknown[] = [q.env, q.address];
  const add = (column: string, v: string | undefined) => {
    if (v === undefined) return;
    params.push(v);
    where.push(`${column} = $${params.length}`);
  };
  add('key', q.key);
  add('target_id', q.targetId);
  add('source_id', q.sourceId);
  params.push(q.limit);
  const { rows } = await db.query<LedgerRow>(
    `SELECT key, source_id, target, target_id, revision, writes, updated_at FROM rsync.ledger
      WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, key LIMIT $${params.length}`,
    params,
  );
  return rows.map(entryOf);
}

/** How many records the flow's cross-reference holds. */
export async function countXref(db: Queryable, env: string, address: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM rsync.ledger WHERE env = $1 AND address = $2',
    [env, address],
  );
  return Number(rows[0].n);
}

/** A record that drifted, in the shape of a plan's drift (plan/types.ts Drift), with its cross-reference. */
export interface RecordDrift {
  /** The record in the target: `<entity> <target id>`. */
  object: string;
  type: 'record';
  problem: 'missing' | 'changed';
  detail: string;
  /** The flow whose record it is. */
  addresses: string[];
  entry: XrefEntry;
  /** The fields that changed (values of PII fields withheld); absent when only the content hash could tell. */
  fields?: FieldChange[];
}

export interface VerifyReport {
  /** Records in the flow's cross-reference. */
  total: number;
  /** Records read back from the target. */
  checked: number;
  drift: RecordDrift[];
  /** How the records were compared: field by field, by content hash, or both (some had a view, some not). */
  compared: ('fields' | 'hash')[];
}

/** Records read back per fetch call. */
const FETCH_CHUNK = 50;

/** Read a sample of the flow's records back from its target and report the ones that drifted. */
export async function verifyXref(
  db: Queryable,
  flow: FlowDef,
  target: OpenConnector,
  o: { sample: number; signal?: AbortSignal; onProgress?: (done: number, of: number) => void },
): Promise<VerifyReport> {
  if (!target.fetch)
    throw new RsyncError(
      `${flow.target.system} (connector ${flow.target.type}) cannot read its records back, so rsync cannot verify them`,
      ExitCode.FAILED,
      'xref verify needs a connector that can fetch records by id: netsuite, business-central, avalara, sandbox.',
    );
  const total = await countXref(db, flow.env, flow.address);
  // A random sample when asked for fewer than all: drift is rarely where the newest writes are.
  const { rows } = await db.query<LedgerRow>(
    `SELECT key, source_id, target, target_id, revision, writes, updated_at, content_hash, target_view
       FROM rsync.ledger WHERE env = $1 AND address = $2
      ORDER BY ${o.sample >= total ? 'key' : 'random()'} LIMIT $3`,
    [flow.env, flow.address, o.sample],
  );
  const pii = piiNames(flow.pii);
  const drift: RecordDrift[] = [];
  const compared = new Set<'fields' | 'hash'>();
  let checked = 0;
  for (let i = 0; i < rows.length; i += FETCH_CHUNK) {
    const part = rows.slice(i, i + FETCH_CHUNK);
    const found = await target.fetch(
      flow.target.entity,
      part.map((r) => r.target_id),
      o.signal,
    );
    part.forEach((r, n) => {
      const now = found[n];
      const entry = entryOf(r);
      const object = `${flow.target.entity} ${r.target_id}`;
      const base = { object, type: 'record' as const, addresses: [flow.address], entry };
      const when = `written by rsync at revision ${r.revision}, ${entry.writtenAt}`;
      if (now === null || now === undefined) {
        drift.push({
          ...base,
          problem: 'missing',
          detail: `${flow.target.system} no longer has ${object} (key ${r.key}, ${when}): deleted or merged in the target; replay the record or re-run its flow to write it again`,
        });
        return;
      }
      if (r.target_view) {
        compared.add('fields');
        const changes = fieldChanges(r.target_view, now);
        if (changes.length) {
          const fields = changes.map((c) => withheld(c, pii));
          drift.push({
            ...base,
            problem: 'changed',
            detail: `changed in ${flow.target.system} since rsync wrote it (${when}): ${fields.map(describe).join('; ')}`,
            fields,
          });
        }
      } else {
        compared.add('hash');
        if (sha256(canonicalJson(now)) !== r.content_hash)
          drift.push({
            ...base,
            problem: 'changed',
            detail: `its content in ${flow.target.system} differs from what rsync wrote (${when}); the connector keeps no field view, so the fields are not named`,
          });
      }
    });
    checked += part.length;
    o.onProgress?.(checked, rows.length);
  }
  return { total, checked, drift, compared: [...compared].sort() };
}

/** A field change with the values of a PII field withheld. */
function withheld(c: FieldChange, pii: Set<string>): FieldChange {
  const leaf =
    c.path
      .replace(/\[\d+\]/g, '')
      .split('.')
      .pop() ?? c.path;
  if (pii.size && (maskPii({ [leaf]: 'x' }, pii) as Record<string, unknown>)[leaf] !== 'x')
    return {
      path: c.path,
      ...(c.before !== undefined ? { before: '(PII)' } : {}),
      ...(c.after !== undefined ? { after: '(PII)' } : {}),
    };
  return c;
}

/** `total: "42.00" → "40.00"`, `memo: added "…"`, `discount: removed`. */
function describe(c: FieldChange): string {
  const v = (x: unknown) => {
    const s = JSON.stringify(x);
    return s.length > 60 ? `${s.slice(0, 57)}…` : s;
  };
  if (c.before === undefined) return `${c.path}: added ${v(c.after)} (rsync did not set it)`;
  if (c.after === undefined) return `${c.path}: removed (rsync wrote ${v(c.before)})`;
  return `${c.path}: ${v(c.before)} → ${v(c.after)}`;
}
