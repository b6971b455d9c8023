/**
 * The apply log: append-only (a trigger refuses UPDATE and DELETE), and each entry chained to the previous one by
 * hash, numbered without gaps, with the newest entry also recorded in rsync.apply_log_head. `rsync audit verify`
 * recomputes the chain: an edited entry breaks its hash, a deleted one leaves a gap or a broken link, and removing
 * the newest entries disagrees with the head.
 *
 * Someone who can rewrite every row and the head consistently could forge history; two things stop that:
 * - anchors (audit-anchors.ts): each apply, replay and discard also records the head outside PostgreSQL — an
 *   append-only file and/or a Git note on the applied commit — and verify checks every anchored entry still has the
 *   anchored hash;
 * - a key (rsync.yaml spec.audit.key, by secret reference, given with configureAuditKey): each new entry's hash is
 *   then an HMAC-SHA256, which nobody without the key can recompute. Entries made before the key stay plain
 *   SHA-256 (their hash covers `keyed` only when it is true, so they verify as they were).
 */
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { canonicalJson, sha256 } from '../util/hash.js';
import type { Anchor } from './audit-anchors.js';

let auditKey: string | undefined;

/** The key new entries are chained with, and verify checks keyed entries with (undefined: none). */
export function configureAuditKey(key: string | undefined): void {
  auditKey = key || undefined;
}

export interface LogEntryInput {
  env: string;
  action: string;
  actor: string;
  commit?: string | null;
  ref?: string | null;
  detail: Record<string, unknown>;
}

export interface LogEntry extends LogEntryInput {
  n: number;
  at: string;
  prevHash: string;
  entryHash: string;
}

const GENESIS = '0'.repeat(64);
const LOG_LOCK = 7_275_002;

/**
 * What an entry's hash covers: its number, its time and its input as recorded (an absent commit or ref is null),
 * and `keyed: true` for an HMAC entry (absent otherwise, so entries made before keys existed hash as they did).
 */
type Hashed = Omit<LogEntry, 'entryHash' | 'prevHash'> & { keyed?: true };

function hashedFields(e: LogEntryInput & { n: number; at: string; keyed?: boolean }): Hashed {
  return {
    n: e.n,
    at: e.at,
    env: e.env,
    action: e.action,
    actor: e.actor,
    commit: e.commit ?? null,
    ref: e.ref ?? null,
    detail: e.detail,
    ...(e.keyed ? { keyed: true as const } : {}),
  };
}

function entryHash(
  prevHash: string,
  e: LogEntryInput & { n: number; at: string; keyed?: boolean },
  key?: string,
): string {
  const text = prevHash + canonicalJson(hashedFields(e));
  return e.keyed ? createHmac('sha256', key!).update(text).digest('hex') : sha256(text);
}

