/**
 * rsync.schedule_ticks: which minutes' schedules have been started, per environment. The tick job arrives about
 * once a minute on some worker; that worker claims every whole minute after the newest one claimed, up to `now`
 * (the database's clock, not its own), at most CATCH_UP of them — so a minute is started once however many workers
 * tick, a worker whose clock jumped back claims nothing, and minutes skipped by a forward jump (or a tick lost
 * while every worker was down) are caught up, the oldest past the bound given up with a note.
 */
import type pg from 'pg';

/** The most minutes one tick catches up (an hour). */
export const CATCH_UP = 60;

/**
 * Claim the minutes after the last claimed one up to `now`; the ones this caller claimed, oldest first, how many were
 * too old to claim, and `since`: the first minute after the last one claimed before (null on an environment's first
 * tick) — given only to the caller that claimed the oldest minute of the range, so one caller sees each gap.
 */
export async function claimMinutes(
  db: Pick<pg.Pool, 'query'>,
  env: string,
  now: Date,
): Promise<{ minutes: Date[]; skipped: number; since: Date | null }> {
  const current = Math.floor(now.getTime() / 60_000) * 60_000;
  const last = (
    await db.query<{ m: Date | null }>('SELECT max(minute) AS m FROM rsync.schedule_ticks WHERE env = $1', [env])
  ).rows[0].m;
  // The first tick of an environment starts only its own minute: nothing before it was ever due to rsync.
  const first = last ? last.getTime() + 60_000 : current;
  if (first > current) return { minutes: [], skipped: 0, since: null };
  const from = Math.max(first, current - (CATCH_UP - 1) * 60_000);
  const { rows } = await db.query<{ minute: Date }>(
    `INSERT INTO rsync.schedule_ticks (env, minute)
     SELECT $1, m FROM generate_series($2::timestamptz, $3::timestamptz, interval '1 minute') AS m
     ON CONFLICT DO NOTHING RETURNING minute`,
    [env, new Date(from), new Date(current)],
  );
  await db.query(`DELETE FROM rsync.schedule_ticks WHERE env = $1 AND minute < $2::timestamptz - interval '1 day'`, [
    env,
    new Date(current),
  ]);
  const minutes = rows.map((r) => r.minute).sort((a, b) => a.getTime() - b.getTime());
  return {
    minutes,
    skipped: (from - first) / 60_000,
    since: last && minutes[0]?.getTime() === from ? new Date(first) : null,
  };
}
