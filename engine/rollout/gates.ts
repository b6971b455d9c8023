/**
 * A cohort's gate, judged at a moment `now` (a parameter: a test lets an hour pass in a second). Every condition the
 * gate gives is checked; the verdict is `fail` when one failed (the rollout halts), `pass` when all passed (the
 * next cohort is applied), `wait` otherwise. What each condition reads:
 *
 *   wait               the time since the cohort was applied
 *   maxDeadLetterRate  dead / (written + unchanged + dead) over the runs of the cohort's flows started since it was
 *                      applied (rsync.runs); fails above the maximum, passes once `minRecords` were counted
 *   slaHeld            no SLA breach open on the cohort's flows (rsync.sla_events); one open fails
 *   reconciliation     each customer's latest run of the named reconciliation check (`signals.reconciliation`),
 *                      finished after the cohort was applied: all ok passes, one with mismatches fails
 *   approval           `rsync rollout approve` recorded on the cohort
 */
import type pg from 'pg';
import { recordOutcomesBetween, slaEventsOpenAt } from '../state/alert-signals.js';
import type { CohortRow } from '../state/rollouts.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { RolloutGate } from '../model/generated/index.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** The latest run of a reconciliation check (engine/state/reconciliations.ts's signature). */
export type LatestReconciliation = (
  db: Queryable,
  env: string,
  customer: string,
  name: string,
) => Promise<{ ok: boolean; finishedAt: Date; mismatches: number } | undefined>;

export interface GateSignals {
  reconciliation: LatestReconciliation;
}

export type Outcome = 'pass' | 'wait' | 'fail';

export interface GateCheck {
  condition: keyof RolloutGate;
  outcome: Outcome;
  /** What was seen, in words. */
  detail: string;
}

export interface GateVerdict {
  outcome: Outcome;
  checks: GateCheck[];
  /** The first failed check's detail, or what is still awaited. */
  reason: string;
}

/** A percentage (`"0.5%"`) as an exact fraction: numerator over denominator. */
function fraction(p: string): { n: number; d: number } {
  const [whole, decimals = ''] = p.replace('%', '').split('.');
  const d = 100 * 10 ** decimals.length;
  return { n: Number(whole) * 10 ** decimals.length + Number(decimals || 0), d };
}

async function flowsOf(db: Queryable, env: string, customers: string[]): Promise<string[]> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT address FROM rsync.resources WHERE env = $1 AND kind = 'flow' AND customer = ANY($2) ORDER BY address`,
    [env, customers],
  );
  return rows.map((r) => r.address);
}

export async function judgeGate(
  db: Queryable,
  env: string,
  cohort: Pick<CohortRow, 'customers' | 'gate' | 'appliedAt' | 'approvedBy' | 'approvedAt'>,
  now: Date,
  signals: GateSignals,
): Promise<GateVerdict> {
  const gate = cohort.gate as RolloutGate;
  const since = cohort.appliedAt ?? now;
  const checks: GateCheck[] = [];
  const flows = await flowsOf(db, env, cohort.customers);
  if (gate.wait) {
    const need = parseDuration(gate.wait) ?? 0;
    const waited = Math.max(0, now.getTime() - since.getTime());
    checks.push({
      condition: 'wait',
      outcome: waited >= need ? 'pass' : 'wait',
      detail: `${formatDuration(waited)} of ${gate.wait} waited`,
    });
  }
  if (gate.maxDeadLetterRate) {
    const outcomes = await recordOutcomesBetween(db, env, flows, since, now);
    let dead = 0;
    let counted = 0;
    for (const o of outcomes.values()) {
      dead += o.dead;
      counted += o.counted;
    }
    const max = fraction(gate.maxDeadLetterRate);
    const min = gate.minRecords ?? 1;
    const rate = counted ? `${((dead / counted) * 100).toFixed(2).replace(/\.?0+$/, '')}%` : 'no records yet';
    const over = dead * max.d > max.n * counted;
    checks.push({
      condition: 'maxDeadLetterRate',
      outcome: counted && over ? 'fail' : counted >= min ? 'pass' : 'wait',
      detail: `${dead} of ${counted} records dead-lettered since the cohort was applied (${rate}; at most ${gate.maxDeadLetterRate}${counted < min ? `, ${min} records needed` : ''})`,
    });
  }
  if (gate.slaHeld) {
    const open = await slaEventsOpenAt(db, env, flows, now);
    checks.push({
      condition: 'slaHeld',
      outcome: open.length ? 'fail' : 'pass',
      detail: open.length
        ? `SLA breached: ${open.map((e) => `${e.objective} of ${e.address} (objective ${e.target})`).join(', ')}`
        : 'no SLA breach open',
    });
  }
  if (gate.reconciliation) {
    const name = gate.reconciliation;
    const results = await Promise.all(
      cohort.customers.map(async (c) => ({ c, r: await signals.reconciliation(db, env, c, name) })),
    );
    const failed = results.filter((x) => x.r && x.r.finishedAt >= since && !x.r.ok);
    const awaited = results.filter((x) => !x.r || x.r.finishedAt < since);
    checks.push({
      condition: 'reconciliation',
      outcome: failed.length ? 'fail' : awaited.length ? 'wait' : 'pass',
      detail: failed.length
        ? `reconciliation ${name} found mismatches: ${failed.map((x) => `${x.c} (${x.r!.mismatches})`).join(', ')}`
        : awaited.length
          ? `reconciliation ${name} not yet run since the cohort was applied for ${awaited.map((x) => x.c).join(', ')}`
          : `reconciliation ${name} passed for every customer`,
    });
  }
  if (gate.approval) {
    checks.push({
      condition: 'approval',
      outcome: cohort.approvedBy ? 'pass' : 'wait',
      detail: cohort.approvedBy ? `approved by ${cohort.approvedBy}` : 'awaiting approval (rsync rollout approve)',
    });
  }
  const failed = checks.find((c) => c.outcome === 'fail');
  const waiting = checks.filter((c) => c.outcome === 'wait');
  return {
    outcome: failed ? 'fail' : waiting.length ? 'wait' : 'pass',
    checks,
    reason: failed ? failed.detail : waiting.length ? waiting.map((c) => c.detail).join('; ') : 'gate passed',
  };
}
