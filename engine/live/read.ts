/** Reading the live pg-boss objects of an environment: what plan compares with the layout, and apply heals. */
import type pg from 'pg';
import { type LiveState, QUEUE_PREFIX } from './layout.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** The environment's rsync queues and schedules as pg-boss has them (empty when pg-boss is not installed yet). */
export async function readLive(db: Queryable, env: string): Promise<LiveState> {
  const exists = await db.query(
    `SELECT to_regclass('pgboss.queue') IS NOT NULL AS q, to_regclass('pgboss.schedule') IS NOT NULL AS s`,
  );
  const prefix = `${QUEUE_PREFIX}${env}.%`;
  const queues = exists.rows[0].q
    ? (
        await db.query(
          `SELECT name, retry_limit AS "retryLimit", retry_delay AS "retryDelay", retry_backoff AS "retryBackoff",
                  expire_seconds AS "expireInSeconds", dead_letter AS "deadLetter"
             FROM pgboss.queue WHERE name LIKE $1`,
          [prefix],
        )
      ).rows
    : [];
  const schedules = exists.rows[0].s
    ? (await db.query(`SELECT name, cron, timezone FROM pgboss.schedule WHERE name LIKE $1`, [prefix])).rows
    : [];
  return { queues, schedules };
}

/**
 * The environment's jobs not finished yet, by queue and state (created, retry, active): the queue depth `/metrics`
 * shows. pg-boss keeps a partition per queue, so this counts a few small tables.
 */
export async function queuedJobs(db: Queryable, env: string): Promise<{ queue: string; state: string; n: number }[]> {
  const exists = await db.query(`SELECT to_regclass('pgboss.job') IS NOT NULL AS j`);
  if (!exists.rows[0].j) return [];
  const { rows } = await db.query<{ queue: string; state: string; n: number }>(
    `SELECT name AS queue, state::text AS state, count(*)::float8 AS n FROM pgboss.job
      WHERE name LIKE $1 AND state IN ('created', 'retry', 'active') GROUP BY 1, 2`,
    [`${QUEUE_PREFIX}${env}.%`],
  );
  return rows;
}
