/**
 * Backfills: a time range of a flow re-synced in windows that workers run in parallel. A window is claimed on the
 * connection that commits its pages, so a killed worker frees it at once and the next claimant resumes from the
 * window's cursor. Per-flow concurrency: at most `concurrency` windows of a flow run at once, across all workers
 * (slot claims).
 */
import type pg from 'pg';
import { notifyWork } from '../live/notify.js';
import {
  type BackfillWindow,
  backfillProgress,
  closeFinishedBackfills,
  insertBackfill,
  openWindows,
  saveWindowPage,
  windowCursor,
} from '../state/backfills.js';
import { releaseClaim, tryClaim } from '../state/locks.js';
import { withClient, withTransaction } from '../state/tx.js';
import type { FlowDef } from './flows.js';
import { finish, pageSize, readableSource, runPages, type RuntimeContext } from './page-loop.js';
import { sleep, startRun } from './pipeline.js';

/** Cut [since, until) into windows of `windowMs`, record the backfill, and wake the workers. */
export async function createBackfill(
  db: pg.Pool,
  flow: FlowDef,
  since: Date,
  until: Date,
  windowMs: number,
  actor: string,
): Promise<{ id: number; windows: number }> {
  return withTransaction(db, async (tx) => {
    const out = await insertBackfill(tx, { env: flow.env, address: flow.address, since, until, windowMs, actor });
    await notifyWork(tx, flow.env, flow.address);
    return out;
  });
}

/** Work the open windows of the environment's backfills until none is left to claim; returns how many it ran. */
export async function runBackfills(
  rt: RuntimeContext,
  env: string,
  flows: (address: string) => FlowDef | undefined,
): Promise<number> {
  let worked = 0;
  await withClient(rt.db, async (client) => {
    for (;;) {
      if (rt.signal?.aborted || rt.stopping?.()) break;
      const claimed = await claimWindow(client, env, flows);
      if (!claimed) break;
      const { w, slotName, slot } = claimed;
      try {
        await runWindow(rt, client, flows(w.address)!, w);
        worked++;
      } finally {
        await releaseClaim(client, `window:${w.backfill}`, w.n);
        await releaseClaim(client, slotName, slot);
      }
    }
    await closeFinishedBackfills(client, env);
  });
  return worked;
}

/** Claim a slot of a window's flow, then the window; the first open window of a deployed flow that has both. */
async function claimWindow(
  client: pg.PoolClient,
  env: string,
  flows: (address: string) => FlowDef | undefined,
): Promise<{ w: BackfillWindow; slotName: string; slot: number } | undefined> {
  for (const w of await openWindows(client, env)) {
    const flow = flows(w.address);
    if (!flow) continue;
    const slotName = `flow:${env}/${w.address}`;
    let slot = -1;
    for (let s = 0; s < flow.concurrency; s++) {
      if (await tryClaim(client, slotName, s)) {
        slot = s;
        break;
      }
    }
    if (slot < 0) continue;
    if (await tryClaim(client, `window:${w.backfill}`, w.n)) return { w, slotName, slot };
    await releaseClaim(client, slotName, slot);
  }
  return undefined;
}

async function runWindow(rt: RuntimeContext, client: pg.PoolClient, flow: FlowDef, w: BackfillWindow): Promise<void> {
  const fresh = await windowCursor(client, w);
  if (!fresh) return;
  const run = await startRun(rt.db, flow, 'backfill', rt.worker);
  try {
    const source = readableSource(rt, flow);
    const read = (c: unknown) =>
      source.read!({
        stream: flow.source.stream,
        cursor: c,
        limit: pageSize(flow),
        since: w.since,
        until: w.until,
        signal: rt.signal,
      });
    await runPages(rt, client, run, read, fresh.cursor, (tx, page) =>
      saveWindowPage(tx, w, { cursor: page.cursor, read: page.records.length, last: !page.more }),
    );
    await finish(rt, run);
  } catch (e) {
    await finish(rt, run, e);
    if (!rt.signal?.aborted) throw e;
  }
}

/** Wait until every window of backfill `id` is done, reporting progress after each look. */
export async function awaitBackfill(
  db: Pick<pg.Pool, 'query'>,
  id: number,
  onProgress?: (p: { windows: number; done: number; read: number }) => void,
): Promise<{ windows: number; done: number; read: number }> {
  for (;;) {
    const p = await backfillProgress(db, id);
    onProgress?.(p);
    if (p.done === p.windows) return p;
    await sleep(500);
  }
}
