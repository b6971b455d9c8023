/**
 * Planning as the commands do it: the workspace at the environment's Git ref (validated first: an invalid
 * workspace gets its diagnostics, not a plan), paired with what PostgreSQL says is deployed there.
 *
 * plan/ has two halves. The pure one — desired.ts (desired state from a workspace), pair.ts (pairing by
 * address, shared with diff/), diff.ts (field and line diffs), plan.ts (makePlan, drift), types.ts (the plan
 * value) — reads nothing and writes nothing. This module and cache.ts (the desired-state cache) are the other:
 * they read Git, the database and .rsync/cache/, then call the pure half; file.ts reads and writes plan.json, and
 * origin.ts refuses a saved plan made in another workspace.
 * Nothing in plan/ changes the deployed state or pg-boss: that is apply's.
 */
import { inRepository, resolveCommit } from '../git/index.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import type { Workspace } from '../model/workspace.js';
import type { Database } from '../state/db.js';
import { readLive } from '../live/read.js';
import { readBlobs, readDeployed, readDeployedSummary, type DeployedRow } from '../state/deployments.js';
import { readDesiredCache, readDesiredFull, writeDesiredCache } from './cache.js';
import { isObject } from '../util/merge.js';
import { brandingOf, openWorkspace, resolveEnvironment, workspaceIdentity } from '../workspace/index.js';
import type { WorkspaceIdentity } from '../workspace/identity.js';
import { VALIDATE_STAGES } from '../workspace/open.js';
import { validateWorkspace } from '../validate/validate.js';
import { desiredState, type DesiredState } from './desired.js';
import { makePlan } from './plan.js';
import { schemaFindings } from '../state/schema-guards.js';
import { targetDrift } from './target-drift.js';
import {
  DEFAULT_SAMPLE,
  type FlowImpact,
  flowImpact,
  type ImpactOptions,
  impactCandidates,
  summariseImpact,
} from './impact.js';
import { readSamples } from '../state/samples.js';
import { hasSelection, type SelectionRequest } from './select.js';
import type { DeployableResource, Plan } from './types.js';

export interface PlanOptions {
  path?: string;
  env?: string;
  /** Plan this Git ref instead of the environment's. */
  ref?: string;
  customers?: string[];
  /** A partial plan: --target, --exclude, --selector (select.ts). */
  selection?: SelectionRequest;
  actor: string;
  /** Told each step as it starts (PLAN_STAGES): the CLI's progress line on a terminal. */
  onStage?: (stage: string) => void;
  /** Told how far reading and validating are (files read, customers checked), and the impact's flows. */
  onCount?: (done: number, total: number, unit: 'files' | 'customers' | 'flows') => void;
  /** `--impact`: run both revisions of each changed flow over its stored samples (impact.ts). */
  impact?: ImpactOptions;
}

/** The steps of a plan, as onStage names them (a plan from the desired-state cache skips the first two). */
export const PLAN_STAGES = [...VALIDATE_STAGES, 'reading what is deployed', 'planning'] as const;

/** `ws` is absent when the plan came from the desired-state cache (the workspace was not read). */
export type PlanOutcome =
  | { ok: true; plan: Plan; ws?: Workspace }
  | { ok: false; diagnostics: Diagnostic[]; ws: Workspace };

function checkCustomers(asked: string[] | undefined, known: Iterable<string>): void {
  if (!asked?.length) return;
  const all = new Set(known);
  const unknown = asked.filter((c) => !all.has(c));
  if (unknown.length) {
    throw new RsyncError(
      `Unknown customer${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`,
      ExitCode.USAGE,
      `Customers: ${[...all].join(', ')}.`,
    );
  }
}

/**
 * The fast path: this commit was planned before (engine/plan/cache.ts) and every deployed hash in scope still
 * equals the desired one, so the plan has no changes — only drift is left to check. Undefined: take the slow path.
 */
async function planFromCache(
  db: Database,
  root: string,
  env: string,
  ref: string,
  opts: PlanOptions,
  workspace: WorkspaceIdentity,
): Promise<Planned | undefined> {
  const commit = await resolveCommit(root, ref);
  const cached = commit && readDesiredCache(root, env, commit);
  if (!commit || !cached) return undefined;
  checkCustomers(opts.customers, cached.customers);
  const scope = opts.customers?.length ? new Set(opts.customers) : null;
  const inScope = (c: string | null) => !scope || c === null || scope.has(c);
  const [summary, live] = await Promise.all([readDeployedSummary(db.pool, env), readLive(db.pool, env)]);
  const wanted = cached.resources.filter((r) => inScope(r[1]));
  const have = new Map(summary.filter((d) => inScope(d.customer)).map((d) => [d.address, d.hash]));
  const base = {
    env,
    ref,
    commit,
    createdBy: opts.actor,
    now: new Date(),
    live,
    customers: opts.customers,
    branding: cached.branding,
    workspace,
  };
  if (have.size === wanted.length && wanted.every((r) => have.get(r[0]) === r[4])) {
    // Nothing to change: only drift is left to check, and the specs are not needed.
    const resources: DeployableResource[] = wanted.map(([address, customer, kind, name, hash, template]) => ({
      address,
      customer,
      kind,
      name,
      hash,
      template,
      spec: {},
      source: null,
    }));
    const plan = makePlan({
      ...base,
      desired: { resources, blobs: new Map() },
      deployed: summary,
      deployedBlobs: new Map(),
    });
    return { plan, deployed: summary, blobs: new Map() };
  }
  const full = readDesiredFull(root, env, commit);
  if (!full) return undefined;
  const desired = { resources: full.resources, blobs: new Map(Object.entries(full.blobs)) };
  const deployed = await readDeployed(db.pool, env);
  const deployedBlobs = await changedMappingTexts(db, desired, deployed);
  const plan = makePlan({ ...base, desired, deployed, deployedBlobs });
  return { plan, deployed, blobs: new Map([...desired.blobs, ...deployedBlobs]) };
}

