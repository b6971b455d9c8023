/**
 * rsync.ledger (DESIGN: ledger): per flow and idempotency key, the target id, content hash and revision of what was
 * written. Its rule (ledgerDecision) has no I/O of its own: the pipeline and `rsync test` share it.
 */
import type pg from 'pg';
import { sha256 } from '../util/hash.js';

type Queryable = Pick<pg.Pool, 'query'>;

/**
 * The ledger's rule for one mapped record (promise 4): the same key with the same content hash is unchanged, a
 * record whose content rsync itself wrote into the source system is an echo (unchanged), anything else is written.
 * `rsync test` proves each flow's idempotency contract with this same rule (engine/mapping/test-runner.ts).
 */
export function ledgerDecision(
  known: { hash: string; version?: string | null } | undefined,
  hash: string,
  echo: boolean,
  updatedAt?: string,
): 'write' | 'ledger' | 'echo' | 'stale' {
  if (known?.hash === hash) return 'ledger';
  // Older than the version already written for the key (its canonical updatedAt): an out-of-order delivery.
  if (known?.version && updatedAt !== undefined && Date.parse(updatedAt) < Date.parse(known.version)) return 'stale';
  if (echo) return 'echo';
  return 'write';
}

/** What the ledger knows of one key of a flow: what was last written, and how many writes it has had. */
export interface LedgerEntry {
  hash: string;
  targetId: string;
  writes: number;
  /** The updatedAt of the version last written (ISO), when the record had one. */
  version: string | null;
}

/**
 * The idempotency key of a flow's next write of `key` with content `hash`, after `writes` committed writes: the same
 * for every attempt of that write — its retries, and its re-read after a crash, since the ledger's count moves only
 * when the page commits — and another for the key's next write (even back to an earlier content: A, B, A are
 * three writes). A target that remembers it applies the write once (connectors/types.ts `WriteItem.writeId`).
 */
export function writeId(env: string, address: string, key: string, writes: number, hash: string): string {
  return sha256(`${env}\n${address}\n${key}\n${writes}\n${hash}`).slice(0, 40);
}

/** What the ledger knows of these keys of a flow. */
export async function ledgerEntries(
  db: Queryable,
  env: string,
  address: string,
  keys: string[],
): Promise<Map<string, LedgerEntry>> {
  const { rows } = await db.query<{
    key: string;
    content_hash: string;
    target_id: string;
    writes: number;
    version: Date | null;
  }>(
    // One index probe per key (a LATERAL with LIMIT is never flattened into a join): `key = ANY($3)` let the
    // planner scan the flow's whole ledger whenever its statistics were stale, as they are while a backfill
    // grows it (7 ms a page at 30,000 rows, linear beyond; 2 ms at any size this way).
    `SELECT l.key, l.content_hash, l.target_id, l.writes, l.version FROM unnest($3::text[]) AS u(k)
       CROSS JOIN LATERAL (SELECT key, content_hash, target_id, writes, version FROM rsync.ledger WHERE env = $1 AND address = $2 AND key = u.k LIMIT 1) l`,
    [env, address, keys],
  );
  return new Map(
    rows.map((r) => [
      r.key,
      { hash: r.content_hash, targetId: r.target_id, writes: r.writes, version: r.version?.toISOString() ?? null },
    ]),
  );
}

/** Echoes: which of these content hashes rsync itself wrote into `system` (read back out of it: no sync loops). */
export async function echoedHashes(db: Queryable, env: string, system: string, hashes: string[]): Promise<Set<string>> {
  // The EXISTS is a one-time filter: when rsync never wrote into the source system, no hash is probed at all.
  const { rows } = await db.query<{ content_hash: string }>(
    `SELECT DISTINCT u.h AS content_hash FROM unnest($3::text[]) AS u(h)
       CROSS JOIN LATERAL (SELECT 1 FROM rsync.ledger WHERE env = $1 AND target = $2 AND content_hash = u.h LIMIT 1) l
      WHERE EXISTS (SELECT 1 FROM rsync.ledger WHERE env = $1 AND target = $2)`,
    [env, system, hashes],
  );
  return new Set(rows.map((r) => r.content_hash));
}

/** Record what a page wrote, in the transaction that commits the page. */
export async function recordWrites(
  tx: Queryable,
  flow: { env: string; address: string; target: string; revision: number },
  written: {
    key: string;
    targetId: string;
    hash: string;
    version?: string;
    /** The source record's id (canonical externalId…), for `rsync xref`. */
    sourceId?: string;
    /** What the target holds of the record after the write (WriteResult.view), for `rsync xref verify`. */
    view?: Record<string, unknown>;
  }[],
): Promise<void> {
  if (!written.length) return;
  // Views are rare (the connectors that can read their records back) and sent only when there is one.
  const views = written.some((w) => w.view !== undefined);
  await tx.query(
    `INSERT INTO rsync.ledger AS l (env, address, key, target, target_id, content_hash, revision, version, source_id, target_view)
     SELECT $1, $2, k, $3, t, h, $4, v, s, w FROM unnest($5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::jsonb[]) AS u(k, t, h, v, s, w)
     ON CONFLICT (env, address, key) DO UPDATE
       SET target_id = excluded.target_id, content_hash = excluded.content_hash, revision = excluded.revision,
           writes = l.writes + 1, updated_at = now(), version = coalesce(excluded.version, l.version),
           source_id = coalesce(excluded.source_id, l.source_id), target_view = excluded.target_view`,
    [
      flow.env,
      flow.address,
      flow.target,
      flow.revision,
      written.map((w) => w.key),
      written.map((w) => w.targetId),
      written.map((w) => w.hash),
      written.map((w) => w.version ?? null),
      written.map((w) => w.sourceId ?? null),
      views ? written.map((w) => (w.view === undefined ? null : JSON.stringify(w.view))) : written.map(() => null),
    ],
  );
}
