/**
 * SLAs evaluated, not only declared. Each flow's effective SLA (flow.sla, else its customer's, else the
 * workspace's: FlowDef.sla) has up to three objectives, and this module measures them from the state database:
 *
 *  - freshness: lag as `rsync status` counts it — since the last successful run (schedule and manual flows), or
 *    the oldest undelivered webhook (event flows). A breach starts when lag first passed the objective: the last
 *    success + freshness (a delivery's arrival + freshness), not when the evaluator noticed; it ends when the next
 *    run succeeds (the late deliveries are done).
 *  - latencyP95: for event flows, the 95th percentile of received_at → done_at of the deliveries done in the last
 *    hour. Breached while it is above the objective: from the first slow delivery of that hour to the evaluation
 *    that finds it met again.
 *  - successRate: the share of the month's records (read = written + unchanged + filtered + dead) not dead-lettered,
 *    from rsync.runs. Breached while the month's tally is below the objective: from the end of the run that tipped
 *    it to the end of the run that brought it back (or the month's end).
 *
 * And the error budget left for the month (README, "SLAs and error budgets", has the definition and a worked
 * example): records, (1 − successRate) × the month's records, used by dead letters; and time, (1 − successRate) ×
 * the minutes of the month, used by the minutes in freshness breaches.
 *
 * evaluateSlas() is what the worker runs every N seconds (one worker at a time: a transaction advisory lock). It
 * derives the breaches since the last evaluation, so one that began and ended between two evaluations is still
 * recorded, with its true start and end; it returns what it opened and closed, for the alerts.
 */
import type pg from 'pg';
import {
  endSlaEvent,
  lastSlaEvaluation,
  type NewSlaEvent,
  type Objective,
  openSlaEvents,
  recordSlaEvent,
  type SlaEvent,
  setSlaEvaluation,
  slaEventsBetween,
  tryLockSlaEvaluation,
  updateSlaEventWorst,
} from '../state/sla-events.js';
import {
  countsBetween,
  flowsDeadLetteringSince,
  latencyP95,
  lateDeliveries,
  runningTally,
  runStatusesBetween,
  successesSince,
} from '../state/sla-inputs.js';
import { type Counts, zeroCounts } from '../state/runs.js';
import { withTransaction } from '../state/tx.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { type FlowDef, loadFlows } from './flows.js';

type Queryable = Pick<pg.Pool, 'query'>;

export type { Objective, SlaEvent } from '../state/sla-events.js';

/** The window of the latency objective: the deliveries done in the last hour. */
export const LATENCY_WINDOW_MS = 3_600_000;

// ------------------------------------------------------------------------------------------------ months

/** A calendar month in UTC, [start, end). */
export interface Month {
  /** `2026-11` */
  name: string;
  start: Date;
  end: Date;
}

export function monthOf(at: Date): Month {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { name: start.toISOString().slice(0, 7), start, end };
}

/** `2026-11` → that month; undefined when the text is not a month. */
export function parseMonth(text: string): Month | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(text.trim());
  return m ? monthOf(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1))) : undefined;
}

const previousMonth = (m: Month): Month => monthOf(new Date(m.start.getTime() - 1));

// ------------------------------------------------------------------------------------------------ objectives

/** A percentage as a fraction num/den, exactly ("99.9%" → 999/1000), so that budgets are not float noise. */
export interface Rate {
  num: number;
  den: number;
}

export function parseRate(text: string | undefined): Rate | undefined {
  const m = text === undefined ? null : /^(\d{1,3})(?:\.(\d{1,9}))?%$/.exec(text.trim());
  if (!m) return undefined;
  const decimals = m[2] ?? '';
  const den = 100 * 10 ** decimals.length;
  const num = Number(m[1] + decimals);
  return num <= den ? { num, den } : undefined;
}

/** A share as a percentage with two decimals, rounded down (99.996% reads 99.99%, never 100.00%). */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return '100.00%';
  return `${(Math.floor((part / whole) * 10_000) / 100).toFixed(2)}%`;
}

