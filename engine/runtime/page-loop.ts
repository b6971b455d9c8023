/**
 * The kinds of run, each feeding pages to the pipeline from its own source of records:
 *  - incremental (schedule, manual): the source from the flow's persisted cursor, one run of a flow at a time
 *    (a session advisory lock: a killed worker's lock goes with its connection);
 *  - event: the flow's pending webhook deliveries, claimed with FOR UPDATE SKIP LOCKED, so several workers share
 *    them without taking one twice;
 *  - backfill: the windows of a backfill, each claimed by an advisory lock and resumed from its own cursor;
 *  - replay: dead letters, on the revision asked for.
 */
import type pg from 'pg';
import { hostname } from 'node:os';
import { openConnector } from '../connectors/registry.js';
import { redact } from '../connectors/secrets.js';
import { ConnectorError, type OpenConnector, type Page } from '../connectors/types.js';
import { closePostgresPools } from '../connectors/postgres.js';
import { notifyWork } from '../live/notify.js';
import { releaseClaim, tryClaim } from '../state/locks.js';
import { withTransaction } from '../state/tx.js';
import { isObject } from '../util/merge.js';
import type { FlowDef } from './flows.js';
import type { Mapper } from './mapping/mapper.js';
import type { MapOutcome } from './mapping/map-records.js';
import {
  backoffMs,
  finishRun,
  mapTask,
  processPage,
  runLog,
  sleep,
  startRun,
  zeroCounts,
  type Counts,
  type PipelineContext,
  type RunHandle,
} from './pipeline.js';
import { throttleFor } from '../state/rate-limits.js';

export interface RuntimeContext {
  db: pg.Pool;
  mapper: Mapper;
  worker: string;
  sandbox: boolean;
  signal?: AbortSignal;
  /** True once the worker drains: claim no new windows or deliveries, finish what is claimed. */
  stopping?: () => boolean;
  log?: (line: string) => void;
  /** Pages per run before it yields (an incremental run continues on its next trigger). */
  maxPages?: number;
  /** Called after each committed page (progress). */
  onPage?: (flow: FlowDef, counts: Counts) => void;
}

export interface RunResult {
  run: number | null;
  status: 'succeeded' | 'failed' | 'interrupted' | 'skipped';
  counts: Counts;
  reason?: string;
}

const connectors = new Map<string, OpenConnector>();

/** The open connector of a flow's source or target connection (shared per worker, by settings). */
export function connectorFor(rt: RuntimeContext, c: FlowDef['source'] | FlowDef['target']): OpenConnector {
  const id = `${rt.sandbox ? 'sandbox:' : ''}${c.system}:${c.type}:${JSON.stringify(c.settings)}`;
  let open = connectors.get(id);
  if (!open) {
    const rate =
      isObject(c.settings.rateLimit) && typeof c.settings.rateLimit.perSecond === 'number'
        ? c.settings.rateLimit.perSecond
        : undefined;
    open = openConnector({
      system: c.system,
      type: c.type,
      settings: c.settings,
      state: rt.db,
      sandbox: rt.sandbox,
      throttle: rate && !rt.sandbox ? throttleFor(rt.db, c.system, rate, rt.signal) : undefined,
    });
    connectors.set(id, open);
  }
  return open;
}

/**
 * Close every connector this process opened, and forget them: a stopping worker's connections go with it, and a
 * worker started later in the same process opens its own (a cached postgres connector kept a pool that the first
 * worker's stop had ended, and every read of the second failed with "Cannot use a pool after calling end").
 */
export async function closeConnectors(): Promise<void> {
  const all = [...connectors.values()];
  connectors.clear();
  await Promise.all(all.map((c) => c.close?.().catch(() => {})));
  await closePostgresPools();
}

function pipeline(rt: RuntimeContext, flow: FlowDef): PipelineContext {
  return { db: rt.db, mapper: rt.mapper, target: connectorFor(rt, flow.target), signal: rt.signal, log: rt.log };
}

/** Read a page, retrying transient failures as the flow's policy says (each wait in the run's log). */
async function readPage(rt: RuntimeContext, flow: FlowDef, run: RunHandle, read: () => Promise<Page>): Promise<Page> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (e) {
      const err = e instanceof ConnectorError ? e : new ConnectorError((e as Error).message ?? String(e), true);
      if (!err.transient || attempt > flow.retry.limit || rt.signal?.aborted) throw err;
      const wait = backoffMs(flow, attempt, err.retryAfterMs);
      await runLog(
        rt.db,
        run,
        { event: 'backoff', stage: 'read', attempt, waitMs: wait, reason: redact(err.message) },
        true,
      );
      rt.log?.(
        `  ${flow.address}: read failed (${redact(err.message)}); retry ${attempt}/${flow.retry.limit} in ${(wait / 1000).toFixed(1)} s`,
      );
      await sleep(wait, rt.signal);
    }
  }
}

