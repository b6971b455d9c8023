/**
 * rsync.dead_letters (DESIGN: dead letter): a record that failed permanently or ran out of retries, kept with its
 * error, its payload with PII masked (what is shown) and the record as read (what a replay sends again, dropped
 * once the letter is resolved). Replays (runtime/replay.ts) and discards are appended to the apply log with who did
 * it.
 */
import type pg from 'pg';
import { redact, redactValue } from '../connectors/secrets.js';
import { flowAddress } from '../model/address.js';
import { appendLog } from './apply-log.js';
import { withTransaction } from './tx.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface DeadLetter {
  id: number;
  env: string;
  address: string;
  customer: string;
  revision: number;
  runId: number | null;
  key: string | null;
  stage: string;
  error: string;
  attempts: number;
  payload: unknown;
  status: DeadLetterStatus;
  createdAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: unknown;
  /** Whom it is assigned to (the console), or null. */
  assignee: string | null;
  /** The edited record, PII masked (what is shown), when it was edited; a retry sends the edit, not the original. */
  edited: unknown;
  editedAt: string | null;
  editedBy: string | null;
}

/** open; replayed (a replay or retry landed it); discarded (by hand); resolved (by hand, or its key was written later). */
export type DeadLetterStatus = 'open' | 'replayed' | 'discarded' | 'resolved';

export interface DeadLetterFilter {
  env: string;
  flow?: string;
  customer?: string;
  ids?: number[];
  status?: DeadLetterStatus | 'all';
  limit?: number;
}

function where(f: DeadLetterFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [f.env];
  const w = ['env = $1'];
  if (f.flow) {
    params.push(flowAddress(f.flow, f.customer));
    w.push(`address = $${params.length}`);
  }
  if (f.customer) {
    params.push(f.customer);
    w.push(`customer = $${params.length}`);
  }
  if (f.ids?.length) {
    params.push(f.ids);
    w.push(`id = ANY($${params.length})`);
  }
  if ((f.status ?? 'open') !== 'all') {
    params.push(f.status ?? 'open');
    w.push(`status = $${params.length}`);
  }
  return { sql: w.join(' AND '), params };
}

const COLUMNS = `id::int, env, address, customer, revision, run_id::int AS "runId", key, stage, error, attempts, payload, status,
  created_at AS "createdAt", resolved_at AS "resolvedAt", resolved_by AS "resolvedBy", resolution, assignee,
  edited_shown AS edited, edited_at AS "editedAt", edited_by AS "editedBy"`;

export async function listDeadLetters(db: Queryable, f: DeadLetterFilter): Promise<DeadLetter[]> {
  const w = where(f);
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM rsync.dead_letters WHERE ${w.sql} ORDER BY id LIMIT ${Math.max(1, f.limit ?? 1000)}`,
    w.params,
  );
  return rows.map((r) => ({
    ...r,
    createdAt: iso(r.createdAt),
    resolvedAt: r.resolvedAt ? iso(r.resolvedAt) : null,
    editedAt: r.editedAt ? iso(r.editedAt) : null,
  })) as DeadLetter[];
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : String(d));

export interface NewDeadLetter {
  env: string;
  address: string;
  customer: string;
  revision: number;
  runId: number;
  key: string | null;
  stage: string;
  /** Already without secrets and PII values. */
  error: string;
  attempts: number;
  /** The record with its PII fields masked: what is shown. */
  payload: unknown;
  /** The record as read: what a replay sends again. */
  replay: unknown;
}

/**
 * Keep a page's dead letters, in the transaction that commits the page. The error and the shown payload pass
 * through `redact` once more here, whatever the caller did: no secret is kept (the replay record is sent again as
 * read, and never shown).
 */
export async function addDeadLetters(tx: Queryable, letters: NewDeadLetter[]): Promise<void> {
  for (const l of letters)
    await tx.query(
      `INSERT INTO rsync.dead_letters (env, address, customer, revision, run_id, key, stage, error, attempts, payload, replay)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        l.env,
        l.address,
        l.customer,
        l.revision,
        l.runId,
        l.key,
        l.stage,
        redact(l.error),
        l.attempts,
        JSON.stringify(redactValue(l.payload)),
        JSON.stringify(l.replay),
      ],
    );
}

