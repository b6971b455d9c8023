/**
 * The promotion soak: before `rsync promote` brings customers from one environment to the next, the source must have
 * run what is promoted for the workspace's soak time, with no more dead letters than its rate allows
 * (`spec.promotion: { soak: 1h, maxDeadLetterRate: "0.5%" }` in rsync.yaml, both optional).
 *
 * "Since the change" is since the latest apply, in the source environment, of any resource promoted (the promoted
 * customers', and the partner-wide ones with --include-workspace): promote has already checked that the source runs
 * exactly what is promoted, so the newest of those applies is when the source started running all of it. The rate
 * is the dead-lettered records over the records read by the runs of those customers' flows started since then.
 */
import type pg from 'pg';
import { appendLog } from '../state/apply-log.js';
import { withTransaction } from '../state/tx.js';
import { formatDuration, parseDuration } from '../util/duration.js';

export interface SoakSettings {
  soak?: unknown;
  maxDeadLetterRate?: unknown;
}

export interface SoakFinding {
  env: string;
  /** When the source started running what is promoted (its latest apply of it); null: nothing of it deployed. */
  since: string | null;
  ranForMs: number;
  soakMs: number | null;
  read: number;
  dead: number;
  /** dead / read as a percentage string with two decimals ("0.40%"); null when nothing was read. */
  rate: string | null;
  maxRate: string | null;
  /** Why the soak is not met (empty: it is). */
  problems: string[];
}

/** "0.5%" → 0.005; undefined for anything else. */
export function parsePercentage(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  return m ? Number(m[1]) / 100 : undefined;
}

/** The soak finding of the promoted customers in the source environment, or null when rsync.yaml asks for none. */
export async function checkSoak(
  pool: pg.Pool,
  env: string,
  scope: { customers: string[]; workspace: boolean },
  settings: SoakSettings | undefined,
  now: Date,
): Promise<SoakFinding | null> {
  const soakMs = parseDuration(settings?.soak) ?? null;
  const maxRate = parsePercentage(settings?.maxDeadLetterRate);
  if (soakMs === null && maxRate === undefined) return null;
  const inScope = `env = $1 AND (customer = ANY($2) OR ($3 AND customer IS NULL))`;
  const since = (
    await pool.query<{ at: Date | null }>(`SELECT max(applied_at) AS at FROM rsync.resources WHERE ${inScope}`, [
      env,
      scope.customers,
      scope.workspace,
    ])
  ).rows[0].at;
  const counts = since
    ? (
        await pool.query<{ read: string; dead: string }>(
          `SELECT coalesce(sum(r.read), 0) AS read, coalesce(sum(r.dead), 0) AS dead FROM rsync.runs r
            WHERE r.env = $1 AND r.started_at >= $2 AND split_part(r.address, '/', 1) = ANY($3)`,
          [env, since, scope.customers],
        )
      ).rows[0]
    : { read: '0', dead: '0' };
  const read = Number(counts.read);
  const dead = Number(counts.dead);
  const ranForMs = since ? Math.max(0, now.getTime() - since.getTime()) : 0;
  const rate = read > 0 ? dead / read : null;
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const problems: string[] = [];
  if (soakMs !== null && ranForMs < soakMs) {
    problems.push(
      since
        ? `${env} has run it for ${formatDuration(ranForMs)} of the ${formatDuration(soakMs)} soak: ${formatDuration(soakMs - ranForMs)} left`
        : `${env} has not run it yet (the soak is ${formatDuration(soakMs)})`,
    );
  }
  if (maxRate !== undefined && rate !== null && rate > maxRate) {
    problems.push(
      `its dead-letter rate in ${env} since then is ${pct(rate)} (${dead} of ${read} records), above ${settings?.maxDeadLetterRate}`,
    );
  }
  return {
    env,
    since: since ? since.toISOString() : null,
    ranForMs,
    soakMs,
    read,
    dead,
    rate: rate === null ? null : pct(rate),
    maxRate: maxRate === undefined ? null : String(settings?.maxDeadLetterRate),
    problems,
  };
}

/** An overridden soak, in the target environment's apply log (the promotion commit's trailer says it too). */
export async function recordSkippedSoak(
  pool: pg.Pool,
  p: { from: { env: string }; to: { env: string; branch: string }; customers: string[]; promoter: string },
  finding: SoakFinding & { skipped?: string },
  commit: string,
): Promise<number> {
  return withTransaction(pool, async (client) => {
    const entry = await appendLog(client, {
      env: p.to.env,
      action: 'promote-skip-soak',
      actor: p.promoter,
      commit,
      ref: p.to.branch,
      detail: {
        from: p.from.env,
        customers: p.customers,
        reason: finding.skipped,
        soak: {
          since: finding.since,
          ranFor: finding.ranForMs,
          read: finding.read,
          dead: finding.dead,
          rate: finding.rate,
        },
        problems: finding.problems,
      },
    });
    return entry.n;
  });
}
