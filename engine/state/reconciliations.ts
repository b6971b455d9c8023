/**
 * rsync.reconciliations (migration 018): one row per run of a Reconciliation check (runtime/reconcile/), with the
 * window it compared, what each side held and the mismatches by key. The worker's schedule, `rsync reconcile`,
 * `rsync status`, `/metrics` and a rollout's gate (latestReconciliation) read it. Only keys and totals are kept,
 * never a record's content.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** Keys of one kind of mismatch: the first `maxKeys` of them (sorted) and how many there are in all. */
export interface KeyList {
  count: number;
  keys: string[];
}

/** One side of a run: its system, what it read and what it holds in the window. */
export interface SideResult {
  /** `<customer>/<connection>` */
  system: string;
  /** `stream orders` or `entity salesOrder` */
  reads: string;
  /** Records read from the system (before the window and the filter). */
  read: number;
  /** Records in the window that passed the filter: those compared. */
  records: number;
  /** Sums of the amounts by currency (decimal text); `currency` null when the side gives no currency. */
  totals: { currency: string | null; amount: string }[];
  /** Keys that appear more than once on this side. */
  duplicates: KeyList;
  /** Records that could not be compared (no key, no time, an amount that is not a decimal), with the first reasons. */
  invalid: { count: number; reasons: string[] };
}

/** The result of a run, as stored (the `result` column) and as `rsync reconcile --json` prints it. */
export interface ReconciliationResult {
  left: SideResult;
  right: SideResult;
  /** Keys the left side has and the right lacks. */
  onlyLeft: KeyList;
  /** Keys the right side has and the left lacks. */
  onlyRight: KeyList;
  /** Keys on both sides whose amount or currency differs: the first `maxKeys`, with both sides' values. */
  amounts: { count: number; keys: { key: string; left: string; right: string }[] };
  /** Per currency: both sides' sums and their difference (left − right), decimal text. */
  currencies: { currency: string | null; left: string; right: string; difference: string; ok: boolean }[];
}

export interface ReconciliationRun {
  id: number;
  env: string;
  /** `<customer>/reconciliation/<name>` */
  address: string;
  customer: string;
  name: string;
  revision: number;
  trigger: 'schedule' | 'manual';
  windowStart: Date;
  windowEnd: Date;
  startedAt: Date;
  finishedAt: Date;
  ok: boolean;
  /** Keys only one side has, amounts that differ, keys twice on a side, records that could not be compared. */
  mismatches: number;
  error: string | null;
  result: ReconciliationResult | null;
}

export type NewReconciliationRun = Omit<ReconciliationRun, 'id' | 'finishedAt'>;

const COLUMNS = `id::int, env, address, customer, name, revision, trigger, window_start AS "windowStart",
  window_end AS "windowEnd", started_at AS "startedAt", finished_at AS "finishedAt", ok, mismatches, error, result`;

export async function recordReconciliation(db: Queryable, r: NewReconciliationRun): Promise<ReconciliationRun> {
  const { rows } = await db.query<ReconciliationRun>(
    `INSERT INTO rsync.reconciliations
       (env, address, customer, name, revision, trigger, window_start, window_end, started_at, ok, mismatches, error, result)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     RETURNING ${COLUMNS}`,
    [
      r.env,
      r.address,
      r.customer,
      r.name,
      r.revision,
      r.trigger,
      r.windowStart,
      r.windowEnd,
      r.startedAt,
      r.ok,
      r.mismatches,
      r.error,
      JSON.stringify(r.result ?? {}),
    ],
  );
  return normalise(rows[0]);
}

/** A stored empty result (a run that failed to read) is null. */
function normalise(r: ReconciliationRun): ReconciliationRun {
  const empty = !r.result || Object.keys(r.result).length === 0;
  return { ...r, result: empty ? null : r.result };
}

/**
 * The latest run of a check, for a rollout's gate: whether it passed, when it finished and how many mismatches it
 * found; undefined when the check never ran in the environment.
 */
export async function latestReconciliation(
  db: Queryable,
  env: string,
  customer: string,
  name: string,
): Promise<{ ok: boolean; finishedAt: Date; mismatches: number } | undefined> {
  const { rows } = await db.query<{ ok: boolean; finishedAt: Date; mismatches: number }>(
    `SELECT ok, finished_at AS "finishedAt", mismatches FROM rsync.reconciliations
      WHERE env = $1 AND customer = $2 AND name = $3 ORDER BY finished_at DESC, id DESC LIMIT 1`,
    [env, customer, name],
  );
  return rows[0];
}

/** The latest run of every check of an environment (of one customer when given), by address. */
export async function latestReconciliations(
  db: Queryable,
  env: string,
  customer?: string,
): Promise<ReconciliationRun[]> {
  const { rows } = await db.query<ReconciliationRun>(
    `SELECT DISTINCT ON (customer, name) ${COLUMNS} FROM rsync.reconciliations
      WHERE env = $1 AND ($2::text IS NULL OR customer = $2)
      ORDER BY customer, name, finished_at DESC, id DESC`,
    [env, customer ?? null],
  );
  return rows.map(normalise);
}
