/**
 * The apply log: append-only (a trigger refuses UPDATE and DELETE), and each entry chained to the previous one by
 * hash, numbered without gaps, with the newest entry also recorded in rsync.apply_log_head. `rsync audit verify`
 * recomputes the chain: an edited entry breaks its hash, a deleted one leaves a gap or a broken link, and removing
 * the newest entries disagrees with the head. (Someone who can rewrite every row and the head consistently can forge
 * history; keep a copy of the head hash elsewhere — `rsync audit verify --json` prints it — to detect that too.)
 */
import type pg from 'pg';
import { canonicalJson, sha256 } from '../util/hash.js';

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

/** What an entry's hash covers: its number, its time and its input as recorded (an absent commit or ref is null). */
type Hashed = Omit<LogEntry, 'entryHash' | 'prevHash'>;

function hashedFields(e: LogEntryInput & { n: number; at: string }): Hashed {
  return {
    n: e.n,
    at: e.at,
    env: e.env,
    action: e.action,
    actor: e.actor,
    commit: e.commit ?? null,
    ref: e.ref ?? null,
    detail: e.detail,
  };
}

function entryHash(prevHash: string, e: LogEntryInput & { n: number; at: string }): string {
  return sha256(prevHash + canonicalJson(hashedFields(e)));
}

/** Append an entry. Call it inside a transaction (BEGIN … COMMIT): the entry commits with it, and appends queue up. */
export async function appendLog(client: pg.PoolClient | pg.Client, input: LogEntryInput): Promise<LogEntry> {
  // Callers append inside a transaction: the lock serialises appenders until it commits.
  await client.query('SELECT pg_advisory_xact_lock($1)', [LOG_LOCK]);
  const head = await client.query<{ n: string; entry_hash: string }>(`SELECT n, entry_hash FROM rsync.apply_log_head`);
  const prevHash = head.rows[0]?.entry_hash ?? GENESIS;
  const n = Number(head.rows[0]?.n ?? 0) + 1;
  const at = new Date().toISOString();
  const base = hashedFields({ ...input, n, at });
  const hash = entryHash(prevHash, base);
  await client.query(
    `INSERT INTO rsync.apply_log (n, env, action, actor, commit, ref, detail, at, prev_hash, entry_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [n, input.env, input.action, input.actor, base.commit, base.ref, JSON.stringify(input.detail), at, prevHash, hash],
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
}

export async function verifyLog(db: Pick<pg.Pool, 'query'>): Promise<VerifyResult> {
  const { rows } = await db.query(
    `SELECT n, env, action, actor, commit, ref, detail, at, prev_hash, entry_hash FROM rsync.apply_log ORDER BY n`,
  );
  const head = (await db.query<{ n: string; entry_hash: string }>(`SELECT n, entry_hash FROM rsync.apply_log_head`))
    .rows[0];
  const problems: VerifyProblem[] = [];
  let prev = GENESIS;
  let expectN = 1;
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
    const recomputed = entryHash(r.prev_hash, { ...r, n, at });
    if (recomputed !== r.entry_hash)
      problems.push({ n, problem: `its content does not match its hash (the entry was edited)` });
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
  return { ok: problems.length === 0, entries: rows.length, head: head?.entry_hash ?? null, problems };
}
