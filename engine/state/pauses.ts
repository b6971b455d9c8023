/**
 * rsync.flow_pauses: which flows are paused (`rsync pause`), by whom, since when and why. Workers read it before a
 * run starts (the row is the truth; the NOTIFY that pause and resume send only wakes them early), and an apply
 * never touches it, so a pause outlives every apply of its flow. Each pause and resume is an apply-log entry.
 */
import type pg from 'pg';
import { appendLog } from './apply-log.js';
import { withTransaction } from './tx.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface Pause {
  address: string;
  reason: string | null;
  by: string;
  since: string;
}

/** The paused flows of an environment, by address (of those given, or all). */
export async function pausedFlows(db: Queryable, env: string, addresses?: string[]): Promise<Map<string, Pause>> {
  const { rows } = await db.query<{ address: string; reason: string | null; paused_by: string; paused_at: Date }>(
    `SELECT address, reason, paused_by, paused_at FROM rsync.flow_pauses
      WHERE env = $1 AND ($2::text[] IS NULL OR address = ANY($2))`,
    [env, addresses ?? null],
  );
  return new Map(
    rows.map((r) => [
      r.address,
      { address: r.address, reason: r.reason, by: r.paused_by, since: r.paused_at.toISOString() },
    ]),
  );
}

/** Whether one flow is paused (what a worker asks just before it starts a run). */
export async function isPaused(db: Queryable, env: string, address: string): Promise<Pause | undefined> {
  return (await pausedFlows(db, env, [address])).get(address);
}

/**
 * Pause (`pause: true`) or resume a flow, with its apply-log entry, in one transaction; `onCommit` runs inside it
 * (the NOTIFY to the workers, delivered when it commits). False when nothing changed: the flow was already paused
 * (its reason is then updated, not logged again) or was not paused.
 */
export async function setPaused(
  pool: pg.Pool,
  o: { env: string; address: string; actor: string; reason?: string; pause: boolean },
  onCommit: (tx: pg.PoolClient) => Promise<void>,
): Promise<{ changed: boolean; entry?: number }> {
  return withTransaction(pool, async (tx) => {
    const changed = o.pause
      ? (
          await tx.query(
            `INSERT INTO rsync.flow_pauses (env, address, reason, paused_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (env, address) DO UPDATE SET reason = COALESCE(excluded.reason, rsync.flow_pauses.reason)
             RETURNING (xmax = 0) AS fresh`,
            [o.env, o.address, o.reason ?? null, o.actor],
          )
        ).rows[0].fresh === true
      : ((await tx.query(`DELETE FROM rsync.flow_pauses WHERE env = $1 AND address = $2`, [o.env, o.address]))
          .rowCount ?? 0) > 0;
    if (!changed) return { changed };
    const entry = await appendLog(tx, {
      env: o.env,
      action: o.pause ? 'pause' : 'resume',
      actor: o.actor,
      detail: { flow: o.address, ...(o.reason ? { reason: o.reason } : {}) },
    });
    await onCommit(tx);
    return { changed, entry: entry.n };
  });
}
