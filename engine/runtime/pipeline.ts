/**
 * The pipeline of one page: mapping (threads) → canonical check → ledger → batched, idempotent write to the target
 * → ledger, dead letters, counts and the caller's cursor committed together, after the target confirmed.
 *
 * How the promises of DESIGN.md hold here:
 *  - Every record ends as exactly one of written, unchanged (same key and content hash in the ledger, an earlier
 *    copy in the same page, or an echo of what rsync itself wrote into the source system), filtered (the mapping
 *    returned nothing) or dead-lettered; the counts are added to the run in the page's transaction.
 *  - A page's ledger entries, dead letters, counts and cursor (or its deliveries' done marks, or its backfill
 *    window's cursor) commit in one transaction, after the target confirmed the writes; a crash before the commit
 *    re-reads the page, and the ledger and the target's upsert by key make the re-read harmless. A transactional
 *    target (the sandbox, a postgres connection to the state database) writes inside that same transaction: then
 *    not even the target sees a record twice. Any other target gets each write's id (ledger.ts `writeId`), the
 *    same for the re-read's write as for the one the crash cut off, and applies it once if it can remember it
 *    (an Idempotency-Key, a marker committed with the row): README, "What each target guarantees".
 *  - Transient write failures (timeouts, 5xx, 429) are retried for the records that failed, with exponential
 *    back-off and jitter, honouring Retry-After, as the flow's policy says; each wait is in the run's log. A
 *    permanent failure dead-letters its record at once; its neighbours in the batch are written.
 *  - No transaction is open while a retry waits (a wait can be minutes: an open transaction would hold its
 *    connection and its locks, and keep vacuum from the ledger, that long). The writes to a target of its own
 *    happen before the page's transaction opens; a transactional target's attempt is a transaction of its own,
 *    rolled back before the wait and written again after it.
 */
import { setLongTimeout } from '../util/duration.js';
import type pg from 'pg';
import { redact } from '../connectors/secrets.js';
import { ConnectorError, type OpenConnector, type WriteItem, type WriteResult } from '../connectors/types.js';
import { addDeadLetters, type NewDeadLetter, resolveWritten } from '../state/dead-letters.js';
import {
  echoedHashes,
  type LedgerEntry,
  ledgerDecision,
  ledgerEntries,
  recordWrites,
  writeId,
} from '../state/ledger.js';
import {
  addCounts,
  addRunCounts,
  appendRunLog,
  closeRun,
  insertRun,
  type Counts,
  type RunStatus,
  zeroCounts,
} from '../state/runs.js';
import { withTransaction } from '../state/tx.js';
import { parseJsonLossless } from '../util/json.js';
import { storable } from '../util/text.js';
import type { FlowDef } from './flows.js';
import { fieldNames, type MapOutcome, type MapTask } from './mapping/map-records.js';
import type { Mapper } from './mapping/mapper.js';
import { randomBytes } from 'node:crypto';
import { maskPii, maskPiiText, piiNames } from './mask.js';
import { guardRun } from './schema-guard.js';
import { samplePage } from './samples.js';

export type Final =
  | { outcome: 'written'; key: string; targetId: string; view?: Record<string, unknown> }
  | { outcome: 'unchanged'; key: string; why: 'ledger' | 'page' | 'echo' | 'stale' }
  | { outcome: 'filtered'; key?: string; reason?: string }
  | { outcome: 'dead'; key?: string; stage: string; error: string; attempts: number };

/** The fields of a log line: its level, and for a line about a run its flow's address, run id and trace. */
export interface LogFields {
  level?: 'debug' | 'info' | 'warn' | 'error';
  address?: string;
  run?: number | null;
  trace?: string;
  [field: string]: unknown;
}

export type LogSink = (line: string, fields?: LogFields) => void;

/** The fields every line about a run carries. */
export function runFields(run: Pick<RunHandle, 'id' | 'trace' | 'flow'>): LogFields {
  return { address: run.flow.address, run: run.id, trace: run.trace };
}

export interface RunHandle {
  id: number;
  flow: FlowDef;
  counts: Counts;
  retries: number;
  /** A random id every log line of the run carries (and the run's log in rsync.runs starts with). */
  trace: string;
}

