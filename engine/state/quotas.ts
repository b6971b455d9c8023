/**
 * rsync.quota_usage: what was used of each daily quota, per environment, scope and UTC day (migration 022). A scope
 * is `records:<customer>` or `calls:<customer>/<connection>`; the day is the database's, in UTC, so every worker
 * counts into the same row whatever its own clock says, and a quota resets at 00:00 UTC without anyone resetting it.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** The database's current UTC day. */
const TODAY = `(now() AT TIME ZONE 'UTC')::date`;

export const recordsScope = (customer: string) => `records:${customer}`;
export const callsScope = (system: string) => `calls:${system}`;

/** Add `n` to today's use of a quota (in the caller's transaction, when it gives one); returns the new total. */
export async function addUsage(db: Queryable, env: string, scope: string, n: number): Promise<number> {
  const { rows } = await db.query<{ used: string }>(
    `INSERT INTO rsync.quota_usage (env, scope, day, used) VALUES ($1, $2, ${TODAY}, $3)
     ON CONFLICT (env, scope, day) DO UPDATE SET used = rsync.quota_usage.used + excluded.used
     RETURNING used`,
    [env, scope, n],
  );
  return Number(rows[0].used);
}

/** Today's use of each of `scopes` (every scope of the environment when none is given); absent: nothing used yet. */
export async function usageToday(db: Queryable, env: string, scopes?: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ scope: string; used: string }>(
    `SELECT scope, used FROM rsync.quota_usage WHERE env = $1 AND day = ${TODAY}${scopes ? ' AND scope = ANY($2)' : ''}`,
    scopes ? [env, scopes] : [env],
  );
  return new Map(rows.map((r) => [r.scope, Number(r.used)]));
}