/** A plan with what its impact needs: the deployed rows and the mapping texts of both sides. */
interface Planned {
  plan: Plan;
  deployed: DeployedRow[];
  blobs: Map<string, string>;
}

/** The stage name of `--impact`'s step (after PLAN_STAGES). */
export const IMPACT_STAGE = 'running the changed flows over their samples';
/** Flows whose samples are read at once: the memory of a plan of 1,000 changed flows stays that of 200. */
const IMPACT_BATCH = 200;

/** The plan with its data impact (impact.ts), from the samples the worker stored (state/samples.ts). */
async function withImpact(db: Database, planned: Planned, opts: PlanOptions): Promise<Plan> {
  const { plan } = planned;
  if (!opts.impact) return plan;
  opts.onStage?.(IMPACT_STAGE);
  const candidates = impactCandidates(plan.changes, planned.deployed);
  const sample = opts.impact.sample ?? DEFAULT_SAMPLE;
  const flows: FlowImpact[] = [];
  for (let b = 0; b < candidates.length; b += IMPACT_BATCH) {
    const batch = candidates.slice(b, b + IMPACT_BATCH);
    const samples = await readSamples(
      db.pool,
      plan.env,
      batch.map((c) => c.change.address),
      sample,
    );
    for (const c of batch) {
      flows.push(await flowImpact(plan.env, c, planned.blobs, samples.get(c.change.address), opts.impact));
      opts.onCount?.(flows.length, candidates.length, 'flows');
    }
  }
  return { ...plan, impact: summariseImpact(plan.env, flows, { ...opts.impact, sample }) };
}

/** Mapping texts of deployed flows whose mapping the desired state changes (for line diffs). */
async function changedMappingTexts(
  db: Database,
  desired: DesiredState,
  deployed: DeployedRow[],
): Promise<Map<string, string>> {
  const sha = (spec: Record<string, unknown>) =>
    isObject(spec.mapping) ? String((spec.mapping as { sha256?: string }).sha256) : '';
  const wanted = new Set(desired.resources.map((r) => sha(r.spec)));
  const changed = deployed.filter((d) => d.kind === 'flow' && isObject(d.spec.mapping) && !wanted.has(sha(d.spec)));
  return readBlobs(
    db.pool,
    changed.map((d) => sha(d.spec)),
  );
}

export async function planEnvironment(db: Database, opts: PlanOptions): Promise<PlanOutcome> {
  const target = await resolveEnvironment(opts.path, opts.env);
  const inGit = await inRepository(target.root);
  const ref = opts.ref ?? (inGit ? target.ref : undefined);
  // The workspace the plan is made in: a saved plan carries it, and apply refuses it elsewhere (plan/origin.ts).
  const workspace = await workspaceIdentity(target.root, target.declared, inGit);
  // The cache's fast path knows no labels or dependencies: a partial plan is always made in full.
  if (ref && !hasSelection(opts.selection)) {
    const fast = await planFromCache(db, target.root, target.env, ref, opts, workspace);
    if (fast) return { ok: true, plan: await withTargetDrift(db, await withImpact(db, fast, opts)) };
  }
  const { ws } = await openWorkspace({
    path: target.root,
    ref,
    env: target.env,
    onStage: opts.onStage,
    onCount: opts.onCount,
  });
  opts.onStage?.(PLAN_STAGES[1]);
  const onCustomer = opts.onCount && ((done: number, total: number) => opts.onCount?.(done, total, 'customers'));
  const { diagnostics } = validateWorkspace(ws, onCustomer);
  if (hasErrors(diagnostics)) return { ok: false, diagnostics, ws };
  checkCustomers(opts.customers, ws.customers.keys());
  const desired = desiredState(ws);
  if (ws.source.commit)
    writeDesiredCache(
      target.root,
      target.env,
      ws.source.commit,
      [...ws.customers.keys()],
      brandingOf(ws),
      desired.resources,
      desired.blobs,
    );
  opts.onStage?.(PLAN_STAGES[2]);
  const [deployed, live] = await Promise.all([readDeployed(db.pool, target.env), readLive(db.pool, target.env)]);
  const deployedBlobs = await changedMappingTexts(db, desired, deployed);
  opts.onStage?.(PLAN_STAGES[3]);
  const plan = makePlan({
    env: target.env,
    ref: ws.source.ref ?? null,
    commit: ws.source.commit ?? null,
    createdBy: opts.actor,
    now: new Date(),
    desired,
    deployed,
    deployedBlobs,
    live,
    customers: opts.customers,
    branding: brandingOf(ws),
    workspace,
    selection: opts.selection,
  });
  const blobs = new Map([...desired.blobs, ...deployedBlobs]);
  return { ok: true, plan: await withTargetDrift(db, await withImpact(db, { plan, deployed, blobs }, opts)), ws };
}

/** The plan with the schema guard's findings in its scope (plan/target-drift.ts), when there are any. */
async function withTargetDrift(db: Database, plan: Plan): Promise<Plan> {
  const found = targetDrift(await schemaFindings(db.pool, plan.env), plan);
  return found.length ? { ...plan, targetDrift: found } : plan;
}