interface Objectives {
  freshnessMs?: number;
  latencyMs?: number;
  rate?: Rate;
}

function objectivesOf(f: FlowDef): Objectives {
  return {
    freshnessMs: parseDuration(f.sla?.freshness) ?? f.freshnessMs,
    latencyMs: f.trigger === 'event' ? parseDuration(f.sla?.latencyP95) : undefined,
    rate: parseRate(f.sla?.successRate),
  };
}

// ------------------------------------------------------------------------------------------------ evaluation

export interface SlaEvaluation {
  /** True when another session was evaluating the environment (nothing was done). */
  skipped: boolean;
  /** The evaluation's time, and where the previous one got to. */
  at: Date;
  since: Date;
  /** Breaches that began (including those that began and ended since the last evaluation). */
  opened: SlaEvent[];
  /** Breaches that ended. */
  closed: SlaEvent[];
}

/** A breach derived from the runs and deliveries: [start, end), end null while it lasts. */
interface Interval {
  start: Date;
  end: Date | null;
  worst: string;
  cause: string;
}

/**
 * Evaluate the SLAs of `flows` (one environment's) at `now` (the database's clock when not given), record the
 * breaches in rsync.sla_events, and return those opened and closed. Only one session evaluates an environment at
 * a time: another one gets `skipped: true` at once.
 */
export async function evaluateSlas(
  pool: pg.Pool,
  env: string,
  flows: Iterable<FlowDef>,
  now?: Date,
): Promise<SlaEvaluation> {
  const list = [...flows].filter((f) => f.env === env && f.sla);
  return withTransaction(pool, async (tx) => {
    const at = now ?? (await tx.query<{ now: Date }>('SELECT now()')).rows[0].now;
    if (!(await tryLockSlaEvaluation(tx, env))) return { skipped: true, at, since: at, opened: [], closed: [] };
    const last = await lastSlaEvaluation(tx, env);
    // The first evaluation looks back over the previous month and this one; later ones from where the last got to.
    const since = last && last < at ? last : previousMonth(monthOf(at)).start;
    const open = new Map((await openSlaEvents(tx, env)).map((e) => [`${e.address} ${e.objective}`, e]));
    const openRated = new Set([...open.values()].filter((e) => e.objective === 'successRate').map((e) => e.address));
    const derived = await derive(tx, env, list, since, at, openRated);
    const out: SlaEvaluation = { skipped: false, at, since, opened: [], closed: [] };
    for (const f of list) {
      for (const objective of ['freshness', 'latencyP95', 'successRate'] as const) {
        const d = derived.get(`${f.address} ${objective}`);
        const o = open.get(`${f.address} ${objective}`);
        open.delete(`${f.address} ${objective}`);
        if (!d && !o) continue;
        await reconcile(tx, f, objective, d?.intervals ?? [], o, since, at, d?.continuing ?? false, out);
      }
    }
    // Breaches of flows no longer deployed (or whose SLA lost the objective) end now.
    for (const o of open.values()) out.closed.push(await endSlaEvent(tx, o.id, at, null));
    await setSlaEvaluation(tx, env, at);
    return out;
  });
}

/**
 * Write what was derived for one flow and objective: the open breach (if any) continues into, or ends with, the
 * derived interval that was already under way at `since` (for latency, any: its start moves with the window);
 * every other derived interval that ended after `since` or lasts is recorded, once.
 */
