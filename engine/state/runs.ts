/**
 * rsync.runs: one row per run of a flow revision (DESIGN: run), with its counts (read = written + unchanged +
 * filtered + dead; the filtered ones also per reason their mapping gave, `filtered_by`, migration 005), its retries and its log (back-off waits, Retry-After, errors). `rsync runs`, `rsync status`
 * and `rsync run --wait` read it here.
 */
import type pg from 'pg';
import { redact, redactValue } from '../connectors/secrets.js';
import { WORKER_APP } from './workers.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** What became of a run's records (promise 3: every record is exactly one of the four). */
export interface Counts {
  read: number;
  written: number;
  unchanged: number;
  filtered: number;
  dead: number;
  /**
   * The filtered records whose mapping said why (`{ "$filter": "<reason>" }`, engine/mapping/filter.ts), by reason;
   * `filtered` minus their sum gave no reason. Absent when none did.
   */
  filteredBy?: Record<string, number>;
}

/** Reason → count, summed. */
export function addReasons(
  a: Record<string, number> | undefined,
  b: Record<string, number> | undefined,
): Record<string, number> | undefined {
  if (!b || !Object.keys(b).length) return a;
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

export const zeroCounts = (): Counts => ({ read: 0, written: 0, unchanged: 0, filtered: 0, dead: 0 });

export function addCounts(a: Counts, b: Counts): Counts {
  return {
    read: a.read + b.read,
    written: a.written + b.written,
    unchanged: a.unchanged + b.unchanged,
    filtered: a.filtered + b.filtered,
    dead: a.dead + b.dead,
    ...withReasons(addReasons(a.filteredBy, b.filteredBy)),
  };
}

const withReasons = (r: Record<string, number> | undefined) => (r && Object.keys(r).length ? { filteredBy: r } : {});

export type RunStatus = 'succeeded' | 'failed' | 'interrupted';

/**
 * What a run came to, for people and scripts: its status, except that a succeeded run that dead-lettered records
 * does not read as a plain success (issue 21: a flow whose every record died showed "succeeded"). The stored status
 * stays `succeeded` — the run did its work, its cursor moved, the SLA's freshness counts it — and the dead letters
 * wait in `rsync dlq`.
 */
export type RunOutcome = RunStatus | 'running' | 'succeeded-with-dead-letters' | 'all-dead-lettered';

export function runOutcome(r: { status: string; read: number; dead: number }): RunOutcome {
  if (r.status !== 'succeeded' || r.dead === 0) return r.status as RunOutcome;
  return r.dead >= r.read ? 'all-dead-lettered' : 'succeeded-with-dead-letters';
}

/** The outcome as the runs table and `rsync run --wait` write it. */
export function describeOutcome(r: { status: string; read: number; dead: number }): string {
  const o = runOutcome(r);
  if (o === 'succeeded-with-dead-letters') return `succeeded with ${r.dead} dead-lettered`;
  if (o === 'all-dead-lettered') return 'every record dead-lettered';
  return o;
}

export interface RunRow extends Counts {
  id: number;
  address: string;
  revision: number;
  trigger: string;
  status: string;
  /** runOutcome: the status, or how a succeeded run's records fared when some were dead-lettered. */
  outcome: RunOutcome;
  worker: string;
  startedAt: string;
  finishedAt: string | null;
  retries: number;
  error: string | null;
  log: Record<string, unknown>[];
}

/** Insert a running run; its `trace` (the id its log lines carry) is the first entry of its log. */
export async function insertRun(
  db: Queryable,
  r: { env: string; address: string; revision: number; trigger: string; worker: string; trace?: string },
): Promise<number> {
  const log = r.trace ? [{ at: new Date().toISOString(), event: 'start', trace: r.trace }] : [];
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO rsync.runs (env, address, revision, trigger, worker, log) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [r.env, r.address, r.revision, r.trigger, r.worker, JSON.stringify(log)],
  );
  return Number(rows[0].id);
}

/**
 * Close a run; `error` is kept and logged (through `redact` once more: no secret is kept, whatever the caller did),
 * with the connector's kind of failure when it was one (`auth`: the alerts' authFailed condition reads it).
 */