/** Append an entry. Call it inside a transaction (BEGIN … COMMIT): the entry commits with it, and appends queue up. */
export async function appendLog(client: pg.PoolClient | pg.Client, input: LogEntryInput): Promise<LogEntry> {
  // Callers append inside a transaction: the lock serialises appenders until it commits.
  await client.query('SELECT pg_advisory_xact_lock($1)', [LOG_LOCK]);
  const head = await client.query<{ n: string; entry_hash: string }>(`SELECT n, entry_hash FROM rsync.apply_log_head`);
  const prevHash = head.rows[0]?.entry_hash ?? GENESIS;
  const n = Number(head.rows[0]?.n ?? 0) + 1;
  const at = new Date().toISOString();
  const keyed = auditKey !== undefined;
  const base = hashedFields({ ...input, n, at, keyed });
  const hash = entryHash(prevHash, base, auditKey);
  await client.query(
    `INSERT INTO rsync.apply_log (n, env, action, actor, commit, ref, detail, at, prev_hash, entry_hash, keyed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      n,
      input.env,
      input.action,
      input.actor,
      base.commit,
      base.ref,
      JSON.stringify(input.detail),
      at,
      prevHash,
      hash,
      keyed,
    ],
  );
  await client.query(
    `INSERT INTO rsync.apply_log_head (id, n, entry_hash) VALUES (true, $1, $2)
     ON CONFLICT (id) DO UPDATE SET n = excluded.n, entry_hash = excluded.entry_hash`,
    [n, hash],
  );
  return { ...base, prevHash, entryHash: hash };
}

export interface VerifyProblem {
  n: number | null;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  head: string | null;
  problems: VerifyProblem[];
  /** Anchors checked (outside the database), and entries whose hash is keyed. */
  anchors: number;
  keyed: number;
}

export async function verifyLog(db: Pick<pg.Pool, 'query'>, anchors: Anchor[] = []): Promise<VerifyResult> {
  const { rows } = await db.query(
    `SELECT n, env, action, actor, commit, ref, detail, at, prev_hash, entry_hash, keyed FROM rsync.apply_log ORDER BY n`,
  );
  const head = (await db.query<{ n: string; entry_hash: string }>(`SELECT n, entry_hash FROM rsync.apply_log_head`))
    .rows[0];
  const problems: VerifyProblem[] = [];
  let prev = GENESIS;
  let expectN = 1;
  let keyed = 0;
  let keyedSince: number | undefined;
  for (const r of rows) {
    const n = Number(r.n);
    if (n !== expectN)
      problems.push({
        n: expectN,
        problem:
          n > expectN
            ? n - 1 === expectN
              ? `entry ${expectN} is missing (deleted)`
              : `entries ${expectN}–${n - 1} are missing (deleted)`
            : `entry ${n} is out of order`,
      });
    if (r.prev_hash !== prev)
      problems.push({
        n,
        problem: `its link to the previous entry is broken (the previous entry was edited or deleted)`,
      });
    const at = (r.at as Date).toISOString();
    if (r.keyed) {
      keyed++;
      keyedSince ??= n;
      if (auditKey === undefined)
        problems.push({
          n,
          problem:
            'its hash is keyed (HMAC) and no audit key was given: set spec.audit.key in rsync.yaml and its secret',
        });
      else if (entryHash(r.prev_hash, { ...r, n, at }, auditKey) !== r.entry_hash)
        problems.push({
          n,
          problem:
            'its content does not match its keyed hash (the entry was edited, or the key is not the one it was made with)',
        });
    } else {
      if (keyedSince !== undefined)
        problems.push({
          n,
          problem: `its hash is not keyed although entry ${keyedSince} before it is (a forged entry)`,
        });
      if (entryHash(r.prev_hash, { ...r, n, at }) !== r.entry_hash)
        problems.push({ n, problem: `its content does not match its hash (the entry was edited)` });
    }
    prev = r.entry_hash;
    expectN = n + 1;
  }
  const last = rows[rows.length - 1];
  if (head && (!last || Number(head.n) !== Number(last.n) || head.entry_hash !== last.entry_hash)) {
    problems.push({
      n: Number(head.n),
      problem: `the log ends at entry ${last ? Number(last.n) : 0} but its head records entry ${Number(head.n)} (the newest entries were deleted)`,
    });
  }
  if (!head && rows.length) problems.push({ n: null, problem: 'the log has entries but no head record' });
  // Outside the database: each anchored entry must still have the hash it had when it was anchored.
  const byN = new Map(rows.map((r) => [Number(r.n), r.entry_hash as string]));
  for (const a of anchors) {
    const now = byN.get(a.n);
    if (now === undefined)
      problems.push({
        n: a.n,
        problem: `it is anchored in ${a.source} (${a.at}) but no longer in the log (the log was cut and rewritten)`,
      });
    else if (now !== a.hash)
      problems.push({
        n: a.n,
        problem: `its hash differs from the one anchored in ${a.source} (${a.at}): the chain was rewritten in the database`,
      });
  }
  return {
    ok: problems.length === 0,
    entries: rows.length,
    head: head?.entry_hash ?? null,
    problems,
    anchors: anchors.length,
    keyed,
  };
}