async function reconcile(
  tx: Queryable,
  f: FlowDef,
  objective: Objective,
  intervals: Interval[],
  open: SlaEvent | undefined,
  since: Date,
  now: Date,
  continuing: boolean,
  out: SlaEvaluation,
): Promise<void> {
  let rest = intervals;
  if (open) {
    const i = intervals.findIndex((d) => continuing || d.start <= since || d.start <= open.startedAt);
    const d = i >= 0 ? intervals[i] : undefined;
    if (i >= 0) rest = intervals.filter((_, j) => j !== i);
    const worst = d ? worse(objective, open.worst, d.worst) : open.worst;
    if (d && d.end === null) {
      if (worst && worst !== open.worst) await updateSlaEventWorst(tx, open.id, worst);
    } else out.closed.push(await endSlaEvent(tx, open.id, d?.end ?? now, worst));
  }
  for (const d of rest) {
    if (d.end !== null && d.end <= since) continue;
    const e: NewSlaEvent = {
      env: f.env,
      address: f.address,
      customer: f.customer,
      sla: f.sla!.name,
      objective,
      target: targetOf(f, objective),
      startedAt: d.start,
      endedAt: d.end,
      worst: d.worst,
      cause: d.cause,
    };
    const r = await recordSlaEvent(tx, e);
    if (r.inserted) out.opened.push(r.event);
    if (r.ended) out.closed.push(r.event);
  }
}

function targetOf(f: FlowDef, objective: Objective): string {
  const s = f.sla!;
  return (objective === 'freshness' ? (s.freshness ?? formatDuration(f.freshnessMs ?? 0)) : s[objective]) ?? '';
}

/** The worse of two worst values of an objective (a longer lag or latency, a lower rate). */
function worse(objective: Objective, a: string | null, b: string): string {
  if (!a) return b;
  if (objective === 'successRate') return Number.parseFloat(a) <= Number.parseFloat(b) ? a : b;
  return durationMs(a) >= durationMs(b) ? a : b;
}

/** formatDuration's text back to milliseconds (`1h2m3s`, `450ms`). */
function durationMs(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|d|h|m|s)/g)) ms += parseDuration(`${m[1]}${m[2]}`) ?? 0;
  return ms;
}

