/**
 * rsync.sync_state: what the controller (gitops/controller.ts) knows of each environment — the newest commit of its
 * branch, the last commit it applied, and its verdict: synced at a commit, or out of sync with the commit that is not
 * applied and why. `rsync status` reads it. Only the controller holding the environment's controller claim writes it.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export interface SyncState {
  env: string;
  branch: string;
  /** The newest commit of the branch the controller saw. */
  seenCommit: string | null;
  /** The last commit the controller applied (or found already deployed). */
  appliedCommit: string | null;
  appliedAt: string | null;
  state: 'synced' | 'out-of-sync';
  /** Why the seen commit is not applied (out of sync only). */
  reason: string | null;
  /** Who acts for the environment: `rsync-controller@<host>`. */
  controller: string;
  checkedAt: string;
}

export async function readSyncState(db: Queryable, env: string): Promise<SyncState | undefined> {
  const { rows } = await db.query(
    `SELECT env, branch, seen_commit, applied_commit, applied_at, state, reason, controller, checked_at
       FROM rsync.sync_state WHERE env = $1`,
    [env],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    env: r.env,
    branch: r.branch,
    seenCommit: r.seen_commit,
    appliedCommit: r.applied_commit,
    appliedAt: r.applied_at ? (r.applied_at as Date).toISOString() : null,
    state: r.state,
    reason: r.reason,
    controller: r.controller,
    checkedAt: (r.checked_at as Date).toISOString(),
  };
}

/** Record what the controller saw; `applied` is set when this round applied the commit (or found it deployed). */
export async function writeSyncState(
  db: Queryable,
  s: {
    env: string;
    branch: string;
    seenCommit: string;
    state: SyncState['state'];
    reason?: string;
    controller: string;
    applied?: boolean;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO rsync.sync_state (env, branch, seen_commit, applied_commit, applied_at, state, reason, controller, checked_at)
     VALUES ($1, $2, $3, CASE WHEN $4 THEN $3 END, CASE WHEN $4 THEN now() END, $5, $6, $7, now())
     ON CONFLICT (env) DO UPDATE SET branch = excluded.branch, seen_commit = excluded.seen_commit,
       applied_commit = CASE WHEN $4 THEN excluded.seen_commit ELSE rsync.sync_state.applied_commit END,
       applied_at = CASE WHEN $4 THEN now() ELSE rsync.sync_state.applied_at END,
       state = excluded.state, reason = excluded.reason, controller = excluded.controller, checked_at = now()`,
    [s.env, s.branch, s.seenCommit, s.applied === true, s.state, s.reason ?? null, s.controller],
  );
}
