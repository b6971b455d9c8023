/**
 * What every kind of run shares: the runtime's context, the open connectors, and the one page loop that reads a
 * source from a cursor, maps ahead, and hands each page to the pipeline with the run kind's own commit.
 *
 * The kinds of run, each a module of its own over this loop or the pipeline:
 *  - incremental.ts (schedule, manual): the source from the flow's persisted cursor, one run of a flow at a time;
 *  - events.ts: the flow's pending webhook deliveries, several workers sharing them without taking one twice;
 *  - backfill.ts: the windows of a backfill, each claimed and resumed from its own cursor;
 *  - replay.ts: dead letters, on the revision asked for.
 * Claims are session advisory locks (state/locks.ts) on the connection that commits the claimed work's pages: a
 * killed worker's claims go with its connection.
 */
import type pg from 'pg';
import { hostname } from 'node:os';
import { describeFilterReasons } from '../mapping/filter.js';
import { openConnector } from '../connectors/registry.js';
import { redact } from '../connectors/secrets.js';
import { closePostgresPools } from '../connectors/postgres/connector.js';
import { closeSecretManagers } from '../connectors/secret-managers/cache.js';
import { ConnectorError, type OpenConnector, type Page } from '../connectors/types.js';
import { appendRunLog, type Counts } from '../state/runs.js';
import { withTransaction } from '../state/tx.js';
import type { FlowDef } from './flows.js';
import type { MapOutcome } from './mapping/map-records.js';
import type { Mapper } from './mapping/mapper.js';
import {
  backoffMs,
  finishRun,
  type LogFields,
  type LogSink,
  mapTask,
  type PipelineContext,
  processPage,
  type RunHandle,
  runFields,
  sleep,
} from './pipeline.js';

export type { LogFields, LogSink };
import { slotsFor } from '../state/slots.js';
import { limiterFor } from './throttle.js';
import type { RunMetrics } from './metrics.js';
import { callCounter, countRecords, describeQuota, type QuotaReached, quotaReached } from './quotas.js';

export interface RuntimeContext {
  db: pg.Pool;
  mapper: Mapper;
  worker: string;
  /**
   * Which connections the sandbox connector serves (simulated systems in the state database): every one (true,
   * `rsync worker --sandbox`), none (false), or those whose system (`<customer>/<connection>`) the predicate picks —
   * the demo serves the systems it runs a vendor fake of by their real connectors, and the rest by the sandbox.
   */
  sandbox: boolean | ((system: string) => boolean);
  /**
   * Settings laid over a connection's deployed settings at run time, by system (shallow: a key given replaces the
   * deployed one): the demo points connections at local fakes without touching the workspace or the deployed state.
   */
  settings?: ReadonlyMap<string, Record<string, unknown>>;
  signal?: AbortSignal;
  /** True once the worker drains: claim no new windows or deliveries, finish what is claimed. */
  stopping?: () => boolean;
  /** Where the runtime's lines go (the worker's log): a message, and the fields of the line (runFields). */
  log?: LogSink;
  /** Pages per run before it yields (an incremental run continues on its next trigger). */
  maxPages?: number;
  /**
   * Awaited before a backfill window reads its next page: the worker's fair share holds it there while another
   * customer's event work is in flight (runtime/fairshare.ts yieldToEvents).
   */
  backfillYield?: (flow: FlowDef) => Promise<void>;
  /** Called after each committed page (progress). */
  onPage?: (flow: FlowDef, counts: Counts) => void;
  /** The worker's own figures of its work (`/metrics`: page durations, event latency). */
  metrics?: RunMetrics;
}

export interface RunResult {
  run: number | null;
  status: 'succeeded' | 'failed' | 'interrupted' | 'skipped';
  counts: Counts;
  reason?: string;
  /** The run's trace (RunHandle.trace). */
  trace?: string;
}

/** A finished run's line: its id, flow, revision, result and counts. */
export function runLine(flow: FlowDef, r: RunResult): string {
  const c = r.counts;
  return `run ${r.run} ${flow.address}@${flow.revision}: ${r.status} — read ${c.read}, written ${c.written}, unchanged ${c.unchanged}, filtered ${c.filtered}${c.filteredBy ? ` (${describeFilterReasons(c.filtered, c.filteredBy)})` : ''}, dead ${c.dead}${r.reason ? ` (${r.reason})` : ''}`;
}

/** The fields of a finished run's line. */
export function runEndFields(flow: FlowDef, r: RunResult): LogFields {
  return {
    level: r.status === 'failed' ? 'warn' : 'info',
    address: flow.address,
    run: r.run,
    trace: r.trace,
    revision: flow.revision,
    status: r.status,
    read: r.counts.read,
    written: r.counts.written,
    unchanged: r.counts.unchanged,
    filtered: r.counts.filtered,
    dead: r.counts.dead,
  };
}

const connectors = new Map<string, OpenConnector>();

/** The open connector of a flow's source or target connection (shared per worker, by settings). */
export function connectorFor(rt: RuntimeContext, c: FlowDef['source'] | FlowDef['target']): OpenConnector {
  const sandbox = sandboxed(rt, c.system);
  const overlay = rt.settings?.get(c.system);
  const settings = overlay ? { ...c.settings, ...overlay } : c.settings;
  const calls = sandbox ? undefined : callCounter(rt.db, c.env, c);
  const id = `${sandbox ? 'sandbox:' : ''}${calls ? 'counted:' : ''}${c.system}:${c.type}:${JSON.stringify(settings)}`;
  let open = connectors.get(id);
  if (!open) {
    open = openConnector({
      system: c.system,
      connector: c.type,
      settings,
      state: rt.db,
      sandbox,
      limiter: sandbox ? undefined : limiterFor(rt.db, c.system, rt.signal),
      slots: sandbox ? undefined : slotsFor(rt.db, c.system, rt.signal),
      calls,
    });
    connectors.set(id, open);
  }
  return open;
}