/** Every breach interval since `since`, by `<address> <objective>`. */
async function derive(
  db: Queryable,
  env: string,
  flows: FlowDef[],
  since: Date,
  now: Date,
  /** The flows with an open success-rate breach. */
  openRated: Set<string>,
): Promise<Map<string, { intervals: Interval[]; continuing: boolean }>> {
  const out = new Map<string, { intervals: Interval[]; continuing: boolean }>();
  const put = (f: FlowDef, o: Objective, intervals: Interval[], continuing = false) => {
    if (intervals.length) out.set(`${f.address} ${o}`, { intervals, continuing });
  };
  const withObjective = flows.map((f) => ({ f, o: objectivesOf(f) }));

  // Freshness of schedule and manual flows: the gaps between successes longer than the objective.
  const polled = withObjective.filter((x) => x.o.freshnessMs !== undefined && x.f.trigger !== 'event');
  const successes = await successesSince(
    db,
    env,
    polled.map((x) => x.f.address),
    since,
    now,
  );
  for (const { f, o } of polled) {
    const ms = o.freshnessMs!;
    const times = successes.get(f.address) ?? [];
    const intervals: Interval[] = [];
    for (let i = 0; i < times.length; i++) {
      const next = i + 1 < times.length ? times[i + 1] : null;
      const gap = (next ?? now).getTime() - times[i].getTime();
      if (gap <= ms) continue;
      const start = new Date(times[i].getTime() + ms);
      intervals.push({
        start,
        end: next,
        worst: formatDuration(gap),
        cause: await freshnessCause(db, env, f, times[i], next ?? now, next === null),
      });
    }
    put(f, 'freshness', intervals);
  }

  // Freshness of event flows: deliveries that waited longer than the objective, their late spans merged.
  const hooked = withObjective.filter((x) => x.o.freshnessMs !== undefined && x.f.trigger === 'event');
  const late = await lateDeliveries(
    db,
    env,
    hooked.map((x) => ({ address: x.f.address, ms: x.o.freshnessMs! })),
    since,
    now,
  );
  for (const { f, o } of hooked) {
    const ms = o.freshnessMs!;
    const intervals: (Interval & { n: number; worstMs: number })[] = [];
    for (const d of late.get(f.address) ?? []) {
      const start = new Date(d.receivedAt.getTime() + ms);
      const waited = (d.doneAt ?? now).getTime() - d.receivedAt.getTime();
      const last = intervals[intervals.length - 1];
      if (last && (last.end === null || start <= last.end)) {
        last.end = last.end === null || d.doneAt === null ? null : new Date(Math.max(+d.doneAt, +last.end));
        last.n++;
        last.worstMs = Math.max(last.worstMs, waited);
      } else intervals.push({ start, end: d.doneAt, worst: '', cause: '', n: 1, worstMs: waited });
    }
    put(
      f,
      'freshness',
      intervals.map((i) => ({
        start: i.start,
        end: i.end,
        worst: formatDuration(i.worstMs),
        cause: `${i.n} webhook deliver${i.n === 1 ? 'y' : 'ies'} waited longer than ${formatDuration(ms)} to be written (the longest ${formatDuration(i.worstMs)})`,
      })),
    );
  }

  // Latency p95 of event flows over the last hour.
  const timed = withObjective.filter((x) => x.o.latencyMs !== undefined);
  const p95 = await latencyP95(
    db,
    env,
    timed.map((x) => ({ address: x.f.address, ms: x.o.latencyMs! })),
    new Date(now.getTime() - LATENCY_WINDOW_MS),
    now,
  );
  for (const { f, o } of timed) {
    const p = p95.get(f.address);
    if (!p || p.p95Ms <= o.latencyMs!) continue;
    put(
      f,
      'latencyP95',
      [
        {
          start: p.firstSlowAt ?? now,
          end: null,
          worst: formatDuration(p.p95Ms),
          cause: `the p95 of the last hour's ${p.n} deliveries was ${formatDuration(p.p95Ms)}, above ${formatDuration(o.latencyMs!)}`,
        },
      ],
      true,
    );
  }

  // Success rate: the month's running tally, run by run (each month the window touches) — of the flows that could
  // have changed: a breach starts only at a run that dead-lettered, and ends only at a run that ended since.
  const dying = await flowsDeadLetteringSince(db, env, since, now);
  const rated = withObjective.filter(
    (x) => x.o.rate !== undefined && (dying.has(x.f.address) || openRated.has(x.f.address)),
  );
  for (const m of monthsBetween(since, now)) {
    const tally = await runningTally(
      db,
      env,
      rated.map((x) => x.f.address),
      m.start,
      m.end,
    );
    for (const { f, o } of rated) {
      const rows = tally.get(f.address);
      if (!rows) continue;
      const { num, den } = o.rate!;
      const intervals: Interval[] = [];
      let cur: Interval | undefined;
      for (const r of rows) {
        const breached = r.dead * den > r.read * (den - num);
        const rate = percent(r.read - r.dead, r.read);
        if (breached && !cur) {
          // The cause is the run that tipped the month over its budget.
          const cause = `${r.dead} of ${r.read} records this month dead-lettered: more than the ${formatBudget((r.read * (den - num)) / den)} the budget allows`;
          cur = { start: r.at, end: null, worst: rate, cause };
          intervals.push(cur);
        }
        if (cur) {
          cur.worst = worse('successRate', cur.worst, rate);
          if (!breached) {
            cur.end = r.at;
            cur = undefined;
          }
        }
      }
      if (cur && m.end <= now) cur.end = m.end;
      const key = `${f.address} successRate`;
      const before = out.get(key)?.intervals ?? [];
      put(f, 'successRate', [...before, ...intervals]);
    }
  }
  return out;
}

function monthsBetween(from: Date, to: Date): Month[] {
  const out: Month[] = [];
  for (let m = monthOf(from); m.start <= to; m = monthOf(m.end)) out.push(m);
  return out;
}

