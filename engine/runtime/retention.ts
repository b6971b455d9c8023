/**
 * Retention enforced: what a flow's policy keeps for a time (Policy `spec.retention.runs`, `.deliveries`,
 * `.ledger`, `spec.deadLetter.retain`) is deleted once older, by the worker every `--retention-every` (one worker at
 * a time: an advisory lock per environment) or by `rsync purge`. Rows go in small batches (state/retention.ts), a
 * short pause between them, so syncing goes on beside a purge. What a purge deleted is counted in the apply log
 * (action `retention`), which is itself never purged: it is the audit.
 *
 * Flows with the same cutoff are purged together (the usual case: one policy for many customers), so a purge costs
 * a few statements per policy, not per flow. A flow no longer deployed keeps its rows: no policy speaks for it.
 */
import type pg from 'pg';
import { appendLog } from '../state/apply-log.js';
import { releaseClaim, tryClaim } from '../state/locks.js';
import { countPurgeable, oldestKept, purgeBatch, RETAINED_TABLES, type RetainedTable } from '../state/retention.js';
import { databaseNow } from '../state/runs.js';
import { withClient, withTransaction } from '../state/tx.js';
import type { FlowDef, RetentionDef } from './flows.js';

const FIELD: Record<RetainedTable, keyof RetentionDef> = {
  runs: 'runsMs',
  deliveries: 'deliveriesMs',
  deadLetters: 'deadLettersMs',
  ledger: 'ledgerMs',
};

export interface PurgeOptions {
  /** Who purges, for the apply log (`worker:<id>`, or the CLI's actor). */
  actor: string;
  /** Count what would be deleted, delete nothing, log nothing. */
  dryRun?: boolean;
  /** Rows per statement (default 500). */
  batch?: number;
  /** Pause between batches in milliseconds (default 10), so that syncing beside the purge is not held up. */
  pauseMs?: number;
  /** The clock (default: the database's). */
  now?: Date;
  /** After each batch: the table and how many rows it deleted so far (a counter on a terminal). */
  onProgress?: (table: RetainedTable, deleted: number) => void;
  /** Stop between batches when this says so (a draining worker). */
  stopped?: () => boolean;
}

export interface PurgeReport {
  env: string;
  dryRun: boolean;
  at: string;
  /** Rows deleted (or, in a dry run, that would be) per table. */
  deleted: Record<RetainedTable, number>;
  /** Flows with a retention for each table. */
  flows: Record<RetainedTable, number>;
  /** Set when nothing was done, and why (another purge holds the environment). */
  skipped?: string;
  /** The apply-log entry counting what was deleted (absent: nothing was, or a dry run). */
  logEntry?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Flows grouped by their cutoff for `table` (cutoff = now − retention); flows without one are not purged. */
function groups(flows: Iterable<FlowDef>, table: RetainedTable, now: Date): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const f of flows) {
    const ms = f.retention[FIELD[table]];
    if (ms === undefined) continue;
    const cutoff = now.getTime() - ms;
    const list = out.get(cutoff) ?? [];
    list.push(f.address);
    out.set(cutoff, list);
  }
  return out;
}

