/** Reading deployed state: the resources applied to an environment, mapping texts, and the live pg-boss objects. */
import type pg from 'pg';
import type { DeployedRow, LiveState } from '../plan/plan.js';
import { QUEUE_PREFIX } from '../live/layout.js';

type Queryable = Pick<pg.Pool, 'query'>;

export async function readDeployed(db: Queryable, env: string): Promise<DeployedRow[]> {
  const { rows } = await db.query(
    `SELECT address, customer, kind, name, revision, content_hash AS hash, spec, template
       FROM rsync.resources WHERE env = $1 ORDER BY address`,
    [env],
  );
  return rows as DeployedRow[];
}

/**
 * Deployed resources without their full specs: what a plan from the desired-state cache needs (hashes for
 * pairing, and of a flow only what decides its queue and schedule, for drift).
 */
export async function readDeployedSummary(db: Queryable, env: string): Promise<DeployedRow[]> {
  const { rows } = await db.query(
    `SELECT address, customer, kind, name, revision, content_hash AS hash, template,
            CASE WHEN kind = 'flow'
                 THEN jsonb_build_object('effective', spec->'effective', 'spec', jsonb_build_object('enabled', spec->'spec'->'enabled'))
                 ELSE '{}'::jsonb END AS spec
       FROM rsync.resources WHERE env = $1 ORDER BY address`,
    [env],
  );
  return rows as DeployedRow[];
}

export async function readBlobs(db: Queryable, shas: Iterable<string>): Promise<Map<string, string>> {
  const list = [...new Set(shas)];
  if (!list.length) return new Map();
  const { rows } = await db.query<{ sha256: string; text: string }>(
    `SELECT sha256, text FROM rsync.blobs WHERE sha256 = ANY($1)`,
    [list],
  );
  return new Map(rows.map((r) => [r.sha256, r.text]));
}

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
