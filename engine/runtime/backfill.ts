/**
 * Backfills: a time range of a flow re-synced in windows that workers run in parallel. A window is claimed on the
 * connection that commits its pages, so a killed worker frees it at once and the next claimant resumes from the
 * window's cursor. Per-flow concurrency: at most `concurrency` windows of a flow run at once, across all workers
 * (slot claims).
 */
import type pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
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
import { formatDuration } from '../util/duration.js';
import type { FlowDef } from './flows.js';
import { finish, pageSize, readableSource, runEndFields, runLine, runPages, type RuntimeContext } from './page-loop.js';
import { sleep, startRun } from './pipeline.js';

/** The most windows one backfill is cut into (each is a row, a claim and a run). */
export const MAX_BACKFILL_WINDOWS = 10_000;

/** The smallest window: 1 s. */
export const MIN_BACKFILL_WINDOW_MS = 1000;

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** The shortest window, in one whole unit (9s, 53m, 4h, 10d), that cuts `spanMs` into at most MAX_BACKFILL_WINDOWS. */
function smallestWindow(spanMs: number): string {
  const least = Math.max(MIN_BACKFILL_WINDOW_MS, Math.ceil(spanMs / MAX_BACKFILL_WINDOWS));
  const [unit, size] = UNITS.find(([, size]) => least >= size) ?? UNITS[UNITS.length - 1];
  return `${Math.ceil(least / size)}${unit}`;
}

/**
 * How many windows of `windowMs` cut [since, until). A window under 1 s, or more than MAX_BACKFILL_WINDOWS of them
 * (`--window 1ms` over a day is 86,400,000 runs), is a usage error that names the window that fits.
 */
export function backfillWindows(since: Date, until: Date, windowMs: number): number {
  const spanMs = until.getTime() - since.getTime();
  if (!(windowMs >= MIN_BACKFILL_WINDOW_MS))
    throw new RsyncError(
      `A backfill window of ${formatDuration(windowMs)} is too small: the smallest is ${formatDuration(MIN_BACKFILL_WINDOW_MS)}.`,
      ExitCode.USAGE,
      `Give --window ${smallestWindow(spanMs)} or more (the default, 1d, suits most backfills).`,
    );
  const n = Math.ceil(spanMs / windowMs);
  if (n > MAX_BACKFILL_WINDOWS)
    throw new RsyncError(
      `A backfill window of ${formatDuration(windowMs)} cuts the ${formatDuration(spanMs)} from ${since.toISOString()} to ${until.toISOString()} into ${n.toLocaleString('en-US')} windows; a backfill has at most ${MAX_BACKFILL_WINDOWS.toLocaleString('en-US')}.`,
      ExitCode.USAGE,
      `Give --window ${smallestWindow(spanMs)} or more, or a shorter range (--since, --until).`,
    );
  return n;
}

/** Cut [since, until) into windows of `windowMs`, record the backfill, and wake the workers. */
export async function createBackfill(
  db: pg.Pool,
  flow: FlowDef,
  since: Date,
  until: Date,
  windowMs: number,
  actor: string,
): Promise<{ id: number; windows: number }> {
  backfillWindows(since, until, windowMs);
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
  admit: Admit = async () => async () => {},
): Promise<number> {
  let worked = 0;
  await withClient(rt.db, async (client) => {
    for (;;) {
      if (rt.signal?.aborted || rt.stopping?.()) break;
      const claimed = await claimWindow(client, env, flows, admit);
      if (!claimed) break;
      const { w, slotName, slot, release } = claimed;
      try {
        await runWindow(rt, client, flows(w.address)!, w);
        worked++;
      } finally {
        await releaseClaim(client, `window:${w.backfill}`, w.n);
        await releaseClaim(client, slotName, slot);
        await release();
      }
    }
    await closeFinishedBackfills(client, env);
  });
  return worked;
}

/**
 * Whether a window of `flow` may start now (the worker's fair share: its customer's concurrency and quotas,
 * runtime/fairshare.ts): the release of what it took, or null to pass the window over.
 */