/** Purge environment `env`'s rows past the retention of `flows` (its deployed flows). */
export async function purgeRetention(
  pool: pg.Pool,
  env: string,
  flows: Iterable<FlowDef>,
  o: PurgeOptions,
): Promise<PurgeReport> {
  const list = [...flows];
  const batch = o.batch ?? 500;
  const now = o.now ?? (await databaseNow(pool));
  const report: PurgeReport = {
    env,
    dryRun: !!o.dryRun,
    at: now.toISOString(),
    deleted: zeroCounts(),
    flows: zeroCounts(),
  };
  const plan = RETAINED_TABLES.map((t) => {
    const g = groups(list, t, now);
    report.flows[t] = [...g.values()].reduce((n, a) => n + a.length, 0);
    return [t, g] as const;
  });
  if (o.dryRun) {
    for (const [t, g] of plan)
      for (const [cutoff, addresses] of g)
        report.deleted[t] += await countPurgeable(pool, t, env, addresses, new Date(cutoff));
    return report;
  }
  return withClient(pool, async (session) => {
    const lock = `retention:${env}`;
    if (!(await tryClaim(session, lock))) return { ...report, skipped: 'another purge of this environment is running' };
    try {
      // Runs before dead letters: a run is kept while an open dead letter names it, and dead letters go after.
      for (const [t, g] of plan)
        for (const [cutoff, addresses] of g) {
          for (;;) {
            if (o.stopped?.()) break;
            const n = await purgeBatch(pool, t, env, addresses, new Date(cutoff), batch);
            report.deleted[t] += n;
            if (n) o.onProgress?.(t, report.deleted[t]);
            if (n < batch) break;
            await sleep(o.pauseMs ?? 10);
          }
        }
      const total = RETAINED_TABLES.reduce((n, t) => n + report.deleted[t], 0);
      if (total > 0)
        report.logEntry = (
          await withTransaction(pool, (tx) =>
            appendLog(tx, {
              env,
              action: 'retention',
              actor: o.actor,
              detail: { deleted: report.deleted, flows: report.flows, at: report.at },
            }),
          )
        ).n;
      return report;
    } finally {
      await releaseClaim(session, lock);
    }
  });
}

/** One line of what a purge did, for the log and the terminal. */
export function purgeSummary(r: PurgeReport): string {
  if (r.skipped) return `retention: skipped (${r.skipped})`;
  const parts = RETAINED_TABLES.map((t) => `${r.deleted[t]} ${LABEL[t]}`);
  return `retention${r.dryRun ? ' (dry run: would delete)' : ': deleted'} ${parts.join(', ')}`;
}

export const LABEL: Record<RetainedTable, string> = {
  runs: 'runs',
  deliveries: 'webhook deliveries',
  deadLetters: 'resolved dead letters',
  ledger: 'ledger rows',
};

export interface RetentionStatus {
  /** The oldest row each table keeps (ISO time; null: the table has none for the environment). */
  oldest: Record<RetainedTable, string | null>;
  /** The last purge that deleted anything (the apply log's last `retention` entry); null: none yet. */
  lastPurge: { at: string; entry: number; deleted: Record<RetainedTable, number> } | null;
}

/** What `rsync status` shows of retention: the oldest row kept per table and the last purge. */
export async function retentionStatus(db: Pick<pg.Pool, 'query'>, env: string): Promise<RetentionStatus> {
  const [oldest, last] = await Promise.all([
    oldestKept(db, env),
    db.query<{ at: Date; n: string; detail: { deleted?: Record<RetainedTable, number> } }>(
      `SELECT at, n, detail FROM rsync.apply_log WHERE env = $1 AND action = 'retention' ORDER BY n DESC LIMIT 1`,
      [env],
    ),
  ]);
  const r = last.rows[0];
  return {
    oldest: Object.fromEntries(RETAINED_TABLES.map((t) => [t, oldest[t]?.toISOString() ?? null])) as Record<
      RetainedTable,
      string | null
    >,
    lastPurge: r
      ? { at: r.at.toISOString(), entry: Number(r.n), deleted: { ...zeroCounts(), ...(r.detail.deleted ?? {}) } }
      : null,
  };
}

const zeroCounts = () => Object.fromEntries(RETAINED_TABLES.map((t) => [t, 0])) as Record<RetainedTable, number>;

/** The lines `rsync status` prints for retention. */
export function renderRetention(s: RetentionStatus): string {
  const day = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : 'none');
  const lines = [
    '',
    `Oldest kept: ${RETAINED_TABLES.map((t) => `${LABEL[t].replace('resolved ', '')} ${day(s.oldest[t])}`).join(' · ')}`,
  ];
  if (s.lastPurge)
    lines.push(
      `Last purge: ${day(s.lastPurge.at)} (apply log entry ${s.lastPurge.entry}): ${RETAINED_TABLES.map((t) => `${s.lastPurge!.deleted[t]} ${LABEL[t]}`).join(', ')}`,
    );
  return lines.join('\n');
}