/** Why a flow's target fell behind between a success and the next one (or now): from the runs in between. */
async function freshnessCause(
  db: Queryable,
  env: string,
  f: FlowDef,
  from: Date,
  to: Date,
  ongoing: boolean,
): Promise<string> {
  const s = await runStatusesBetween(db, env, f.address, from, to);
  const parts: string[] = [];
  if (s.failed) parts.push(`${s.failed} run${s.failed === 1 ? '' : 's'} failed`);
  if (s.interrupted) parts.push(`${s.interrupted} interrupted`);
  if (s.running && ongoing) parts.push('a run is still going (the source or the target is slow or stalled)');
  else if (s.running) parts.push(`${s.running} still running`);
  if (!parts.length)
    return `no run started between the last success and ${ongoing ? 'now' : 'the next'} (no schedule tick, a manual flow not run, or no worker alive)`;
  return `no successful run for more than ${formatDuration(objectivesOf(f).freshnessMs ?? 0)}: ${parts.join(', ')}`;
}

/** A budget of records, as a reader sees it: whole numbers plain, else two decimals. */
export function formatBudget(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

// ------------------------------------------------------------------------------------------------ a month's figures

export interface Budget {
  unit: 'records' | 'minutes';
  /** What the month allows: (1 − successRate) × the month's records, or × its minutes. */
  allowed: number;
  /** Dead letters, or minutes in freshness breaches. */
  used: number;
  /** allowed − used (negative: overspent). */
  left: number;
  /** left ÷ allowed, as a percentage ("0.00%" when overspent or nothing is allowed). */
  leftShare: string;
}

export interface BreachReport {
  objective: Objective;
  target: string;
  start: string;
  /** null: still going. */
  end: string | null;
  /** Within the month (a breach that began before it or lasts counts from the month's start, or to now). */
  durationMs: number;
  worst: string | null;
  cause: string | null;
}

export interface ObjectiveReport {
  objective: Objective;
  /** As declared: `10m`, `60s`, `99.9%`. */
  target: string;
  /** What was measured over the month: the share of its time fresh, the p95 latency, the success rate. */
  attainment: string | null;
  /** Whether the month met it (null: nothing to measure). */
  met: boolean | null;
  breaches: number;
  breachMs: number;
  budget?: Budget;
}

export interface FlowSla {
  address: string;
  customer: string;
  flow: string;
  /** The SLA's name (null: the flow has none, and so no objectives). */
  sla: string | null;
  records: Counts;
  objectives: ObjectiveReport[];
  breaches: BreachReport[];
}

/**
 * Each flow's SLA over a month (up to `now` for the current month): attainment per objective, breaches with their
 * durations and causes, the error budget left. What `rsync sla`, `rsync status` and the monthly report show.
 */
export async function monthlySla(
  db: Queryable,
  env: string,
  flows: Iterable<FlowDef>,
  month: Month,
  now: Date,
): Promise<FlowSla[]> {
  const list = [...flows].sort((a, b) => a.address.localeCompare(b.address));
  const addresses = list.map((f) => f.address);
  const until = now < month.end ? now : month.end;
  const monthMs = month.end.getTime() - month.start.getTime();
  const elapsedMs = Math.max(0, until.getTime() - month.start.getTime());
  const [counts, events, p95] = await Promise.all([
    countsBetween(db, env, addresses, month.start, month.end),
    slaEventsBetween(db, env, month.start, month.end),
    latencyP95(
      db,
      env,
      list.map((f) => ({ address: f.address, ms: objectivesOf(f).latencyMs ?? 0 })),
      new Date(month.start.getTime() - 1),
      new Date(month.end.getTime() - 1),
    ),
  ]);
  return list.map((f) => {
    const o = objectivesOf(f);
    const records = counts.get(f.address) ?? zeroCounts();
    const mine = events.filter((e) => e.address === f.address);
    const breaches: BreachReport[] = mine.map((e) => {
      const from = Math.max(e.startedAt.getTime(), month.start.getTime());
      const to = Math.min((e.endedAt ?? until).getTime(), until.getTime());
      return {
        objective: e.objective,
        target: e.target,
        start: e.startedAt.toISOString(),
        end: e.endedAt?.toISOString() ?? null,
        durationMs: Math.max(0, to - from),
        worst: e.worst,
        cause: e.cause,
      };
    });
    const inBreach = (objective: Objective) => breaches.filter((b) => b.objective === objective);
    const sum = (bs: BreachReport[]) => bs.reduce((n, b) => n + b.durationMs, 0);
    const objectives: ObjectiveReport[] = [];
    if (o.freshnessMs !== undefined) {
      const bs = inBreach('freshness');
      const breachMs = sum(bs);
      const minutes = breachMs / 60_000;
      objectives.push({
        objective: 'freshness',
        target: targetOf(f, 'freshness'),
        attainment: elapsedMs ? percent(elapsedMs - breachMs, elapsedMs) : null,
        // Met: the minutes in breach fit the time budget (with no success rate to give one, no breach at all).
        met: elapsedMs ? (o.rate ? budgetOf(o.rate, monthMs / 60_000, minutes).left >= 0 : breachMs === 0) : null,
        breaches: bs.length,
        breachMs,
        ...(o.rate ? { budget: { unit: 'minutes', ...budgetOf(o.rate, monthMs / 60_000, round2(minutes)) } } : {}),
      });
    }
    if (o.latencyMs !== undefined) {
      const bs = inBreach('latencyP95');
      const p = p95.get(f.address);
      objectives.push({
        objective: 'latencyP95',
        target: f.sla!.latencyP95 ?? '',
        attainment: p ? formatDuration(p.p95Ms) : null,
        met: p ? p.p95Ms <= o.latencyMs : null,
        breaches: bs.length,
        breachMs: sum(bs),
      });
    }
    if (o.rate) {
      const bs = inBreach('successRate');
      const b = budgetOf(o.rate, records.read, records.dead, true);
      objectives.push({
        objective: 'successRate',
        target: f.sla!.successRate ?? '',
        attainment: records.read ? percent(records.read - records.dead, records.read) : null,
        met: records.read ? b.left >= 0 : null,
        breaches: bs.length,
        breachMs: sum(bs),
        budget: { unit: 'records', ...b },
      });
    }
    return {
      address: f.address,
      customer: f.customer,
      flow: f.name,
      sla: f.sla?.name ?? null,
      records,
      objectives,
      breaches,
    };
  });
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** (1 − rate) × total allowed, `used` of it used. Records' budgets are exact fractions; minutes' to 1/100. */
function budgetOf(rate: Rate, total: number, used: number, exact = false): Omit<Budget, 'unit'> {
  const allowedExact = (total * (rate.den - rate.num)) / rate.den;
  const allowed = exact ? allowedExact : round2(allowedExact);
  const left = round2(allowed - used);
  // Nothing allowed and nothing used (no records yet this month): the budget is whole.
  const leftShare = allowed > 0 ? (left > 0 ? percent(left, allowed) : '0.00%') : used > 0 ? '0.00%' : '100.00%';
  return { allowed, used, left, leftShare };
}

/** Per flow, the month's budget left as a short text for `rsync status` ("82.00% of 25 records"). */
export function budgetSummary(f: FlowSla | undefined): { records?: Budget; minutes?: Budget } {
  const records = f?.objectives.find((o) => o.objective === 'successRate')?.budget;
  const minutes = f?.objectives.find((o) => o.objective === 'freshness')?.budget;
  return { ...(records ? { records } : {}), ...(minutes ? { minutes } : {}) };
}

/** `rsync sla`: every deployed flow's SLA over a month (one customer's when given), at `now`. */
export async function environmentSla(
  db: Queryable,
  env: string,
  o: { customer?: string; month: Month; now: Date },
): Promise<FlowSla[]> {
  const flows = [...(await loadFlows(db, env)).values()].filter((f) => !o.customer || f.customer === o.customer);
  return monthlySla(db, env, flows, o.month, o.now);
}