export interface PipelineContext {
  db: pg.Pool;
  mapper: Mapper;
  target: OpenConnector;
  signal?: AbortSignal;
  /** Progress and back-off lines for the worker's log (the run's log in the database has them anyway). */
  log?: LogSink;
}

// ------------------------------------------------------------------------------------------ runs

export async function startRun(
  db: Pick<pg.Pool, 'query'>,
  flow: FlowDef,
  trigger: string,
  worker: string,
): Promise<RunHandle> {
  const trace = randomBytes(8).toString('hex');
  const id = await insertRun(db, {
    env: flow.env,
    address: flow.address,
    revision: flow.revision,
    trigger,
    worker,
    trace,
  });
  return { id, flow, counts: zeroCounts(), retries: 0, trace };
}

export async function finishRun(
  db: Pick<pg.Pool, 'query'>,
  run: RunHandle,
  status: RunStatus,
  error?: string,
  kind?: string,
): Promise<void> {
  await closeRun(db, run.id, status, error ? redact(error) : undefined, kind);
}

// ------------------------------------------------------------------------------------------ back-off

/** Exponential back-off with jitter: initial·2^(attempt−1), capped at max, times a random factor in [0.5, 1). */
export function backoffMs(flow: FlowDef, attempt: number, retryAfterMs = 0): number {
  const { initialMs } = flow.retry;
  const base = flow.retry.backoff === 'exponential' ? initialMs * 2 ** (attempt - 1) : initialMs;
  const jittered = Math.min(base, flow.retry.maxMs) * (0.5 + Math.random() / 2);
  return Math.max(Math.round(jittered), retryAfterMs);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    // A Retry-After past 24.8 days (setTimeout's limit) is waited in steps, not fired at once.
    const t = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      t.clear();
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ------------------------------------------------------------------------------------------ one page

export interface PageInput {
  records: unknown[];
  json?: boolean;
  /** Dead-letter failures (default). Replay turns it off: the letter being replayed is updated instead. */
  deadLetter?: boolean;
  /** The records already mapped (mapRecords' outcomes, in order): a reader that maps ahead (page-loop.ts) passes them. */
  outcomes?: MapOutcome[];
}

/** The mapping task of a page of the flow's records. */
export function mapTask(flow: FlowDef, records: unknown[], json?: boolean): MapTask {
  return { mapping: flow.mapping, key: flow.key, params: flow.params, canonical: flow.canonical, records, json };
}

/**
 * What the caller commits with a page, in the page's transaction: its cursor, its deliveries' done marks or its
 * window's cursor; it gets each record's final outcome.
 */
export type CommitPage = (tx: pg.PoolClient, finals: Final[]) => Promise<void>;

/**
 * Process one page on `client` (a connection whose session the caller holds, with its claims) and commit it with
 * the caller's `commit`. Returns each record's final outcome, in order, and the page's counts (added to the run's
 * row in the page's transaction).
 */
export async function processPage(
  ctx: PipelineContext,
  run: RunHandle,
  client: pg.PoolClient,
  page: PageInput,
  commit: CommitPage = async () => {},
): Promise<{ finals: Final[]; counts: Counts }> {
  const flow = run.flow;
  const outcomes: MapOutcome[] = page.outcomes ?? (await ctx.mapper.map(mapTask(flow, page.records, page.json)));
  const finals: Final[] = new Array(outcomes.length);

  // The last copy of a key in the page wins — the newest by updatedAt, when the records have one; the other copies
  // are superseded (unchanged).
  const lastOf = new Map<string, number>();
  outcomes.forEach((o, i) => {
    if (o.kind !== 'mapped') return;
    const j = lastOf.get(o.key);
    const before = j === undefined ? undefined : (outcomes[j] as { updatedAt?: string }).updatedAt;
    if (j !== undefined && before && o.updatedAt && Date.parse(o.updatedAt) < Date.parse(before)) return;
    lastOf.set(o.key, i);
  });
  const candidates: number[] = [];
  outcomes.forEach((o, i) => {
    if (o.kind === 'filtered') finals[i] = { outcome: 'filtered', key: o.key, reason: o.reason };
    else if (o.kind === 'dead')
      finals[i] = { outcome: 'dead', key: o.key, stage: o.stage, error: o.error, attempts: 1 };
    else if (lastOf.get(o.key) !== i) finals[i] = { outcome: 'unchanged', key: o.key, why: 'page' };
    else candidates.push(i);
  });

  // Ledger: same key and same content → unchanged; a known key with other content → an update of its target id.
  const mapped = (i: number) => outcomes[i] as Extract<MapOutcome, { kind: 'mapped' }>;
  let known = new Map<string, LedgerEntry>();
  let echoes = new Set<string>();
  if (candidates.length) {
    known = await ledgerEntries(
      client,
      flow.env,
      flow.address,
      candidates.map((i) => mapped(i).key),
    );
    echoes = await echoedHashes(
      client,
      flow.env,
      flow.source.system,
      candidates.map((i) => mapped(i).hash),
    );
  }
  const toWrite: number[] = [];
  for (const i of candidates) {
    const m = mapped(i);
    const d = ledgerDecision(known.get(m.key), m.hash, echoes.has(m.hash), m.updatedAt);
    if (d === 'write') toWrite.push(i);
    else finals[i] = { outcome: 'unchanged', key: m.key, why: d };
  }

  const items = new Map<number, WriteItem>();
  const item = (i: number): WriteItem => {
    let it = items.get(i);
    if (!it) {
      const m = mapped(i);
      const entry = known.get(m.key);
      it = writeItem(m, entry?.targetId, writeId(flow.env, flow.address, m.key, entry?.writes ?? 0, m.hash));
      items.set(i, it);
    }
    return it;
  };

  // Ledger, dead letters, counts and the caller's cursor: one transaction, after the target confirmed.
  const persist = async (tx: pg.PoolClient): Promise<Counts> => {
    const written = toWrite.filter((i) => finals[i].outcome === 'written');
    await recordWrites(
      tx,
      { env: flow.env, address: flow.address, target: flow.target.system, revision: flow.revision },
      written.map((i) => {
        const f = finals[i] as Extract<Final, { outcome: 'written' }>;
        const m = mapped(i);
        return {
          key: m.key,
          targetId: f.targetId,
          hash: m.hash,
          version: m.updatedAt,
          sourceId: m.sourceId,
          view: f.view,
        };
      }),
    );
    // A key written now resolves its open dead letters (an earlier failure of the same record).
    await resolveWritten(
      tx,
      flow,
      written.map((i) => mapped(i).key),
      run.id,
    );
    const letters = deadLetters(run, page, outcomes, finals, item);
    if (page.deadLetter !== false) await addDeadLetters(tx, letters);
    const counts = zeroCounts();
    counts.read = finals.length;
    for (const f of finals) {
      counts[f.outcome === 'dead' ? 'dead' : f.outcome]++;
      if (f.outcome === 'filtered' && f.reason !== undefined) {
        counts.filteredBy ??= {};
        counts.filteredBy[f.reason] = (counts.filteredBy[f.reason] ?? 0) + 1;
      }
    }
    await addRunCounts(tx, run.id, counts);
    await commit(tx, finals);
    // The data-impact plan's samples (runtime/samples.ts); a replay's records are dead letters, not new reads.
    if (page.deadLetter !== false) await samplePage(tx, flow, page.records, page.json);
    return counts;
  };

  // A record as read (its PII masked out of a retry's reason: a key or a URL may carry it).
  const source = (i: number): unknown => (page.json ? parseJsonLossless(page.records[i] as string) : page.records[i]);
  const writes: Writes = { ctx, run, item, source, finals };
  let counts: Counts;
  // Before a run's first write, once a run: a target whose schema no longer fits pauses the flow (schema-guard.ts).
  if (toWrite.length) await guardRun(ctx, run);
  if (toWrite.length && (await isTransactional(ctx.target)))
    counts = await writeInTransactions(writes, client, toWrite, persist);
  else {
    for (let b = 0; b < toWrite.length; b += flow.batchSize)
      await writeWithRetries(writes, client, toWrite.slice(b, b + flow.batchSize));
    counts = await withTransaction(client, persist);
  }
  run.counts = addCounts(run.counts, counts);
  return { finals, counts };
}

/**
 * A dead record's error is kept, logged and shown: without secrets, and without the record's PII values (errors
 * quote values: a cast that failed, a 422 body echoing a field). Also masks the errors in `finals`.
 */
function deadLetters(
  run: RunHandle,
  page: PageInput,
  outcomes: MapOutcome[],
  finals: Final[],
  item: (i: number) => WriteItem,
): NewDeadLetter[] {
  const flow = run.flow;
  const names = piiNames(flow.pii);
  const out: NewDeadLetter[] = [];
  for (let i = 0; i < finals.length; i++) {
    const f = finals[i];
    if (f.outcome !== 'dead') continue;
    const o = outcomes[i];
    const source =
      o.kind === 'dead' ? o.source : page.json ? parseJsonLossless(page.records[i] as string) : page.records[i];
    f.error = maskPiiText(redact(f.error), names, source, o.kind === 'mapped' ? item(i).record : undefined);
    out.push({
      env: flow.env,
      address: flow.address,
      customer: flow.customer,
      revision: flow.revision,
      runId: run.id,
      key: f.key ?? null,
      stage: f.stage,
      error: f.error,
      attempts: f.attempts,
      // A record holding a NUL or half a surrogate pair is kept with U+FFFD in their place (jsonb cannot hold
      // them); its error says where they were.
      payload: storable(maskPii(source, names)),
      replay: storable(source),
    });
  }
  return out;
}

/** Whether the target writes in the page's transaction (a connector may have to look first: see TargetConnector). */
async function isTransactional(target: OpenConnector): Promise<boolean> {
  const t = target.transactional;
  return typeof t === 'function' ? t() : !!t;
}

/** A mapped record as the target's write item: its text as mapped, its object only when a connector asks for it. */
function writeItem(o: Extract<MapOutcome, { kind: 'mapped' }>, targetId: string | undefined, id: string): WriteItem {
  let record: Record<string, unknown> | undefined;
  return {
    key: o.key,
    text: o.text,
    fields: fieldNames(o.fields),
    targetId,
    writeId: id,
    get record() {
      return (record ??= JSON.parse(o.text) as Record<string, unknown>);
    },
  };
}

/** A page's writes: the run, each record's write item, and the final outcomes they settle. */
interface Writes {
  ctx: PipelineContext;
  run: RunHandle;
  item: (i: number) => WriteItem;
  /** The source record of item i, as read. */
  source: (i: number) => unknown;
  finals: Final[];
}

/** The records of an attempt that failed transiently, and why (one record's error, and the longest Retry-After). */
interface Failed {
  retry: number[];
  retryAfter: number;
  reason: string;
}

/** One write of `pending` (in batches); settles each record's final outcome unless it failed transiently. */
async function writeOnce(
  { ctx, run, item, source, finals }: Writes,
  pending: number[],
  attempt: number,
  tx?: pg.PoolClient,
): Promise<Failed> {
  const flow = run.flow;
  const failed: Failed = { retry: [], retryAfter: 0, reason: '' };
  for (let b = 0; b < pending.length; b += flow.batchSize) {
    const batch = pending.slice(b, b + flow.batchSize);
    let results: WriteResult[];
    try {
      results = await ctx.target.write!(flow.target.entity, batch.map(item), ctx.signal, tx);
    } catch (e) {
      // A transactional target's failed statement aborted the transaction: its attempt is over.
      if (tx) throw e;
      // The whole call failed (connection refused, bad settings): every record of the batch shares the outcome.
      const err = e instanceof ConnectorError ? e : new ConnectorError((e as Error).message ?? String(e), true);
      results = batch.map(() => ({
        ok: false as const,
        transient: err.transient,
        error: err.message,
        retryAfterMs: err.retryAfterMs,
      }));
    }
    batch.forEach((i, n) => {
      const r = results[n] ?? { ok: false, transient: false, error: 'the target gave no result for this record' };
      if (r.ok) finals[i] = { outcome: 'written', key: item(i).key, targetId: r.targetId, view: r.view };
      else if (!r.transient)
        finals[i] = { outcome: 'dead', key: item(i).key, stage: 'write', error: r.error, attempts: attempt };
      else {
        failed.retry.push(i);
        failed.retryAfter = Math.max(failed.retryAfter, r.retryAfterMs ?? 0);
        failed.reason ||= r.error;
      }
    });
  }
  if (failed.retry.length)
    // The reason is one record's error: logged without secrets or the batch's PII values.
    failed.reason = maskPiiText(
      redact(failed.reason),
      piiNames(flow.pii),
      ...failed.retry.flatMap((i) => [item(i).record, source(i)]),
    );
  return failed;
}

/** Whether the failed records get no further attempt; if so they are dead, and the run's log says why. */
async function givesUp(
  { ctx, run, item, finals }: Writes,
  db: Pick<pg.Pool, 'query'>,
  attempt: number,
  failed: Failed,
): Promise<boolean> {
  if (attempt < run.flow.retry.maxAttempts && !ctx.signal?.aborted) return false;
  const why = ctx.signal?.aborted ? 'the worker is stopping' : `gave up after ${attempt} attempts`;
  for (const i of failed.retry)
    finals[i] = {
      outcome: 'dead',
      key: item(i).key,
      stage: 'write',
      error: `${why}: ${failed.reason}`,
      attempts: attempt,
    };
  await appendRunLog(db, run.id, { event: 'gave-up', attempt, records: failed.retry.length, reason: failed.reason });
  return true;
}

/** The back-off before the next attempt, in the run's log; called with no transaction open. */
async function waitToRetry({ ctx, run }: Writes, db: Pick<pg.Pool, 'query'>, attempt: number, failed: Failed) {
  const flow = run.flow;
  const wait = backoffMs(flow, attempt, failed.retryAfter);
  run.retries++;
  await appendRunLog(
    db,
    run.id,
    {
      event: 'backoff',
      attempt,
      waitMs: wait,
      retryAfterMs: failed.retryAfter || undefined,
      records: failed.retry.length,
      reason: failed.reason,
    },
    true,
  );
  ctx.log?.(
    `  ${flow.address}: ${failed.retry.length} record(s) failed (${failed.reason}); retry ${attempt}/${flow.retry.maxAttempts - 1} in ${(wait / 1000).toFixed(1)} s`,
    { level: 'warn', ...runFields(run), attempt, waitMs: wait },
  );
  await sleep(wait, ctx.signal).catch(() => {});
}

/** Write to a target of its own (not in rsync's database), retrying what failed transiently; outside any transaction. */
async function writeWithRetries(w: Writes, client: pg.PoolClient, indexes: number[]): Promise<void> {
  let pending = indexes;
  for (let attempt = 1; ; attempt++) {
    const failed = await writeOnce(w, pending, attempt);
    if (!failed.retry.length) return;
    if (await givesUp(w, client, attempt, failed)) return;
    await waitToRetry(w, client, attempt, failed);
    pending = failed.retry;
  }
}

/** Thrown out of a transactional target's attempt to roll it back before the wait. */
class Retry {
  /** `error`: the write itself threw, which aborted the transaction (nothing of the attempt can be kept). */
  constructor(
    readonly failed: Failed,
    readonly error?: unknown,
  ) {}
}

/**
 * Write to a transactional target inside the page's transaction. An attempt with transient failures is rolled
 * back (the records it did write with it), and after the wait every record not dead yet is written again.
 */
async function writeInTransactions(
  w: Writes,
  client: pg.PoolClient,
  indexes: number[],
  persist: (tx: pg.PoolClient) => Promise<Counts>,
): Promise<Counts> {
  const { ctx, run, finals } = w;
  let pending = indexes;
  for (let attempt = 1; ; attempt++) {
    let failed: Failed;
    try {
      return await withTransaction(client, async (tx) => {
        let f: Failed;
        try {
          f = await writeOnce(w, pending, attempt, tx);
        } catch (e) {
          const err = e instanceof ConnectorError ? e : new ConnectorError((e as Error).message ?? String(e), true);
          if (!err.transient) throw e;
          throw new Retry({ retry: pending, retryAfter: err.retryAfterMs ?? 0, reason: redact(err.message) }, e);
        }
        if (f.retry.length && !(await givesUp(w, tx, attempt, f))) throw new Retry(f);
        return persist(tx);
      });
    } catch (e) {
      if (!(e instanceof Retry)) throw e;
      if (e.error !== undefined && (attempt >= run.flow.retry.maxAttempts || ctx.signal?.aborted)) throw e.error;
      failed = e.failed;
    }
    await waitToRetry(w, client, attempt, failed);
    pending = pending.filter((i) => finals[i]?.outcome !== 'dead');
  }
}
