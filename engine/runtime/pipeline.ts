/**
 * The pipeline of one run: pages of source records → mapping (threads) → canonical check → ledger → batched,
 * idempotent write to the target → ledger, cursor and counts committed together, after the target confirmed.
 *
 * How the promises of DESIGN.md hold here:
 *  - Every record ends as exactly one of written, unchanged (same key and content hash in the ledger, an earlier
 *    copy in the same page, or an echo of what rsync itself wrote into the source system), filtered (the mapping
 *    returned nothing) or dead-lettered; the counts are added to the run in the page's transaction.
 *  - A page's ledger entries, dead letters, counts and cursor (or its deliveries' done marks, or its backfill
 *    window's cursor) commit in one transaction, after the target confirmed the writes; a crash before the commit
 *    re-reads the page, and the ledger and the target's upsert by key make the re-read harmless. A transactional
 *    target (the sandbox) writes inside that same transaction: then not even the target sees a record twice.
 *  - Transient write failures (timeouts, 5xx, 429) are retried for the records that failed, with exponential
 *    back-off and jitter, honouring Retry-After, as the flow's policy says; each wait is in the run's log. A
 *    permanent failure dead-letters its record at once; its neighbours in the batch are written.
 */
import type pg from 'pg';
import { redact } from '../connectors/secrets.js';
import { ConnectorError, type OpenConnector, type WriteItem, type WriteResult } from '../connectors/types.js';
import type { FlowDef } from './flows.js';
import { fieldNames, type MapOutcome, type MapTask } from './mapping/map-records.js';
import type { Mapper } from './mapping/mapper.js';
import { ledgerDecision } from '../state/ledger.js';
import { maskPii, maskPiiText, piiNames } from './mask.js';

export interface Counts {
  read: number;
  written: number;
  unchanged: number;
  filtered: number;
  dead: number;
}

export const zeroCounts = (): Counts => ({ read: 0, written: 0, unchanged: 0, filtered: 0, dead: 0 });

export function addCounts(a: Counts, b: Counts): Counts {
  return {
    read: a.read + b.read,
    written: a.written + b.written,
    unchanged: a.unchanged + b.unchanged,
    filtered: a.filtered + b.filtered,
    dead: a.dead + b.dead,
  };
}

export type Final =
  | { outcome: 'written'; key: string; targetId: string }
  | { outcome: 'unchanged'; key: string; why: 'ledger' | 'page' | 'echo' }
  | { outcome: 'filtered'; key?: string }
  | { outcome: 'dead'; key?: string; stage: string; error: string; attempts: number };

export interface RunHandle {
  id: number;
  flow: FlowDef;
  counts: Counts;
  retries: number;
}

export interface PipelineContext {
  db: pg.Pool;
  mapper: Mapper;
  target: OpenConnector;
  signal?: AbortSignal;
  /** Progress and back-off lines for a terminal (the run's log in the database has them anyway). */
  log?: (line: string) => void;
}

// ------------------------------------------------------------------------------------------ runs

export async function startRun(
  db: Pick<pg.Pool, 'query'>,
  flow: FlowDef,
  trigger: string,
  worker: string,
): Promise<RunHandle> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO rsync.runs (env, address, revision, trigger, worker) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [flow.env, flow.address, flow.revision, trigger, worker],
  );
  return { id: Number(rows[0].id), flow, counts: zeroCounts(), retries: 0 };
}

export async function finishRun(
  db: Pick<pg.Pool, 'query'>,
  run: RunHandle,
  status: 'succeeded' | 'failed' | 'interrupted',
  error?: string,
): Promise<void> {
  const entry = error ? [{ at: new Date().toISOString(), event: 'error', message: redact(error) }] : [];
  await db.query(
    `UPDATE rsync.runs SET status = $2, finished_at = now(), error = $3, log = log || $4::jsonb WHERE id = $1`,
    [run.id, status, error ? redact(error) : null, JSON.stringify(entry)],
  );
}

/** Append an entry to a run's log (`retry` also counts a retry); on `tx` inside a page's transaction. */
export async function runLog(
  tx: Pick<pg.PoolClient, 'query'>,
  run: RunHandle,
  entry: Record<string, unknown>,
  retry = false,
): Promise<void> {
  await tx.query(`UPDATE rsync.runs SET log = log || $2::jsonb, retries = retries + $3 WHERE id = $1`, [
    run.id,
    JSON.stringify([{ at: new Date().toISOString(), ...entry }]),
    retry ? 1 : 0,
  ]);
}

// ------------------------------------------------------------------------------------------ back-off