export async function closeRun(
  db: Queryable,
  id: number,
  status: RunStatus,
  reason?: string,
  kind?: string,
): Promise<void> {
  const error = reason === undefined ? undefined : redact(reason);
  const entry = error
    ? [{ at: new Date().toISOString(), event: 'error', message: error, ...(kind ? { kind } : {}) }]
    : [];
  await db.query(
    `UPDATE rsync.runs SET status = $2, finished_at = now(), error = $3, log = log || $4::jsonb WHERE id = $1`,
    [id, status, error ?? null, JSON.stringify(entry)],
  );
}

/** Append an entry to a run's log (its strings through `redact`); `retry` also counts a retry. */
export async function appendRunLog(
  db: Queryable,
  id: number,
  entry: Record<string, unknown>,
  retry = false,
): Promise<void> {
  await db.query(`UPDATE rsync.runs SET log = log || $2::jsonb, retries = retries + $3 WHERE id = $1`, [
    id,
    JSON.stringify([{ at: new Date().toISOString(), ...redactValue(entry) }]),
    retry ? 1 : 0,
  ]);
}

/** Add a page's counts to its run, in the transaction that commits the page. */
export async function addRunCounts(tx: Queryable, id: number, c: Counts): Promise<void> {
  await tx.query(
    `UPDATE rsync.runs SET read = read + $2, written = written + $3, unchanged = unchanged + $4, filtered = filtered + $5, dead = dead + $6,
            filtered_by = CASE WHEN $7::jsonb = '{}'::jsonb THEN filtered_by ELSE rsync.add_counts(filtered_by, $7::jsonb) END
      WHERE id = $1`,
    [id, c.read, c.written, c.unchanged, c.filtered, c.dead, JSON.stringify(c.filteredBy ?? {})],
  );
}

/** Runs left 'running' by a worker that is gone (killed, or its machine died) were interrupted: say so. */
/** The database's clock (runs' times are its times). */
export async function databaseNow(db: Queryable): Promise<Date> {
  return (await db.query<{ now: Date }>('SELECT now()')).rows[0].now;
}

/** Close the runs a live worker started before `before` and left 'running' (its connection died mid-run). */
export async function interruptRunsOf(db: Queryable, worker: string, before: Date, why: string): Promise<number> {
  const r = await db.query(
    `UPDATE rsync.runs SET status = 'interrupted', finished_at = now(), error = $3
      WHERE status = 'running' AND worker = $1 AND started_at < $2`,
    [worker, before, why],
  );
  return r.rowCount ?? 0;
}

export async function interruptOrphanedRuns(db: Queryable, env: string): Promise<void> {
  await db.query(
    `UPDATE rsync.runs SET status = 'interrupted', finished_at = now(), error = 'the worker running it stopped'
      WHERE status = 'running' AND env = $1 AND worker NOT LIKE 'cli:%'
        AND left(worker, 50) NOT IN (SELECT left(substr(application_name, $2), 50) FROM pg_stat_activity WHERE application_name LIKE $3)`,
    [env, WORKER_APP.length + 1, `${WORKER_APP}%`],
  );
}

const RUN_COLUMNS = `id::int, address, revision, trigger, status, worker, started_at AS "startedAt", finished_at AS "finishedAt",
  read::int, written::int, unchanged::int, filtered::int, dead::int, filtered_by AS "filteredBy", retries, error, log`;

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d === null || d === undefined ? null : String(d));

function toRun(r: Record<string, unknown>): RunRow {
  const { filteredBy, ...rest } = r;
  return {
    ...(rest as unknown as RunRow),
    ...withReasons(filteredBy as Record<string, number> | undefined),
    startedAt: iso(r.startedAt)!,
    finishedAt: iso(r.finishedAt),
    outcome: runOutcome(rest as unknown as RunRow),
  };
}

