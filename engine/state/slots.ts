/**
 * rsync.slots: a cap on calls in flight to one system, shared by every worker on every machine (NetSuite's account
 * concurrency limit, Business Central's concurrent requests). Each of a cap's `limit` slots is a row; a caller takes
 * a free one (its lease expired) with FOR UPDATE SKIP LOCKED, so two callers never take the same slot, holds it with
 * a lease it renews while its call runs, and frees it when the call ends. A worker killed mid-call frees its slots
 * when their leases run out (LEASE_MS), which is why the lease is short and renewed rather than long.
 *
 * Slots past `limit` (a cap lowered in settings) are never taken again. A caller that finds every slot taken polls,
 * backing off from 20 ms to 500 ms: a cap is for calls of tens of milliseconds to seconds, and polling a primary-key
 * row is cheap.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { SharedSlots } from '../connectors/types.js';

/** How long a slot is held without renewal. */
export const LEASE_MS = 15_000;
const RENEW_MS = 5_000;
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 500;

const holderPrefix = randomUUID().slice(0, 8);
let holders = 0;

/** Take one free slot of `name` (a cap of `limit`), or null when all are taken. */
export async function takeSlot(
  db: Pick<pg.Pool, 'query'>,
  name: string,
  limit: number,
  holder: string,
  leaseMs = LEASE_MS,
): Promise<number | null> {
  const { rows } = await db.query<{ slot: number }>(
    `UPDATE rsync.slots s SET holder = $3, expires_at = clock_timestamp() + $4 * interval '1 millisecond'
      WHERE (s.name, s.slot) = (SELECT name, slot FROM rsync.slots
                                 WHERE name = $1 AND slot < $2 AND expires_at <= clock_timestamp()
                                 ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING s.slot`,
    [name, limit, holder, leaseMs],
  );
  return rows.length ? rows[0].slot : null;
}

/** The slots of a cap, created once (idempotent). */
export async function ensureSlots(db: Pick<pg.Pool, 'query'>, name: string, limit: number): Promise<void> {
  await db.query(
    `INSERT INTO rsync.slots (name, slot) SELECT $1, s FROM generate_series(0, $2::int - 1) AS s ON CONFLICT DO NOTHING`,
    [name, limit],
  );
}

/** Free a slot this holder has (a no-op when its lease ran out and another caller took it). */
export async function freeSlot(db: Pick<pg.Pool, 'query'>, name: string, slot: number, holder: string): Promise<void> {
  await db.query(
    `UPDATE rsync.slots SET holder = NULL, expires_at = '-infinity' WHERE name = $1 AND slot = $2 AND holder = $3`,
    [name, slot, holder],
  );
}

/** Extend a held slot's lease; false when it was lost (expired and taken by another caller). */
async function renewSlot(db: Pick<pg.Pool, 'query'>, name: string, slot: number, holder: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE rsync.slots SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
      WHERE name = $1 AND slot = $2 AND holder = $3`,
    [name, slot, holder, LEASE_MS],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Hold a slot just taken: its lease renewed until the returned release frees it (once). */
export function holdSlot(db: Pick<pg.Pool, 'query'>, name: string, slot: number, holder: string): () => Promise<void> {
  const timer = setInterval(() => void renewSlot(db, name, slot, holder).catch(() => {}), RENEW_MS);
  timer.unref();
  let freed = false;
  return async () => {
    if (freed) return;
    freed = true;
    clearInterval(timer);
    await freeSlot(db, name, slot, holder).catch(() => {});
  };
}

/** The caps of one connection, in the state database: `<customer>/<connection>:<key>`. */
export function slotsFor(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  runSignal?: AbortSignal,
): (key: string, limit: number) => SharedSlots {
  const made = new Map<string, Promise<void>>();
  return (key, limit) => {
    const name = `${system}:${key}`;
    return {
      async acquire(signal = runSignal) {
        let ready = made.get(`${name}#${limit}`);
        if (!ready) {
          ready = ensureSlots(db, name, limit);
          made.set(`${name}#${limit}`, ready);
          ready.catch(() => made.delete(`${name}#${limit}`));
        }
        await ready;
        const holder = `${holderPrefix}-${++holders}`;
        let backoff = POLL_MIN_MS;
        for (;;) {
          signal?.throwIfAborted();
          const slot = await takeSlot(db, name, limit, holder);
          if (slot !== null) return holdSlot(db, name, slot, holder);
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(POLL_MAX_MS, backoff * 2);
        }
      },
    };
  };
}