/** Exponential back-off with jitter: delay·2^(attempt−1), capped, times a random factor in [0.5, 1). */
export function backoffMs(flow: FlowDef, attempt: number, retryAfterMs = 0): number {
  const base = flow.retry.backoff ? flow.retry.delayMs * 2 ** (attempt - 1) : flow.retry.delayMs;
  const jittered = Math.min(base, flow.retry.maxMs) * (0.5 + Math.random() / 2);
  return Math.max(Math.round(jittered), retryAfterMs);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
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
 * Process one page inside the caller's open transaction `tx` (the caller adds its cursor, delivery or window
 * update and commits). Returns each record's final outcome, in order, and the page's counts (already added to
 * the run's row in `tx`).
 */
export async function processPage(
  ctx: PipelineContext,
  run: RunHandle,
  tx: pg.PoolClient,
  page: PageInput,
): Promise<{ finals: Final[]; counts: Counts }> {
  const flow = run.flow;
  const outcomes: MapOutcome[] = page.outcomes ?? (await ctx.mapper.map(mapTask(flow, page.records, page.json)));
  const finals: Final[] = new Array(outcomes.length);

  // The last copy of a key in the page wins; earlier copies are superseded (unchanged).
  const lastOf = new Map<string, number>();
  outcomes.forEach((o, i) => o.kind === 'mapped' && lastOf.set(o.key, i));
  const candidates: number[] = [];
  outcomes.forEach((o, i) => {
    if (o.kind === 'filtered') finals[i] = { outcome: 'filtered', key: o.key };
    else if (o.kind === 'dead')
      finals[i] = { outcome: 'dead', key: o.key, stage: o.stage, error: o.error, attempts: 1 };
    else if (lastOf.get(o.key) !== i) finals[i] = { outcome: 'unchanged', key: o.key, why: 'page' };
    else candidates.push(i);
  });

  // Ledger: same key and same content → unchanged; a known key with other content → an update of its target id.
  const mapped = (i: number) => outcomes[i] as Extract<MapOutcome, { kind: 'mapped' }>;
  const known = new Map<string, { hash: string; targetId: string }>();
  const echoes = new Set<string>();
  if (candidates.length) {
    const keys = candidates.map((i) => mapped(i).key);
    const { rows } = await tx.query<{ key: string; content_hash: string; target_id: string }>(
      // One index probe per key (a LATERAL with LIMIT is never flattened into a join): `key = ANY($3)` let the
      // planner scan the flow's whole ledger whenever its statistics were stale, as they are while a backfill
      // grows it (7 ms a page at 30,000 rows, linear beyond; 2 ms at any size this way).
      `SELECT l.key, l.content_hash, l.target_id FROM unnest($3::text[]) AS u(k)
         CROSS JOIN LATERAL (SELECT key, content_hash, target_id FROM rsync.ledger WHERE env = $1 AND address = $2 AND key = u.k LIMIT 1) l`,
      [flow.env, flow.address, keys],
    );
    for (const r of rows) known.set(r.key, { hash: r.content_hash, targetId: r.target_id });
    // Echo: content that rsync itself wrote into the source system, read back out of it (no sync loops).
    const hashes = candidates.map((i) => mapped(i).hash);
    // The EXISTS is a one-time filter: when rsync never wrote into the source system, no hash is probed at all.
    const echo = await tx.query<{ content_hash: string }>(
      `SELECT DISTINCT u.h AS content_hash FROM unnest($3::text[]) AS u(h)
         CROSS JOIN LATERAL (SELECT 1 FROM rsync.ledger WHERE env = $1 AND target = $2 AND content_hash = u.h LIMIT 1) l
        WHERE EXISTS (SELECT 1 FROM rsync.ledger WHERE env = $1 AND target = $2)`,
      [flow.env, flow.source.system, hashes],
    );
    for (const r of echo.rows) echoes.add(r.content_hash);
  }
  const toWrite: number[] = [];
  for (const i of candidates) {
    const m = mapped(i);
    const d = ledgerDecision(known.get(m.key), m.hash, echoes.has(m.hash));
    if (d === 'write') toWrite.push(i);
    else finals[i] = { outcome: 'unchanged', key: m.key, why: d };
  }

  // Write in batches; retry the records that failed transiently.
  const items = new Map<number, WriteItem>();
  const item = (i: number): WriteItem => {
    let it = items.get(i);
    if (!it) items.set(i, (it = writeItem(mapped(i), known.get(mapped(i).key)?.targetId)));
    return it;
  };
  for (let b = 0; b < toWrite.length; b += flow.batchSize) {
    const batch = toWrite.slice(b, b + flow.batchSize);
    await writeWithRetries(ctx, run, tx, batch, item, finals);
  }

  // Ledger, dead letters, counts: in the caller's transaction, with its cursor.
  const written = toWrite.filter((i) => finals[i].outcome === 'written');
  if (written.length) {
    await tx.query(
      `INSERT INTO rsync.ledger AS l (env, address, key, target, target_id, content_hash, revision)
       SELECT $1, $2, k, $3, t, h, $4 FROM unnest($5::text[], $6::text[], $7::text[]) AS u(k, t, h)
       ON CONFLICT (env, address, key) DO UPDATE
         SET target_id = excluded.target_id, content_hash = excluded.content_hash, revision = excluded.revision,
             writes = l.writes + 1, updated_at = now()`,
      [
        flow.env,
        flow.address,
        flow.target.system,
        flow.revision,
        written.map((i) => mapped(i).key),
        written.map((i) => (finals[i] as { targetId: string }).targetId),
        written.map((i) => mapped(i).hash),
      ],
    );
  }
  // A dead record's error is kept, logged and shown: without secrets, and without the record's PII values (errors
  // quote values: a cast that failed, a 422 body echoing a field).
  const names = piiNames(flow.pii);
  for (let i = 0; i < finals.length; i++) {
    const f = finals[i];
    if (f.outcome !== 'dead') continue;
    const o = outcomes[i];
    const source = o.kind === 'dead' ? o.source : page.json ? JSON.parse(page.records[i] as string) : page.records[i];
    f.error = maskPiiText(redact(f.error), names, source, o.kind === 'mapped' ? item(i).record : undefined);
    if (page.deadLetter === false) continue;
    await tx.query(
      `INSERT INTO rsync.dead_letters (env, address, customer, revision, run_id, key, stage, error, attempts, payload, replay)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        flow.env,
        flow.address,
        flow.customer,
        flow.revision,
        run.id,
        f.key ?? null,
        f.stage,
        f.error,
        f.attempts,
        JSON.stringify(maskPii(source, names)),
        JSON.stringify(source),
      ],
    );
  }
  const counts = zeroCounts();
  counts.read = finals.length;
  for (const f of finals) counts[f.outcome === 'dead' ? 'dead' : f.outcome]++;
  await tx.query(
    `UPDATE rsync.runs SET read = read + $2, written = written + $3, unchanged = unchanged + $4, filtered = filtered + $5, dead = dead + $6 WHERE id = $1`,
    [run.id, counts.read, counts.written, counts.unchanged, counts.filtered, counts.dead],
  );
  run.counts = addCounts(run.counts, counts);
  return { finals, counts };
}

/** A mapped record as the target's write item: its text as mapped, its object only when a connector asks for it. */
function writeItem(o: Extract<MapOutcome, { kind: 'mapped' }>, targetId: string | undefined): WriteItem {
  let record: Record<string, unknown> | undefined;
  return {
    key: o.key,
    text: o.text,
    fields: fieldNames(o.fields),
    targetId,
    get record() {
      return (record ??= JSON.parse(o.text) as Record<string, unknown>);
    },
  };
}

async function writeWithRetries(
  ctx: PipelineContext,
  run: RunHandle,
  tx: pg.PoolClient,
  indexes: number[],
  item: (i: number) => WriteItem,
  finals: Final[],
): Promise<void> {
  const flow = run.flow;
  let pending = indexes;
  for (let attempt = 1; ; attempt++) {
    let results: WriteResult[];
    try {
      results = await ctx.target.write!(
        flow.target.entity,
        pending.map(item),
        ctx.signal,
        ctx.target.transactional ? tx : undefined,
      );
    } catch (e) {
      // The whole call failed (connection refused, bad settings): every record of the batch shares the outcome.
      const err = e instanceof ConnectorError ? e : new ConnectorError((e as Error).message ?? String(e), true);
      results = pending.map(() => ({
        ok: false as const,
        transient: err.transient,
        error: err.message,
        retryAfterMs: err.retryAfterMs,
      }));
    }
    const retry: number[] = [];
    let retryAfter = 0;
    let reason = '';
    pending.forEach((i, n) => {
      const r = results[n] ?? { ok: false, transient: false, error: 'the target gave no result for this record' };
      if (r.ok) finals[i] = { outcome: 'written', key: item(i).key, targetId: r.targetId };
      else if (!r.transient)
        finals[i] = { outcome: 'dead', key: item(i).key, stage: 'write', error: r.error, attempts: attempt };
      else {
        retry.push(i);
        retryAfter = Math.max(retryAfter, r.retryAfterMs ?? 0);
        reason ||= r.error;
      }
    });
    if (!retry.length) return;
    // The reason is one record's error: logged without secrets or the batch's PII values.
    reason = maskPiiText(redact(reason), piiNames(flow.pii), ...retry.map((i) => item(i).record));
    if (attempt > flow.retry.limit || ctx.signal?.aborted) {
      const why = ctx.signal?.aborted ? 'the worker is stopping' : `gave up after ${attempt} attempts`;
      for (const i of retry)
        finals[i] = {
          outcome: 'dead',
          key: item(i).key,
          stage: 'write',
          error: `${why}: ${reason}`,
          attempts: attempt,
        };
      await runLog(tx, run, { event: 'gave-up', attempt, records: retry.length, reason });
      return;
    }
    const wait = backoffMs(flow, attempt, retryAfter);
    run.retries++;
    await runLog(
      tx,
      run,
      { event: 'backoff', attempt, waitMs: wait, retryAfterMs: retryAfter || undefined, records: retry.length, reason },
      true,
    );
    ctx.log?.(
      `  ${flow.address}: ${retry.length} record(s) failed (${reason}); retry ${attempt}/${flow.retry.limit} in ${(wait / 1000).toFixed(1)} s`,
    );
    await sleep(wait, ctx.signal).catch(() => {});
    pending = retry;
  }
}
