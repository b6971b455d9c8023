/**
 * The `rsync_work` channel: how a process that made work (a webhook delivery, a run request, a backfill, an apply)
 * wakes the environment's workers at once instead of at their next poll. This module owns the channel's name and
 * its payload, `<env> <what>`: `what` is a flow's address (new work for it) or APPLIED (reload the flows).
 * A notification is a hint, never the work itself: workers also poll, so one that is lost costs latency only.
 */
import type pg from 'pg';

const CHANNEL = 'rsync_work';

/** The `what` of an apply's notification: workers reload their flows. */
export const APPLIED = '*applied*';

/**
 * Tell the environment's workers about new work. Inside a transaction it is delivered when that commits (so a
 * worker never wakes before the work is visible), on a pool at once.
 */
export async function notifyWork(db: Pick<pg.Pool, 'query'>, env: string, what: string): Promise<void> {
  await db.query(`SELECT pg_notify('${CHANNEL}', $1)`, [`${env} ${what}`]);
}

/**
 * Listen on `client` (a connection of its own, held as long as the listener lives) for the environment's work:
 * `onWork` gets the `what` of each notification for `env` (the empty string for one without a payload).
 */
export async function listenForWork(client: pg.Client, env: string, onWork: (what: string) => void): Promise<void> {
  client.on('notification', (n) => {
    if (n.channel !== CHANNEL) return;
    if (!n.payload) return onWork('');
    if (n.payload.startsWith(`${env} `)) onWork(n.payload.slice(env.length + 1));
  });
  await client.query(`LISTEN ${CHANNEL}`);
}
