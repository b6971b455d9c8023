/**
 * Rollout by cohort (`rsync rollout`, issue 19 item 3). `start` plans the environment's change with the planner (the
 * whole change, saved with the rollout in rsync.rollouts: the worker has no workspace) and applies the first
 * cohort's part of it; the worker's loop (loop.ts) judges the gate of the cohort under way (gates.ts) and applies
 * the next cohort's part when it passes, or halts the rollout when it fails. `abort` returns the cohorts changed
 * to the revisions they had before, through rollback/ (each cohort's apply-log entry rolled back).
 *
 * A cohort's part of the plan is a partial plan, as `rsync plan --selector` makes (its `selection` names what it
 * takes and what it leaves out), made against the deployed state of the moment it is applied: a resource that
 * changed since the rollout started is not overwritten, the rollout halts instead. Partner-wide changes (a policy
 * in rsync.yaml) go with the first cohort. Every step is an apply-log entry: the cohorts' applies (`rollout`),
 * their rollbacks (`rollback`), and start, gate passed, halt, pause, resume, approve, complete, abort.
 */
import type pg from 'pg';
import { applyPlan } from '../apply/apply.js';
import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { suggest } from '../load/loader.js';
import { assignCohorts, customerLabels } from '../model/cohorts.js';
import type { RolloutGate, RolloutSpec } from '../model/generated/index.js';
import { planEnvironment } from '../plan/index.js';
import { stateHash } from '../plan/plan.js';
import type { Change, Plan } from '../plan/types.js';
import { planRollback } from '../rollback/rollback.js';
import { appendLog } from '../state/apply-log.js';
import type { Database } from '../state/db.js';
import { readDeployed } from '../state/deployments.js';
import { latestReconciliation } from '../state/reconciliations.js';
import {
  type CohortRow,
  insertRollout,
  latestRollout,
  type RolloutRow,
  rolloutPlan,
  rolloutsIn,
  setCohort,
  setRolloutState,
} from '../state/rollouts.js';
import { withClient, withTransaction } from '../state/tx.js';
import { openWorkspace } from '../workspace/index.js';
import { type GateSignals, type GateVerdict, judgeGate } from './gates.js';

/**
 * The reconciliation gate's one call into the reconciliation checks (engine/state/reconciliations.ts, a placeholder
 * on this branch until they are merged).
 */
export const RECONCILIATION: GateSignals = { reconciliation: latestReconciliation };

/** A rollout's worker-side lock (an advisory lock per rollout id): one step of one rollout at a time. */
const ROLLOUT_LOCK = 7_275_019;

export interface RolloutContext {
  db: Database;
  /** The connection URL (apply's lock needs a session of its own). */
  url: string;
  actor: string;
  now?: () => Date;
  signals?: GateSignals;
}

const clock = (ctx: RolloutContext) => (ctx.now ? ctx.now() : new Date());

async function log(
  db: Pick<pg.Pool, 'connect'> | pg.Pool,
  r: Pick<RolloutRow, 'env' | 'id' | 'name' | 'commit' | 'ref'>,
  action: string,
  actor: string,
  detail: Record<string, unknown>,
): Promise<number> {
  return withTransaction(db as pg.Pool, async (tx) => {
    const e = await appendLog(tx, {
      env: r.env,
      action,
      actor,
      commit: r.commit,
      ref: r.ref,
      detail: { rollout: { id: r.id, name: r.name }, ...detail },
    });
    return e.n;
  });
}

/** Which of the rolled-out plan's changes are cohort `position`'s: its customers', and the partner-wide ones first. */
function changesOf(plan: Plan, cohorts: Pick<CohortRow, 'customers'>[], position: number): Change[] {
  const mine = new Set(cohorts[position].customers);
  return plan.changes.filter((c) => (c.customer === null ? position === 0 : mine.has(c.customer)));
}

/**
 * Cohort `position`'s part of the plan, against what is deployed now; a refusal naming each resource changed since
 * the rollout started (its deployed hash is no longer the one the change was planned from).
 */
