/**
 * The conditions of an Alert, judged at a moment `now` (a parameter, so that a test can let an hour pass in a
 * second): each that holds for a subject is an Observation, keyed `<condition>:<subject>`. What each one reads:
 *
 *   runFailed    the flow's last finished run failed (rsync.runs); it ends when a later run succeeds
 *   authFailed   … and failed on authentication: the connector's `auth` failure (401, 403, a key refused: the run's
 *                log records the kind), or an error text that says so
 *   deadLetters  more than `over` dead letters created within `window` before now
 *   slaBreached  an SLA event open at now (rsync.sla_events, written by the SLA evaluator), per objective
 *   budgetBurn   over the runs started within `window`: dead / (written + unchanged + dead), divided by the error
 *                budget 1 − successRate of the flow's SLA, above `rate` (computed here from the runs' counts)
 *   runStuck     a run of the flow still running, started more than `after` before now
 *   noWorker     no worker of the environment seen within `for` before now (rsync.workers)
 *   rolloutHalted a rollout with a customer the alert watches is halted (rsync.rollouts); it ends when aborted
 */
import {
  deadLettersBetween,
  deadRecordsOf,
  lastFinishedRuns,
  lastWorkerSeen,
  recordOutcomesBetween,
  runsRunningSince,
  slaEventsOpenAt,
} from '../../state/alert-signals.js';
import { haltedRollouts } from '../../state/rollouts.js';
import type pg from 'pg';
import { DEFAULTS } from '../../model/generated/defaults.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { flowsOf, type AlertDef, type WatchedFlow } from './model.js';
import { scrub } from './scrub.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface Observation {
  key: string;
  condition: string;
  subject: string;
  customer: string | null;
  /** One line: what holds, and for what. */
  summary: string;
  /** What is known of it, scrubbed of secrets and PII. */
  detail?: string;
}

/** A failure the connector or the system called an authentication failure, when the run's log has no kind. */
const AUTH_TEXT =
  /\b(401|403)\b|unauthori[sz]ed|forbidden|authenticat|invalid (api )?(key|token|credentials)|access denied/i;

const short = (address: string) => address.replace('/flow/', '/');
const ms = (v: unknown, fallback: string) => parseDuration(v) ?? parseDuration(fallback)!;

