/**
 * The advisory locks of rsync, all session locks (PostgreSQL releases them itself when a process dies):
 *  - the apply lock: one apply per environment at a time, held by a dedicated session for the whole apply, with a
 *    row in rsync.locks saying who holds it and since when;
 *  - claims (`tryClaim`/`releaseClaim`): a flow's run lock, a backfill window, a flow's backfill slots and a
 *    webhook delivery, each held on the connection that commits the claimed work's pages.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';

export interface Lock {
  env: string;
  release(): Promise<void>;
}

function lockKey(env: string): string {
  return `rsync.apply.${env}`;
}

export async function acquireApplyLock(url: string, env: string, holder: string): Promise<Lock> {
  const client = new pg.Client({ connectionString: url, application_name: `rsync apply ${env}` });
  client.on('error', () => {});
  await client.connect();
  try {
    const got = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [lockKey(env)]);
    if (!got.rows[0].ok) {
      const { rows } = await client.query<{ holder: string; host: string; pid: number; since: Date }>(
        `SELECT l.holder, l.host, l.pid, l.since FROM rsync.locks l
           JOIN pg_stat_activity a ON a.pid = l.backend WHERE l.env = $1`,
        [env],
      );
      const h = rows[0];
      throw new RsyncError(
        h
          ? `Another apply to ${env} is running: ${h.holder} on ${h.host} (pid ${h.pid}) since ${h.since.toISOString()}.`
          : `Another apply to ${env} is running.`,
        ExitCode.REFUSED,
        'Wait for it to finish, then plan again: the deployed state will have moved.',
      );
    }
    await client.query(
      `INSERT INTO rsync.locks (env, holder, host, pid, since, backend) VALUES ($1, $2, $3, $4, now(), pg_backend_pid())
       ON CONFLICT (env) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, since = excluded.since, backend = excluded.backend`,
      [env, holder, os.hostname(), process.pid],
    );
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
  return {
    env,
    async release() {
      try {
        await client.query(`DELETE FROM rsync.locks WHERE env = $1 AND backend = pg_backend_pid()`, [env]);
        await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [lockKey(env)]);
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

/** Two 32-bit advisory lock keys for a name (and a slot of it: a flow's backfill slots, a window's number). */
export function lockKeys(name: string, slot = 0): [number, number] {
  const h = createHash('sha256').update(name).digest();
  return [h.readInt32BE(0), (h.readInt32BE(4) ^ slot) | 0];
}

/** Claim `name` (and `slot`) for this session; false when another session holds it. */
export async function tryClaim(client: Pick<pg.PoolClient, 'query'>, name: string, slot = 0): Promise<boolean> {
  const [a, b] = lockKeys(name, slot);
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [a, b]);
  return rows[0].ok;
}

export async function releaseClaim(client: Pick<pg.PoolClient, 'query'>, name: string, slot = 0): Promise<void> {
  const [a, b] = lockKeys(name, slot);
  await client.query('SELECT pg_advisory_unlock($1, $2)', [a, b]).catch(() => {});
}

/**
 * Claim up to `max` of the slots of `name` in one round trip, in the order given; returns the slots claimed. The
 * claims beyond `max` that the statement took are released at once.
 */
export async function tryClaims(
  client: Pick<pg.PoolClient, 'query'>,
  name: string,
  slots: number[],
  max: number,
): Promise<number[]> {
  if (!slots.length) return [];
  const [a] = lockKeys(name);
  const { rows } = await client.query<{ s: number }>(
    `SELECT u.s FROM unnest($2::int[], $3::bigint[]) WITH ORDINALITY AS u(b, s, n)
      WHERE pg_try_advisory_lock($1, u.b) ORDER BY u.n`,
    [a, slots.map((s) => lockKeys(name, s)[1]), slots],
  );
  const got = rows.map((r) => Number(r.s));
  await releaseClaims(client, name, got.slice(max));
  return got.slice(0, max);
}

export async function releaseClaims(
  client: Pick<pg.PoolClient, 'query'>,
  name: string,
  slots: number[],
): Promise<void> {
  if (!slots.length) return;
  const [a] = lockKeys(name);
  await client
    .query('SELECT pg_advisory_unlock($1, b) FROM unnest($2::int[]) AS u(b)', [
      a,
      slots.map((s) => lockKeys(name, s)[1]),
    ])
    .catch(() => {});
}