/**
 * The pages of a source from `cursor`, each with its records already handed to the mapping threads, reading and
 * mapping the next page while the caller writes the current one: reads, mapping and writes overlap instead of
 * taking turns. Pages still commit one after the other, in order, so a crash loses nothing but the read-ahead.
 * A source whose page must be committed before the next is read (a file drop's `commit`) is not read ahead.
 */
async function* pagesAhead(
  rt: RuntimeContext,
  flow: FlowDef,
  run: RunHandle,
  read: (cursor: unknown) => Promise<Page>,
  cursor: unknown,
): AsyncGenerator<{ page: Page; outcomes: Promise<MapOutcome[]> }> {
  const fetch = (c: unknown): Promise<{ page: Page; outcomes: Promise<MapOutcome[]> }> => {
    const p = readPage(rt, flow, run, () => read(c)).then((page) => {
      const outcomes = page.records.length
        ? rt.mapper.map(mapTask(flow, page.records, page.json))
        : Promise.resolve([]);
      outcomes.catch(() => {}); // awaited by the caller; a page it never reaches must not be an unhandled rejection
      return { page, outcomes };
    });
    p.catch(() => {});
    return p;
  };
  let next: Promise<{ page: Page; outcomes: Promise<MapOutcome[]> }> | null = fetch(cursor);
  for (;;) {
    const ahead: { page: Page; outcomes: Promise<MapOutcome[]> } = await next!;
    const { page, outcomes } = ahead;
    next = page.more && !page.commit ? fetch(page.cursor) : null;
    yield { page, outcomes };
    if (!page.more) return;
    next ??= fetch(page.cursor);
  }
}

async function finish(rt: RuntimeContext, run: RunHandle, e?: unknown): Promise<RunResult> {
  if (e === undefined) {
    await finishRun(rt.db, run, 'succeeded');
    return { run: run.id, status: 'succeeded', counts: run.counts };
  }
  const aborted = rt.signal?.aborted;
  const message = (e as Error).message ?? String(e);
  await finishRun(
    rt.db,
    run,
    aborted ? 'interrupted' : 'failed',
    aborted ? 'the worker stopped before the run ended' : message,
  ).catch(() => {});
  return { run: run.id, status: aborted ? 'interrupted' : 'failed', counts: run.counts, reason: redact(message) };
}

// ------------------------------------------------------------------------------------------ incremental

export async function runIncremental(
  rt: RuntimeContext,
  flow: FlowDef,
  trigger: 'schedule' | 'manual',
): Promise<RunResult> {
  const client = await rt.db.connect();
  const lock = `cursor:${flow.env}/${flow.address}`;
  try {
    if (!(await tryClaim(client, lock)))
      return { run: null, status: 'skipped', counts: zeroCounts(), reason: 'another run of this flow is in progress' };
    const run = await startRun(rt.db, flow, trigger, rt.worker);
    try {
      const source = connectorFor(rt, flow.source);
      if (!source.read)
        throw new ConnectorError(`connection ${flow.source.name} (${flow.source.type}) cannot be read`, false);
      const ctx = pipeline(rt, flow);
      const cursor =
        (
          await rt.db.query(`SELECT cursor FROM rsync.cursors WHERE env = $1 AND address = $2`, [
            flow.env,
            flow.address,
          ])
        ).rows[0]?.cursor ?? null;
      let pages = 0;
      const read = (c: unknown) =>
        source.read!({ stream: flow.source.stream, cursor: c, limit: pageSize(flow), signal: rt.signal });
      for await (const { page, outcomes } of pagesAhead(rt, flow, run, read, cursor)) {
        if (rt.signal?.aborted) throw new Error('aborted');
        const mapped = await outcomes;
        await withTransaction(client, async () => {
          if (page.records.length)
            await processPage(ctx, run, client, { records: page.records, json: page.json, outcomes: mapped });
          await client.query(
            `INSERT INTO rsync.cursors (env, address, cursor) VALUES ($1, $2, $3)
             ON CONFLICT (env, address) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`,
            [flow.env, flow.address, JSON.stringify(page.cursor)],
          );
        });
        await page.commit?.();
        rt.onPage?.(flow, run.counts);
        if (++pages >= (rt.maxPages ?? 1000)) break;
      }
      return await finish(rt, run);
    } catch (e) {
      return await finish(rt, run, e);
    }
  } finally {
    await releaseClaim(client, lock);
    client.release();
  }
}