export async function observe(db: Queryable, alert: AlertDef, all: WatchedFlow[], now: Date): Promise<Observation[]> {
  const w = alert.when;
  const env = alert.env;
  const flows = flowsOf(alert, all);
  const byAddress = new Map(flows.map((f) => [f.address, f]));
  const addresses = flows.map((f) => f.address);
  const out: Observation[] = [];
  const flowObservation = (condition: string, f: WatchedFlow, summary: string, detail?: string) =>
    out.push({
      key: `${condition}:${f.address}`,
      condition,
      subject: f.address,
      customer: f.customer,
      summary,
      detail,
    });

  if (w.runFailed || w.authFailed) {
    for (const r of await lastFinishedRuns(db, env, addresses, now)) {
      if (r.status !== 'failed') continue;
      const f = byAddress.get(r.address)!;
      const error = scrub(r.error ?? 'no error recorded', f.pii, await deadRecordsOf(db, r.id), f.secrets);
      const detail = `Run ${r.id} failed at ${r.finishedAt.toISOString()}: ${error}`;
      if (w.runFailed) flowObservation('runFailed', f, `Run failed: ${short(f.address)}`, detail);
      if (w.authFailed && (r.auth || AUTH_TEXT.test(r.error ?? '')))
        flowObservation(
          'authFailed',
          f,
          `Authentication failed: ${short(f.address)} (connections ${f.source} → ${f.target})`,
          `${detail}. Check the connection's credentials: rsync connection check ${f.customer}/<connection> --env ${env}.`,
        );
    }
  }
  if (w.deadLetters) {
    const windowMs = ms(w.deadLetters.window, DEFAULTS.DeadLettersCondition.window);
    const counts = await deadLettersBetween(db, env, addresses, new Date(now.getTime() - windowMs), now);
    for (const [address, n] of counts) {
      if (n <= w.deadLetters.over) continue;
      const f = byAddress.get(address)!;
      flowObservation(
        'deadLetters',
        f,
        `Dead letters: ${short(address)} dead-lettered ${n} records in ${formatDuration(windowMs)} (more than ${w.deadLetters.over})`,
        `See them with rsync dlq list --customer ${f.customer} --flow ${f.name} --env ${env}.`,
      );
    }
  }
  if (w.slaBreached) {
    for (const e of await slaEventsOpenAt(db, env, addresses, now)) {
      const f = byAddress.get(e.address)!;
      out.push({
        key: `slaBreached:${e.address}:${e.objective}`,
        condition: 'slaBreached',
        subject: `${e.address}:${e.objective}`,
        customer: f.customer,
        summary: `SLA ${e.sla} breached: ${e.objective} of ${short(e.address)} (objective ${e.target})`,
        detail: [
          `Breached since ${e.startedAt.toISOString()}`,
          e.worst ? `worst ${e.worst}` : undefined,
          e.cause ? scrub(e.cause, f.pii, [], f.secrets) : undefined,
        ]
          .filter(Boolean)
          .join('; '),
      });
    }
  }
  if (w.budgetBurn) {
    const windowMs = ms(w.budgetBurn.window, DEFAULTS.BudgetBurnCondition.window);
    const withBudget = flows.filter((f) => f.successRate !== undefined && f.successRate < 1);
    const outcomes = await recordOutcomesBetween(
      db,
      env,
      withBudget.map((f) => f.address),
      new Date(now.getTime() - windowMs),
      now,
    );
    for (const f of withBudget) {
      const o = outcomes.get(f.address);
      if (!o || o.counted === 0) continue;
      const burn = o.dead / o.counted / (1 - f.successRate!);
      if (burn <= w.budgetBurn.rate) continue;
      flowObservation(
        'budgetBurn',
        f,
        `Error budget burning ${burn.toFixed(1)}× its pace: ${short(f.address)}`,
        `${o.dead} of ${o.counted} records dead-lettered in ${formatDuration(windowMs)} against a success rate of ${(f.successRate! * 100).toFixed(2).replace(/\.?0+$/, '')}% (alerting above ${w.budgetBurn.rate}×).`,
      );
    }
  }
  if (w.runStuck) {
    const afterMs = ms(w.runStuck.after, '1h');
    for (const r of await runsRunningSince(db, env, addresses, new Date(now.getTime() - afterMs))) {
      const f = byAddress.get(r.address)!;
      flowObservation(
        'runStuck',
        f,
        `Run stuck: ${short(r.address)} has run for over ${formatDuration(afterMs)}`,
        `Run ${r.id} started at ${r.startedAt.toISOString()} and has not finished.`,
      );
    }
  }
  if (w.noWorker) {
    const forMs = ms(w.noWorker.for, DEFAULTS.NoWorkerCondition.for);
    const seen = await lastWorkerSeen(db, env);
    if (!seen || seen.getTime() < now.getTime() - forMs) {
      out.push({
        key: `noWorker:${env}`,
        condition: 'noWorker',
        subject: env,
        customer: null,
        summary: `No worker alive in ${env}`,
        detail: seen
          ? `The last worker was seen at ${seen.toISOString()}; flows of ${env} are not running. Start one: rsync worker --env ${env}.`
          : `No worker of ${env} has registered; flows of ${env} are not running. Start one: rsync worker --env ${env}.`,
      });
    }
  }
  if (w.rolloutHalted) {
    const watched = new Set(flows.map((f) => f.customer));
    for (const r of await haltedRollouts(db, env)) {
      if (!r.customers.some((c) => watched.has(c))) continue;
      out.push({
        key: `rolloutHalted:${r.name}`,
        condition: 'rolloutHalted',
        subject: r.name,
        customer: null,
        summary: `Rollout ${r.name} halted in ${env}`,
        detail: `${r.reason ?? 'halted'}. See it with rsync rollout status ${r.name} --env ${env}; abort it with rsync rollout abort ${r.name}.`,
      });
    }
  }
  return out;
}