async function cohortPlan(db: Database, plan: Plan, cohorts: CohortRow[], position: number, now: Date): Promise<Plan> {
  const deployed = await readDeployed(db.pool, plan.env);
  const have = new Map(deployed.map((d) => [d.address, d.hash]));
  const changes = changesOf(plan, cohorts, position);
  const moved = changes.filter((c) => (have.get(c.address) ?? null) !== c.beforeHash);
  if (moved.length)
    throw new RsyncError(
      `${moved.map((c) => c.address).join(', ')} changed since the rollout started: the rollout does not overwrite it.`,
      ExitCode.REFUSED,
      'Abort the rollout (rsync rollout abort) and start it again from what is deployed now.',
    );
  const taken = new Set(changes.map((c) => c.address));
  const left = plan.changes.filter((c) => !taken.has(c.address));
  const summary: Plan['summary'] = {
    create: 0,
    update: 0,
    delete: 0,
    unchanged: 0,
    drift: 0,
    byCustomer: {},
    byTemplate: {},
  };
  for (const c of changes) {
    summary[c.action]++;
    const k = c.customer ?? '(partner-wide)';
    summary.byCustomer[k] ??= { create: 0, update: 0, delete: 0 };
    summary.byCustomer[k][c.action]++;
  }
  const selector = cohorts[position].selector ?? {};
  return {
    ...plan,
    createdAt: now.toISOString(),
    customers: null,
    basis: { stateHash: stateHash(deployed), resources: deployed.length },
    selection: {
      targets: [],
      excludes: [],
      selector,
      included: [...taken].sort(),
      leftOut: {
        count: left.length,
        create: left.filter((c) => c.action === 'create').length,
        update: left.filter((c) => c.action === 'update').length,
        delete: left.filter((c) => c.action === 'delete').length,
        addresses: left.map((c) => c.address),
      },
    },
    changes,
    drift: [],
    summary,
    empty: changes.length === 0,
  };
}

/** Apply cohort `position` of rollout `r` and record it: the cohort under its gate from now. */
async function applyCohort(ctx: RolloutContext, r: RolloutRow, position: number): Promise<void> {
  const now = clock(ctx);
  const plan = await rolloutPlan<Plan>(ctx.db.pool, r.id);
  const part = await cohortPlan(ctx.db, plan, r.cohorts, position, now);
  const cohort = r.cohorts[position];
  let entry: number;
  if (part.empty) {
    entry = await log(ctx.db.pool, r, 'rollout-cohort', ctx.actor, {
      cohort: cohort.name,
      customers: cohort.customers,
      changes: 0,
    });
  } else {
    const done = await applyPlan(ctx.db, part, {
      actor: ctx.actor,
      url: ctx.url,
      logAs: {
        action: 'rollout',
        detail: { rollout: { id: r.id, name: r.name, cohort: cohort.name, customers: cohort.customers } },
      },
    });
    entry = done.logEntry;
  }
  await setCohort(ctx.db.pool, r.id, position, { state: 'applied', appliedAt: now, applyEntry: entry });
  await setRolloutState(ctx.db.pool, r.id, { current: position });
}

export interface StartRequest {
  path?: string;
  env?: string;
  name: string;
  onStage?: (stage: string) => void;
}

export type StartOutcome =
  | { ok: true; rollout: RolloutRow; leftOut: string[] }
  | { ok: false; diagnostics: Diagnostic[] };