export async function listRuns(
  db: Queryable,
  env: string,
  opts: { address?: string; customer?: string; limit?: number } = {},
): Promise<RunRow[]> {
  const params: unknown[] = [env];
  const w = ['env = $1'];
  if (opts.address) {
    params.push(opts.address);
    w.push(`address = $${params.length}`);
  }
  if (opts.customer) {
    params.push(`${opts.customer}/%`);
    w.push(`address LIKE $${params.length}`);
  }
  params.push(opts.limit ?? 20);
  const { rows } = await db.query(
    `SELECT ${RUN_COLUMNS} FROM rsync.runs WHERE ${w.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRun);
}

export async function getRun(db: Queryable, id: number): Promise<RunRow | undefined> {
  const { rows } = await db.query(`SELECT ${RUN_COLUMNS} FROM rsync.runs WHERE id = $1`, [id]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

export interface LastRun {
  id: number;
  status: string;
  at: Date;
  read: number;
  written: number;
  dead: number;
}

/** Per flow: its last run, when it last succeeded, and the records it read in the last hour. */
export async function runSummaries(
  db: Queryable,
  env: string,
  addresses: string[],
): Promise<{ last: Map<string, LastRun>; succeededAt: Map<string, Date>; readLastHour: Map<string, number> }> {
  const [last, ok, hour] = await Promise.all([
    db.query(
      `SELECT DISTINCT ON (address) address, id::int, status, coalesce(finished_at, started_at) AS at, read::int, written::int, dead::int
         FROM rsync.runs WHERE env = $1 AND address = ANY($2) ORDER BY address, id DESC`,
      [env, addresses],
    ),
    db.query(
      `SELECT address, max(finished_at) AS at FROM rsync.runs WHERE env = $1 AND address = ANY($2) AND status = 'succeeded' GROUP BY address`,
      [env, addresses],
    ),
    db.query(
      `SELECT address, sum(read)::int AS n FROM rsync.runs WHERE env = $1 AND address = ANY($2) AND started_at > now() - interval '1 hour' GROUP BY address`,
      [env, addresses],
    ),
  ]);
  return {
    last: new Map(last.rows.map((r) => [String(r.address), r as LastRun])),
    succeededAt: new Map(ok.rows.map((r) => [String(r.address), r.at as Date])),
    readLastHour: new Map(hour.rows.map((r) => [String(r.address), r.n as number])),
  };
}

/** The newest run's id (0: none yet): a mark to count the runs after it. */
export async function lastRunId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: string }>(`SELECT coalesce(max(id), 0) AS id FROM rsync.runs`);
  return Number(rows[0].id);
}

/** Runs after the mark `since`: the flows whose non-event run finished, and how many still run. */
export async function runsSince(
  db: Queryable,
  env: string,
  since: number,
): Promise<{ finished: number; running: number }> {
  const { rows } = await db.query<{ finished: string; running: string }>(
    `SELECT (SELECT count(DISTINCT address) FROM rsync.runs WHERE env = $1 AND id > $2 AND trigger <> 'event' AND status <> 'running') AS finished,
            (SELECT count(*) FROM rsync.runs WHERE env = $1 AND id > $2 AND status = 'running') AS running`,
    [env, since],
  );
  return { finished: Number(rows[0].finished), running: Number(rows[0].running) };
}

/** Per flow, the counts of its runs after the mark `since`. */
export async function countsSince(
  db: Queryable,
  env: string,
  since: number,
): Promise<({ address: string } & Counts)[]> {
  const { rows } = await db.query<{ address: string; filteredBy: Record<string, number> | null } & Counts>(
    `SELECT address, sum(read)::int AS read, sum(written)::int AS written, sum(unchanged)::int AS unchanged, sum(filtered)::int AS filtered, sum(dead)::int AS dead,
            (SELECT jsonb_object_agg(k, n) FROM (SELECT e.key AS k, sum(e.value::int)::int AS n
               FROM rsync.runs r2, jsonb_each_text(r2.filtered_by) AS e
              WHERE r2.env = $1 AND r2.id > $2 AND r2.address = r.address GROUP BY e.key) AS t) AS "filteredBy"
       FROM rsync.runs r WHERE env = $1 AND id > $2 GROUP BY address ORDER BY address`,
    [env, since],
  );
  return rows.map(({ filteredBy, ...c }) => ({ ...c, ...withReasons(filteredBy ?? undefined) }));
}