function pageSize(flow: FlowDef): number {
  return Math.max(flow.batchSize, 500);
}

// ------------------------------------------------------------------------------------------ events

/** Work the flow's pending deliveries until none is left (other workers take other ones meanwhile). */
export async function runEvents(rt: RuntimeContext, flow: FlowDef): Promise<RunResult> {
  const client = await rt.db.connect();
  let run: RunHandle | undefined;
  try {
    const ctx = pipeline(rt, flow);
    for (;;) {
      if (rt.signal?.aborted || rt.stopping?.()) break;
      const more = await withTransaction(client, async () => {
        const { rows } = await client.query<{ id: string; records: unknown[] }>(
          `SELECT id, records FROM rsync.deliveries WHERE env = $1 AND address = $2 AND done_at IS NULL
            ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [flow.env, flow.address, flow.batchSize],
        );
        if (!rows.length) return false;
        run ??= await startRun(rt.db, flow, 'event', rt.worker);
        const records = rows.flatMap((r) => r.records);
        await processPage(ctx, run, client, { records });
        // The payload is not kept once delivered (it may hold personal data); the id stays for de-duplication.
        await client.query(`UPDATE rsync.deliveries SET done_at = now(), records = '[]' WHERE id = ANY($1)`, [
          rows.map((r) => r.id),
        ]);
        return true;
      });
      if (run) rt.onPage?.(flow, run.counts);
      if (!more) break;
    }
    return run
      ? await finish(rt, run)
      : { run: null, status: 'skipped', counts: zeroCounts(), reason: 'no pending deliveries' };
  } catch (e) {
    if (run) return await finish(rt, run, e);
    throw e;
  } finally {
    client.release();
  }
}

/** Record a verified webhook delivery once (by its delivery id); false when it was a duplicate. */
export async function recordDelivery(
  db: Pick<pg.Pool, 'query'>,
  flow: FlowDef,
  deliveryId: string,
  topic: string | undefined,
  records: unknown[],
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO rsync.deliveries (env, address, delivery_id, topic, records) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (env, address, delivery_id) DO NOTHING`,
    [flow.env, flow.address, deliveryId, topic ?? null, JSON.stringify(records)],
  );
  if (rowCount) await notifyWork(db, flow.env, flow.address);
  return (rowCount ?? 0) > 0;
}

// ------------------------------------------------------------------------------------------ backfill

export interface BackfillWindow {
  backfill: number;
  n: number;
  since: string;
  until: string;
  cursor: unknown;
}

/** Cut [since, until) into windows of `windowMs` and record the backfill. */
export async function createBackfill(
  db: pg.Pool,
  flow: FlowDef,
  since: Date,
  until: Date,
  windowMs: number,
  actor: string,
): Promise<{ id: number; windows: number }> {
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO rsync.backfills (env, address, since, until, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [flow.env, flow.address, since.toISOString(), until.toISOString(), actor],
    );
    const id = Number(rows[0].id);
    const starts: string[] = [];
    const ends: string[] = [];
    for (let t = since.getTime(); t < until.getTime(); t += windowMs) {
      starts.push(new Date(t).toISOString());
      ends.push(new Date(Math.min(t + windowMs, until.getTime())).toISOString());
    }
    await client.query(
      `INSERT INTO rsync.backfill_windows (backfill_id, n, since, until)
         SELECT $1, n, s, u FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS x(s, u, n)`,
      [id, starts, ends],
    );
    await notifyWork(client, flow.env, flow.address);
    return { id, windows: starts.length };
  });
}

/**
 * Work the open windows of the environment's backfills until none is left to claim. A window is claimed by a
 * session advisory lock on the connection that commits its pages, so a killed worker frees it at once and the
 * next claimant resumes from the window's cursor. Per-flow concurrency: at most `concurrency` windows of a flow
 * run at once, across all workers (slot locks).
 */
export async function runBackfills(
  rt: RuntimeContext,
  env: string,
  flows: (address: string) => FlowDef | undefined,
): Promise<number> {
  const client = await rt.db.connect();
  let worked = 0;
  try {
    for (;;) {
      if (rt.signal?.aborted || rt.stopping?.()) break;
      const { rows } = await client.query<{
        backfill_id: string;
        n: number;
        address: string;
        since: Date;
        until: Date;
        cursor: unknown;
        revision: number | null;
      }>(
        `SELECT w.backfill_id, w.n, b.address, w.since, w.until, w.cursor, b.revision
           FROM rsync.backfill_windows w JOIN rsync.backfills b ON b.id = w.backfill_id
          WHERE b.env = $1 AND w.done_at IS NULL ORDER BY w.backfill_id, w.n LIMIT 200`,
        [env],
      );
      let claimed: (typeof rows)[number] | undefined;
      let slotName = '';
      let slot = -1;
      for (const w of rows) {
        const flow = flows(w.address);
        if (!flow) continue;
        slotName = `flow:${env}/${w.address}`;
        slot = -1;
        for (let s = 0; s < flow.concurrency; s++) {
          if (await tryClaim(client, slotName, s)) {
            slot = s;
            break;
          }
        }
        if (slot < 0) continue;
        if (await tryClaim(client, `window:${w.backfill_id}`, w.n)) {
          claimed = w;
          break;
        }
        await releaseClaim(client, slotName, slot);
      }
      if (!claimed) break;
      try {
        const flow = flows(claimed.address)!;
        await runWindow(rt, client, flow, {
          backfill: Number(claimed.backfill_id),
          n: claimed.n,
          since: claimed.since.toISOString(),
          until: claimed.until.toISOString(),
          cursor: claimed.cursor,
        });
        worked++;
      } finally {
        await releaseClaim(client, `window:${claimed.backfill_id}`, claimed.n);
        await releaseClaim(client, slotName, slot);
      }
    }
    await client.query(
      `UPDATE rsync.backfills b SET done_at = now() WHERE env = $1 AND done_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM rsync.backfill_windows w WHERE w.backfill_id = b.id AND w.done_at IS NULL)`,
      [env],
    );
  } finally {
    client.release();
  }
  return worked;
}

async function runWindow(rt: RuntimeContext, client: pg.PoolClient, flow: FlowDef, w: BackfillWindow): Promise<void> {
  // The window may have been finished by the previous holder just before we claimed it.
  const fresh = await client.query(
    `SELECT cursor, done_at FROM rsync.backfill_windows WHERE backfill_id = $1 AND n = $2`,
    [w.backfill, w.n],
  );
  if (fresh.rows[0]?.done_at) return;
  const cursor = fresh.rows[0]?.cursor ?? null;
  const run = await startRun(rt.db, flow, 'backfill', rt.worker);
  try {
    const source = connectorFor(rt, flow.source);
    if (!source.read)
      throw new ConnectorError(`connection ${flow.source.name} (${flow.source.type}) cannot be read`, false);
    const ctx = pipeline(rt, flow);
    const read = (c: unknown) =>
      source.read!({
        stream: flow.source.stream,
        cursor: c,
        limit: pageSize(flow),
        since: w.since,
        until: w.until,
        signal: rt.signal,
      });
    for await (const { page, outcomes } of pagesAhead(rt, flow, run, read, cursor)) {
      if (rt.signal?.aborted) throw new Error('aborted');
      const mapped = await outcomes;
      await withTransaction(client, async () => {
        if (page.records.length)
          await processPage(ctx, run, client, { records: page.records, json: page.json, outcomes: mapped });
        await client.query(
          `UPDATE rsync.backfill_windows SET cursor = $3, read = read + $4, done_at = CASE WHEN $5 THEN now() END
            WHERE backfill_id = $1 AND n = $2`,
          [w.backfill, w.n, JSON.stringify(page.cursor), page.records.length, !page.more],
        );
      });
      await page.commit?.();
      rt.onPage?.(flow, run.counts);
    }
    await finish(rt, run);
  } catch (e) {
    await finish(rt, run, e);
    if (!rt.signal?.aborted) throw e;
  }
}

export async function backfillProgress(
  db: Pick<pg.Pool, 'query'>,
  id: number,
): Promise<{ windows: number; done: number; read: number }> {
  const { rows } = await db.query<{ windows: string; done: string; read: string }>(
    `SELECT count(*) AS windows, count(done_at) AS done, coalesce(sum(read), 0) AS read FROM rsync.backfill_windows WHERE backfill_id = $1`,
    [id],
  );
  return { windows: Number(rows[0].windows), done: Number(rows[0].done), read: Number(rows[0].read) };
}

export function workerId(): string {
  return `${hostname()}:${process.pid}:${Date.now().toString(36)}`;
}