/** Whether the sandbox serves a system's connection in this runtime (see RuntimeContext.sandbox). */
export function sandboxed(rt: Pick<RuntimeContext, 'sandbox'>, system: string): boolean {
  return typeof rt.sandbox === 'function' ? rt.sandbox(system) : rt.sandbox;
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
  await closeSecretManagers();
}

export function pipeline(rt: RuntimeContext, flow: FlowDef): PipelineContext {
  return { db: rt.db, mapper: rt.mapper, target: connectorFor(rt, flow.target), signal: rt.signal, log: rt.log };
}

/** The flow's source connector, which must be able to read. */
export function readableSource(rt: RuntimeContext, flow: FlowDef): OpenConnector {
  const source = connectorFor(rt, flow.source);
  if (!source.read)
    throw new ConnectorError(`connection ${flow.source.name} (${flow.source.type}) cannot be read`, false);
  return source;
}

/** Records per page read from a source. */
export function pageSize(flow: FlowDef): number {
  return Math.max(flow.batchSize, 500);
}

/** Read a page, retrying transient failures as the flow's policy says (each wait in the run's log). */
async function readPage(rt: RuntimeContext, flow: FlowDef, run: RunHandle, read: () => Promise<Page>): Promise<Page> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (e) {
      const err = e instanceof ConnectorError ? e : new ConnectorError((e as Error).message ?? String(e), true);
      if (!err.transient || attempt >= flow.retry.maxAttempts || rt.signal?.aborted) throw err;
      const wait = backoffMs(flow, attempt, err.retryAfterMs);
      await appendRunLog(
        rt.db,
        run.id,
        {
          event: 'backoff',
          stage: 'read',
          attempt,
          waitMs: wait,
          retryAfterMs: err.retryAfterMs || undefined,
          reason: redact(err.message),
        },
        true,
      );
      rt.log?.(
        `  ${flow.address}: read failed (${redact(err.message)}); retry ${attempt}/${flow.retry.maxAttempts - 1} in ${(wait / 1000).toFixed(1)} s`,
        { level: 'warn', ...runFields(run), attempt, waitMs: wait },
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

/**
 * The page loop: every page of `read` from `cursor` through the pipeline on `client`, each committed with the run
 * kind's `commit` (its cursor), then acknowledged to the source; at most `maxPages` pages. It stops before a page
 * when one of the flow's quotas is reached (runtime/quotas.ts), and says which. `beforePage` holds each page before it
 * is written (and, through the read, the next page before it is read).
 */
export async function runPages(
  rt: RuntimeContext,
  client: pg.PoolClient,
  run: RunHandle,
  read: (cursor: unknown) => Promise<Page>,
  cursor: unknown,
  commit: (tx: pg.PoolClient, page: Page) => Promise<void>,
  o: {
    /** At most this many pages. */
    maxPages?: number;
    /** Awaited before each page is written (a backfill's yield to other customers' event work). */
    beforePage?: () => Promise<void>;
  } = {},
): Promise<QuotaReached | undefined> {
  const maxPages = o.maxPages ?? Number.POSITIVE_INFINITY;
  const flow = run.flow;
  const ctx = pipeline(rt, flow);
  let pages = 0;
  for await (const { page, outcomes } of pagesAhead(rt, flow, run, read, cursor)) {
    if (rt.signal?.aborted) throw new Error('aborted');
    const mapped = await outcomes;
    await o.beforePage?.();
    const reached = page.records.length ? await quotaReached(rt.db, flow) : undefined;
    if (reached) {
      await appendRunLog(rt.db, run.id, { event: 'quota', reason: describeQuota(reached) });
      rt.log?.(`  ${flow.address}: stopped before a page: ${describeQuota(reached)}`, {
        level: 'warn',
        ...runFields(run),
      });
      return reached;
    }
    const started = performance.now();
    if (page.records.length) {
      await processPage(ctx, run, client, { records: page.records, json: page.json, outcomes: mapped }, async (tx) => {
        await commit(tx, page);
        await countRecords(tx, flow, page.records.length);
      });
      rt.metrics?.page(flow, (performance.now() - started) / 1000);
    } else await withTransaction(client, (tx) => commit(tx, page));
    await page.commit?.();
    rt.onPage?.(flow, run.counts);
    if (++pages >= maxPages) break;
  }
  return undefined;
}

/** Close a run: succeeded without `e`; with it, failed — or interrupted, when the worker is stopping. */
export async function finish(rt: RuntimeContext, run: RunHandle, e?: unknown): Promise<RunResult> {
  if (e === undefined) {
    await finishRun(rt.db, run, 'succeeded');
    return { run: run.id, status: 'succeeded', counts: run.counts, trace: run.trace };
  }
  const aborted = rt.signal?.aborted;
  const message = (e as Error).message ?? String(e);
  await finishRun(
    rt.db,
    run,
    aborted ? 'interrupted' : 'failed',
    aborted ? 'the worker stopped before the run ended' : message,
    e instanceof ConnectorError ? e.kind : undefined,
  ).catch(() => {});
  return {
    run: run.id,
    status: aborted ? 'interrupted' : 'failed',
    counts: run.counts,
    reason: redact(message),
    trace: run.trace,
  };
}

export function workerId(): string {
  return `${hostname()}:${process.pid}:${Date.now().toString(36)}`;
}
