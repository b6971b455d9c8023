/**
 * The rows retention deletes (runtime/retention.ts decides when, and for which flows): one small batch per
 * statement, each its own short transaction, so that a purge never holds a long lock and a worker syncing beside
 * it only ever waits for one batch. Rows another session has locked are skipped (SKIP LOCKED) and taken next time.
 *
 * What is kept, whatever its age:
 *  - runs: a run still running; a run an open dead letter came from; each flow's latest run and latest successful
 *    run (`rsync status` shows them, freshness is measured from the last success);
 *  - deliveries: one not yet done (its run still needs it);
 *  - dead letters: an open one (a record not yet delivered is not "old", it is lost if deleted); resolved ones are
 *    kept for the retention from when they were resolved;
 *  - ledger: the key of an open dead letter (its replay must find what was written before).
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export const RETAINED_TABLES = ['runs', 'deliveries', 'deadLetters', 'ledger'] as const;
export type RetainedTable = (typeof RETAINED_TABLES)[number];

/** The SQL table of each. */
export const TABLE_NAME: Record<RetainedTable, string> = {
  runs: 'rsync.runs',
  deliveries: 'rsync.deliveries',
  deadLetters: 'rsync.dead_letters',
  ledger: 'rsync.ledger',
};

/**
 * The rows of `table` past their retention, for flows `$2` (addresses) of environment `$1` whose cutoff is `$3`:
 * a select of their identities (the key columns), limited to `$4`.
 */
const CANDIDATES: Record<RetainedTable, string> = {
  runs: `SELECT r.id FROM rsync.runs r
          WHERE r.env = $1 AND r.address = ANY($2) AND r.finished_at < $3 AND r.status <> 'running'
            AND r.id < (SELECT max(x.id) FROM rsync.runs x WHERE x.env = r.env AND x.address = r.address)
            AND r.id <> coalesce((SELECT max(x.id) FROM rsync.runs x
                                   WHERE x.env = r.env AND x.address = r.address AND x.status = 'succeeded'), 0)
            AND NOT EXISTS (SELECT 1 FROM rsync.dead_letters d WHERE d.run_id = r.id AND d.status = 'open')`,
  deliveries: `SELECT d.id FROM rsync.deliveries d
                WHERE d.env = $1 AND d.address = ANY($2) AND d.done_at IS NOT NULL AND d.done_at < $3`,
  deadLetters: `SELECT d.id FROM rsync.dead_letters d
                 WHERE d.env = $1 AND d.address = ANY($2) AND d.status <> 'open'
                   AND coalesce(d.resolved_at, d.created_at) < $3`,
  ledger: `SELECT l.env, l.address, l.key FROM rsync.ledger l
            WHERE l.env = $1 AND l.address = ANY($2) AND l.updated_at < $3
              AND NOT EXISTS (SELECT 1 FROM rsync.dead_letters d
                               WHERE d.env = l.env AND d.address = l.address AND d.key = l.key AND d.status = 'open')`,
};

/** Delete one batch of `table`'s rows past `cutoff` for `addresses`; the number deleted (< limit: none left). */
export async function purgeBatch(
  db: Queryable,
  table: RetainedTable,
  env: string,
  addresses: string[],
  cutoff: Date,
  limit: number,
): Promise<number> {
  const pick = `${CANDIDATES[table]} LIMIT $4 FOR UPDATE SKIP LOCKED`;
  const sql =
    table === 'ledger'
      ? `DELETE FROM rsync.ledger t USING (${pick}) x WHERE t.env = x.env AND t.address = x.address AND t.key = x.key`
      : `DELETE FROM ${TABLE_NAME[table]} WHERE id IN (${pick})`;
  const r = await db.query(sql, [env, addresses, cutoff, limit]);
  return r.rowCount ?? 0;
}

/** How many of `table`'s rows past `cutoff` for `addresses` a purge would delete now (`--dry-run`). */
export async function countPurgeable(
  db: Queryable,
  table: RetainedTable,
  env: string,
  addresses: string[],
  cutoff: Date,
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${CANDIDATES[table]}) c`, [
    env,
    addresses,
    cutoff,
  ]);
  return rows[0].n;
}

/** The oldest row each table keeps for the environment (null: none), by the time its retention is counted from. */
export async function oldestKept(db: Queryable, env: string): Promise<Record<RetainedTable, Date | null>> {
  const { rows } = await db.query<Record<RetainedTable, Date | null>>(
    `SELECT (SELECT min(finished_at) FROM rsync.runs WHERE env = $1) AS "runs",
            (SELECT min(done_at) FROM rsync.deliveries WHERE env = $1 AND done_at IS NOT NULL) AS "deliveries",
            (SELECT min(created_at) FROM rsync.dead_letters WHERE env = $1) AS "deadLetters",
            (SELECT min(updated_at) FROM rsync.ledger WHERE env = $1) AS "ledger"`,
    [env],
  );
  return rows[0];
}