export type Admit = (flow: FlowDef) => Promise<(() => Promise<void>) | null>;

/**
 * Admitted (`admit`), claim a slot of a window's flow, then the window; the first open window of a deployed flow
 * that has all three.
 */
async function claimWindow(
  client: pg.PoolClient,
  env: string,
  flows: (address: string) => FlowDef | undefined,
  admit: Admit,
): Promise<{ w: BackfillWindow; slotName: string; slot: number; release: () => Promise<void> } | undefined> {
  const admitted = new Map<string, (() => Promise<void>) | null>();
  try {
    for (const w of await openWindows(client, env)) {
      const flow = flows(w.address);
      if (!flow) continue;
      if (!admitted.has(w.address)) admitted.set(w.address, await admit(flow));
      const release = admitted.get(w.address);
      if (!release) continue;
      const got = await claimFlowWindow(client, env, flow, w);
      if (!got) continue;
      admitted.delete(w.address);
      return { ...got, release };
    }
    return undefined;
  } finally {
    for (const release of admitted.values()) await release?.();
  }
}

/** A slot of the window's flow (its `concurrency`, across workers), then the window itself. */
async function claimFlowWindow(
  client: pg.PoolClient,
  env: string,
  flow: FlowDef,
  w: BackfillWindow,
): Promise<{ w: BackfillWindow; slotName: string; slot: number } | undefined> {
  const slotName = `flow:${env}/${w.address}`;
  let slot = -1;
  for (let s = 0; s < flow.concurrency; s++) {
    if (await tryClaim(client, slotName, s)) {
      slot = s;
      break;
    }
  }
  if (slot < 0) return undefined;
  if (await tryClaim(client, `window:${w.backfill}`, w.n)) return { w, slotName, slot };
  await releaseClaim(client, slotName, slot);
  return undefined;
}

async function runWindow(rt: RuntimeContext, client: pg.PoolClient, flow: FlowDef, w: BackfillWindow): Promise<void> {
  const fresh = await windowCursor(client, w);
  if (!fresh) return;
  const run = await startRun(rt.db, flow, 'backfill', rt.worker);
  try {
    const source = readableSource(rt, flow);
    const read = async (c: unknown) => {
      await rt.backfillYield?.(flow);
      return source.read!({
        stream: flow.source.stream,
        cursor: c,
        limit: pageSize(flow),
        since: w.since,
        until: w.until,
        signal: rt.signal,
      });
    };
    await runPages(
      rt,
      client,
      run,
      read,
      fresh.cursor,
      (tx, page) => saveWindowPage(tx, w, { cursor: page.cursor, read: page.records.length, last: !page.more }),
      { beforePage: rt.backfillYield && (() => rt.backfillYield!(flow)) },
    );
    const r = await finish(rt, run);
    rt.log?.(`${runLine(flow, r)} (backfill window ${w.n})`, runEndFields(flow, r));
  } catch (e) {
    const r = await finish(rt, run, e);
    rt.log?.(`${runLine(flow, r)} (backfill window ${w.n})`, runEndFields(flow, r));
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
    if (p.done === p.windows) {
      // A window is done with its last page's transaction; its run is closed just after, in another: wait for that,
      // so that whoever waited reads the runs as finished (rsync backfill --wait, then rsync runs).
      for (let t = 0; t < 60 && (await runningBackfillRuns(db, id)) > 0; t++) await sleep(250);
      return p;
    }
    await sleep(500);
  }
}

async function runningBackfillRuns(db: Pick<pg.Pool, 'query'>, id: number): Promise<number> {
  const r = await db.query(
    `SELECT count(*)::int AS n FROM rsync.runs r JOIN rsync.backfills b ON b.env = r.env AND b.address = r.address
      WHERE b.id = $1 AND r.trigger = 'backfill' AND r.status = 'running' AND r.started_at >= b.created_at`,
    [id],
  );
  return r.rows[0].n;
}