/** The open dead letters a filter selects, with the record each replay sends again (its edit, when it was edited). */
export async function deadLettersToReplay(
  db: Queryable,
  f: DeadLetterFilter,
): Promise<{ id: number; address: string; replay: unknown }[]> {
  const w = where({ ...f, status: 'open' });
  const { rows } = await db.query<{ id: number; address: string; replay: unknown }>(
    `SELECT id::int, address, coalesce(edited, replay) AS replay FROM rsync.dead_letters WHERE ${w.sql} ORDER BY id`,
    w.params,
  );
  return rows;
}

/** A replayed dead letter that landed (written, unchanged or filtered): resolved, its record dropped. */
export async function resolveReplayed(tx: Queryable, id: number, actor: string, resolution: unknown): Promise<void> {
  await tx.query(
    `UPDATE rsync.dead_letters SET status = 'replayed', resolved_at = now(), resolved_by = $2, resolution = $3, replay = NULL, edited = NULL WHERE id = $1`,
    [id, actor, JSON.stringify(resolution)],
  );
}

/**
 * The pipeline wrote these keys of a flow (in the page's transaction): their open dead letters are resolved, since
 * the record they stood for has landed since (a later change of it, a re-read, another delivery).
 */
export async function resolveWritten(
  tx: Queryable,
  flow: { env: string; address: string },
  keys: string[],
  run: number,
): Promise<void> {
  if (!keys.length) return;
  await tx.query(
    `UPDATE rsync.dead_letters SET status = 'resolved', resolved_at = now(), resolved_by = 'rsync',
            resolution = jsonb_build_object('reason', 'the same key was written later', 'run', $4::bigint), replay = NULL, edited = NULL
      WHERE env = $1 AND address = $2 AND status = 'open' AND key = ANY($3::text[])`,
    [flow.env, flow.address, keys, run],
  );
}

/** A replayed dead letter that failed again: it stays open, with the new error and revision. */
export async function failedAgain(
  tx: Queryable,
  id: number,
  f: { error: string; stage: string; revision: number },
): Promise<void> {
  await tx.query(
    `UPDATE rsync.dead_letters SET error = $2, stage = $3, attempts = attempts + 1, revision = $4 WHERE id = $1`,
    [id, redact(f.error), f.stage, f.revision],
  );
}

/** Per flow: its open dead letters. */
export async function openDeadLetterCounts(
  db: Queryable,
  env: string,
  addresses: string[],
): Promise<Map<string, number>> {
  const { rows } = await db.query<{ address: string; n: number }>(
    `SELECT address, count(*)::int AS n FROM rsync.dead_letters WHERE env = $1 AND address = ANY($2) AND status = 'open' GROUP BY address`,
    [env, addresses],
  );
  return new Map(rows.map((r) => [r.address, r.n]));
}

/** Discard dead letters (they stay, marked discarded, with who and why); appends one apply-log entry. */
export async function discardDeadLetters(
  db: pg.Pool,
  f: DeadLetterFilter,
  actor: string,
  reason?: string,
): Promise<number[]> {
  const w = where({ ...f, status: 'open' });
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{ id: number; address: string }>(
      `UPDATE rsync.dead_letters SET status = 'discarded', resolved_at = now(), resolved_by = $${w.params.length + 1},
                resolution = $${w.params.length + 2}, replay = NULL, edited = NULL
          WHERE ${w.sql} RETURNING id::int, address`,
      [...w.params, actor, JSON.stringify({ reason: reason ?? null })],
    );
    if (rows.length)
      await appendLog(client, {
        env: f.env,
        action: 'dlq-discard',
        actor,
        detail: { letters: rows.map((r) => r.id), reason: reason ?? null },
      });
    return rows.map((r) => r.id);
  });
}