/** `rsync rollout start`: plan the environment's change, keep it with the rollout, apply the first cohort. */
export async function startRollout(ctx: RolloutContext, req: StartRequest): Promise<StartOutcome> {
  const planned = await planEnvironment(ctx.db, {
    path: req.path,
    env: req.env,
    actor: ctx.actor,
    onStage: req.onStage,
  });
  if (!planned.ok) return { ok: false, diagnostics: planned.diagnostics };
  const plan = planned.plan;
  const ws = planned.ws ?? (await openWorkspace({ path: req.path, ref: plan.ref ?? undefined, env: plan.env })).ws;
  const doc = ws.rollouts.get(req.name);
  if (!doc) {
    const names = [...ws.rollouts.keys()];
    throw new RsyncError(
      `There is no Rollout "${req.name}" in the workspace${plan.ref ? ` at ${plan.ref}` : ''}.`,
      ExitCode.USAGE,
      names.length
        ? `Its rollouts: ${names.join(', ')}.${suggest(req.name, names)}`
        : 'Declare one (kind: Rollout) in rsync.yaml or rollouts.yaml; see README "Rollouts by cohort".',
    );
  }
  if (hasErrors(ws.diagnostics)) return { ok: false, diagnostics: ws.diagnostics };
  const spec = doc.spec as RolloutSpec;
  const assigned = assignCohorts(spec, customerLabels(ws));
  const cohorts = spec.cohorts.map((c, i) => ({
    name: c.name,
    customers: assigned[i].customers,
    selector: c.selector ?? null,
    gate: { ...(c.gate ?? {}) } as Record<string, unknown>,
  }));
  const covered = new Set(cohorts.flatMap((c) => c.customers));
  const leftOut = plan.changes.filter((c) => c.customer !== null && !covered.has(c.customer)).map((c) => c.address);
  if (plan.changes.length === leftOut.length)
    throw new RsyncError(
      `Nothing to roll out in ${plan.env}: ${plan.changes.length ? `the plan's changes are all of customers no cohort of ${req.name} takes` : 'what is deployed is what Git says'}.`,
      ExitCode.USAGE,
      "Commit the change to roll out to the environment's branch first; `rsync plan` shows it.",
    );
  const stored: Plan = { ...plan, changes: plan.changes.filter((c) => !leftOut.includes(c.address)) };
  const env = plan.env;
  // The first cohort is applied under the rollout's lock, taken before the row is visible: no worker steps it meanwhile.
  await withClient(ctx.db.pool, async (session) => {
    let id: number;
    try {
      id = await withTransaction(session, async (tx) => {
        const rid = await insertRollout(
          tx,
          { env, name: req.name, commit: plan.commit, ref: plan.ref, plan: stored, by: ctx.actor },
          cohorts,
        );
        await appendLog(tx, {
          env,
          action: 'rollout-start',
          actor: ctx.actor,
          commit: plan.commit,
          ref: plan.ref,
          detail: {
            rollout: { id: rid, name: req.name },
            cohorts: cohorts.map((c) => ({ name: c.name, customers: c.customers })),
            changes: stored.changes.length,
            leftOut,
          },
        });
        await tx.query('SELECT pg_advisory_lock($1, $2)', [ROLLOUT_LOCK, rid]);
        return rid;
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23505')
        throw new RsyncError(
          `Rollout ${req.name} is already under way in ${env}.`,
          ExitCode.REFUSED,
          `See it with rsync rollout status ${req.name} --env ${env}; abort it first to start it again.`,
        );
      throw e;
    }
    try {
      const r = (await latestRollout(ctx.db.pool, env, req.name))!;
      await step(ctx, r, () => applyCohort(ctx, r, 0));
    } finally {
      await session.query('SELECT pg_advisory_unlock($1, $2)', [ROLLOUT_LOCK, id]);
    }
  });
  return { ok: true, rollout: (await latestRollout(ctx.db.pool, env, req.name))!, leftOut };
}

/** Another apply holds the environment's apply lock (state/locks.ts): the cohort is applied on a later pass. */
const applyBusy = (e: unknown) => e instanceof RsyncError && e.message.startsWith('Another apply to');

/**
 * Run `fn` on a rollout; a failure halts it with the failure as its reason (and is thrown on), except another apply
 * under way: the cohort stays pending, and the worker applies it on a later pass.
 */
async function step(ctx: RolloutContext, r: RolloutRow, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (applyBusy(e)) throw e;
    const reason = `cohort ${r.cohorts[r.current]?.name ?? r.current + 1} could not be applied: ${(e as Error).message}`;
    await halt(ctx, r, r.current, reason);
    throw e;
  }
}

async function halt(ctx: RolloutContext, r: RolloutRow, position: number, reason: string): Promise<void> {
  await setRolloutState(ctx.db.pool, r.id, { state: 'halted', reason });
  await log(ctx.db.pool, r, 'rollout-halt', ctx.actor, { cohort: r.cohorts[position]?.name, reason });
}

/** What one pass of the worker did to a rollout. */
export interface Advance {
  rollout: string;
  cohort: string;
  outcome: 'waiting' | 'advanced' | 'completed' | 'halted';
  reason: string;
}

/**
 * One pass over the running rollouts of `env`: the gate of each one's current cohort judged, and the next cohort
 * applied, the rollout completed, or halted. Rollouts another worker is stepping are skipped.
 */
export async function advanceRollouts(ctx: RolloutContext, env: string): Promise<Advance[]> {
  const out: Advance[] = [];
  for (const candidate of await rolloutsIn(ctx.db.pool, env, ['running'])) {
    const done = await withClient(ctx.db.pool, async (session) => {
      const locked = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        ROLLOUT_LOCK,
        candidate.id,
      ]);
      if (!locked.rows[0].ok) return undefined;
      try {
        const r = await latestRollout(ctx.db.pool, env, candidate.name);
        if (!r || r.id !== candidate.id || r.state !== 'running') return undefined;
        return await advanceOne(ctx, r);
      } finally {
        await session.query('SELECT pg_advisory_unlock($1, $2)', [ROLLOUT_LOCK, candidate.id]);
      }
    });
    if (done) out.push(done);
  }
  return out;
}

async function advanceOne(ctx: RolloutContext, r: RolloutRow): Promise<Advance> {
  const cohort = r.cohorts[r.current];
  const base = { rollout: r.name, cohort: cohort.name };
  if (cohort.state === 'pending') {
    try {
      await step(ctx, r, () => applyCohort(ctx, r, r.current));
    } catch (e) {
      return { ...base, outcome: applyBusy(e) ? 'waiting' : 'halted', reason: (e as Error).message };
    }
    return { ...base, outcome: 'advanced', reason: 'cohort applied' };
  }
  const verdict = await judgeGate(ctx.db.pool, r.env, cohort, clock(ctx), ctx.signals ?? RECONCILIATION);
  if (verdict.outcome === 'wait') return { ...base, outcome: 'waiting', reason: verdict.reason };
  const now = clock(ctx);
  if (verdict.outcome === 'fail') {
    await setCohort(ctx.db.pool, r.id, r.current, { state: 'failed', decidedAt: now, reason: verdict.reason });
    await halt(ctx, r, r.current, `the gate of cohort ${cohort.name} failed: ${verdict.reason}`);
    return { ...base, outcome: 'halted', reason: verdict.reason };
  }
  await setCohort(ctx.db.pool, r.id, r.current, { state: 'passed', decidedAt: now, reason: verdict.reason });
  await log(ctx.db.pool, r, 'rollout-gate', ctx.actor, {
    cohort: cohort.name,
    checks: verdict.checks.map((c) => `${c.condition}: ${c.detail}`),
  });
  const next = r.current + 1;
  if (next >= r.cohorts.length) {
    await setRolloutState(ctx.db.pool, r.id, { state: 'completed', reason: null, finished: true });
    await log(ctx.db.pool, r, 'rollout-complete', ctx.actor, {});
    return { ...base, outcome: 'completed', reason: verdict.reason };
  }
  const moved = { ...r, current: next };
  await setRolloutState(ctx.db.pool, r.id, { current: next }); // pending until applied: a later pass applies it
  try {
    await step(ctx, moved, () => applyCohort(ctx, moved, next));
  } catch (e) {
    return { ...base, outcome: applyBusy(e) ? 'waiting' : 'halted', reason: (e as Error).message };
  }
  return { rollout: r.name, cohort: r.cohorts[next].name, outcome: 'advanced', reason: verdict.reason };
}

async function open(ctx: RolloutContext, env: string, name: string): Promise<RolloutRow> {
  const r = await latestRollout(ctx.db.pool, env, name);
  if (!r) {
    const { rows } = await ctx.db.pool.query<{ name: string }>(
      `SELECT DISTINCT name FROM rsync.rollouts WHERE env = $1 ORDER BY name`,
      [env],
    );
    const names = rows.map((x) => x.name);
    throw new RsyncError(
      `No rollout ${name} was started in ${env}.`,
      ExitCode.USAGE,
      names.length
        ? `Rollouts of ${env}: ${names.join(', ')}.${suggest(name, names)}`
        : `Start it: rsync rollout start ${name} --env ${env}.`,
    );
  }
  return r;
}

/** Pause a running rollout, or resume a paused one; the rollout as it is then. */
export async function pauseRollout(
  ctx: RolloutContext,
  env: string,
  name: string,
  pause: boolean,
): Promise<RolloutRow> {
  const r = await open(ctx, env, name);
  const from = pause ? 'running' : 'paused';
  if (r.state !== from)
    throw new RsyncError(
      `Rollout ${name} is ${r.state} in ${env}: only a ${from} rollout can be ${pause ? 'paused' : 'resumed'}.`,
      ExitCode.REFUSED,
      r.state === 'halted'
        ? `A halted rollout stays halted: abort it (rsync rollout abort ${name}), fix the change, and start it again.`
        : `See it with rsync rollout status ${name} --env ${env}.`,
    );
  await setRolloutState(ctx.db.pool, r.id, { state: pause ? 'paused' : 'running' });
  await log(ctx.db.pool, r, pause ? 'rollout-pause' : 'rollout-resume', ctx.actor, {
    cohort: r.cohorts[r.current].name,
  });
  return (await latestRollout(ctx.db.pool, env, name))!;
}

function cohortNamed(r: RolloutRow, name: string): CohortRow {
  const c = r.cohorts.find((x) => x.name === name);
  if (!c) {
    const names = r.cohorts.map((x) => x.name);
    throw new RsyncError(
      `Rollout ${r.name} has no cohort ${name}.`,
      ExitCode.USAGE,
      `Its cohorts: ${names.join(', ')}.${suggest(name, names)}`,
    );
  }
  return c;
}

/** Approve a cohort's manual gate (the current cohort's, or `cohort`'s ahead of time). */
export async function approveCohort(
  ctx: RolloutContext,
  env: string,
  name: string,
  cohortName?: string,
): Promise<RolloutRow> {
  const r = await open(ctx, env, name);
  const c = cohortName ? cohortNamed(r, cohortName) : r.cohorts[r.current];
  if (!(c.gate as RolloutGate).approval)
    throw new RsyncError(
      `The gate of cohort ${c.name} of rollout ${name} asks for no approval.`,
      ExitCode.USAGE,
      `Cohorts that ask for one: ${
        r.cohorts
          .filter((x) => (x.gate as RolloutGate).approval)
          .map((x) => x.name)
          .join(', ') || 'none'
      }.`,
    );
  if (r.state === 'aborted' || r.state === 'completed' || (c.state !== 'pending' && c.state !== 'applied'))
    throw new RsyncError(
      `Cohort ${c.name} of rollout ${name} is ${c.state} (the rollout is ${r.state}): there is nothing to approve.`,
      ExitCode.REFUSED,
    );
  await setCohort(ctx.db.pool, r.id, c.position, { approvedBy: ctx.actor, approvedAt: clock(ctx) });
  await log(ctx.db.pool, r, 'rollout-approve', ctx.actor, { cohort: c.name });
  return (await latestRollout(ctx.db.pool, env, name))!;
}

/**
 * Abort: the rollout stops for good, and the cohorts it changed (all, or those named) go back to the revisions they
 * had before it — each cohort's apply-log entry rolled back (rollback/), newest cohort first, logged as a rollback.
 */
export async function abortRollout(
  ctx: RolloutContext,
  env: string,
  name: string,
  only?: string[],
): Promise<{ rollout: RolloutRow; reverted: { cohort: string; entry: number | null; resources: number }[] }> {
  const r = await open(ctx, env, name);
  for (const n of only ?? []) cohortNamed(r, n);
  const changed = r.cohorts.filter((c) => c.state === 'applied' || c.state === 'passed' || c.state === 'failed');
  if (only?.length) {
    const never = only.filter((n) => !changed.some((c) => c.name === n));
    if (never.length)
      throw new RsyncError(
        `Cohort ${never.join(', ')} of rollout ${name} is not changed: ${never.map((n) => `${n} is ${cohortNamed(r, n).state}`).join(', ')}.`,
        ExitCode.USAGE,
        `Cohorts it changed: ${changed.map((c) => c.name).join(', ') || 'none'}.`,
      );
  }
  const chosen = changed.filter((c) => !only?.length || only.includes(c.name)).reverse();
  const plan = await rolloutPlan<Plan>(ctx.db.pool, r.id);
  const reverted: { cohort: string; entry: number | null; resources: number }[] = [];
  await setRolloutState(ctx.db.pool, r.id, { state: 'aborted', finished: true });
  for (const c of chosen) {
    let entry: number | null = null;
    let resources = 0;
    const wrote = c.applyEntry !== null && (await revisionsWritten(ctx.db.pool, c.applyEntry)) > 0;
    if (wrote) {
      const back = await planRollback(ctx.db, {
        env,
        what: String(c.applyEntry),
        actor: ctx.actor,
        branding: plan.branding,
      });
      if (!back.empty) {
        const done = await applyPlan(ctx.db, back, {
          actor: ctx.actor,
          url: ctx.url,
          logAs: {
            action: 'rollback',
            detail: { rollback: back.rollback, rollout: { id: r.id, name: r.name, cohort: c.name } },
          },
        });
        entry = done.logEntry;
        resources = back.changes.length;
      }
    }
    await setCohort(ctx.db.pool, r.id, c.position, { state: 'reverted', revertedAt: clock(ctx), revertEntry: entry });
    reverted.push({ cohort: c.name, entry, resources });
  }
  const kept = changed.filter((c) => !chosen.includes(c)).map((c) => c.name);
  await setRolloutState(ctx.db.pool, r.id, {
    reason: `aborted by ${ctx.actor}${kept.length ? `; ${kept.join(', ')} kept the change` : ''}`,
  });
  await log(ctx.db.pool, r, 'rollout-abort', ctx.actor, {
    reverted: reverted.map((x) => x.cohort),
    kept,
  });
  return { rollout: (await latestRollout(ctx.db.pool, env, name))!, reverted };
}

async function revisionsWritten(pool: pg.Pool, entry: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM rsync.revisions WHERE apply_seq = $1`,
    [entry],
  );
  return rows[0].n;
}

/** A rollout as `rsync rollout status` shows it: its rows, and the current cohort's gate as it stands now. */
export interface RolloutStatus {
  rollout: RolloutRow;
  gate: GateVerdict | null;
}

export async function rolloutStatus(ctx: RolloutContext, env: string, name?: string): Promise<RolloutStatus[]> {
  const rows = name
    ? [await open(ctx, env, name)]
    : await rolloutsIn(ctx.db.pool, env, ['running', 'paused', 'halted']);
  const out: RolloutStatus[] = [];
  for (const r of rows) {
    const c = r.cohorts[r.current];
    const live = (r.state === 'running' || r.state === 'paused') && c?.state === 'applied';
    out.push({
      rollout: r,
      gate: live ? await judgeGate(ctx.db.pool, env, c, clock(ctx), ctx.signals ?? RECONCILIATION) : null,
    });
  }
  return out;
}
