/**
 * Planning as the commands do it: the workspace at the environment's Git ref (validated first: an invalid
 * workspace gets its diagnostics, not a plan), paired with what PostgreSQL says is deployed there.
 */
import os from 'node:os';
import { simpleGit } from 'simple-git';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../errors.js';
import type { Workspace } from '../model/workspace.js';
import type { Database } from '../state/db.js';
import { readLive } from '../live/read.js';
import { readBlobs, readDeployed, readDeployedSummary, type DeployedRow } from '../state/deployments.js';
import { readDesiredCache, readDesiredFull, writeDesiredCache } from './cache.js';
import { isObject } from '../util/merge.js';
import { openWorkspace } from '../workspace.js';
import { validateWorkspace } from '../validate/validate.js';
import { desiredState, type DesiredState } from './desired.js';
import { makePlan } from './plan.js';
import type { Branding, DeployableResource, Plan } from './types.js';
import { declaredEnvironments } from '../load/overlays.js';
import { findWorkspaceRoot, WORKSPACE_FILE } from '../load/source.js';
import { loadFromSource, openSource } from '../load/loader.js';

export interface PlanOptions {
  path?: string;
  env?: string;
  /** Plan this Git ref instead of the environment's. */
  ref?: string;
  customers?: string[];
  actor: string;
}

/** `ws` is absent when the plan came from the desired-state cache (the workspace was not read). */
export type PlanOutcome =
  | { ok: true; plan: Plan; ws?: Workspace }
  | { ok: false; diagnostics: Diagnostic[]; ws: Workspace };

/** Who is acting: RSYNC_ACTOR, else the Git user, else user@host. */
export async function currentActor(cwd: string): Promise<string> {
  if (process.env.RSYNC_ACTOR) return process.env.RSYNC_ACTOR;
  try {
    const git = simpleGit({ baseDir: cwd });
    const [name, email] = await Promise.all([git.raw(['config', 'user.name']), git.raw(['config', 'user.email'])]);
    if (name.trim() || email.trim()) return `${name.trim()}${email.trim() ? ` <${email.trim()}>` : ''}`.trim();
  } catch {
    /* not a repository, or no user configured */
  }
  return `${os.userInfo().username}@${os.hostname()}`;
}

export function brandingOf(ws: Workspace): Branding {
  const spec = ws.settings?.spec ?? {};
  const b = isObject(spec.branding) ? spec.branding : {};
  const p = isObject(spec.partner) ? spec.partner : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    productName: str(b.productName),
    logoUrl: str(b.logoUrl),
    primaryColor: str(b.primaryColor),
    footer: str(b.footer),
    partner: str(p.name),
  };
}

/** The environment to work on: the one asked for, else the first rsync.yaml declares. */
export async function resolveEnvironment(
  path: string | undefined,
  env: string | undefined,
): Promise<{ root: string; env: string; ref: string | undefined }> {
  const root = await findWorkspaceRoot(path ?? '.');
  if (!root) {
    throw new RsyncError(
      `No rsync.yaml in ${path ?? '.'} or any folder above it.`,
      ExitCode.NO_INPUT,
      'Run inside a workspace, or create one with `rsync init <dir>`.',
    );
  }
  // The environments come from the working tree's rsync.yaml (the binding of environments to refs): load that one
  // file, not the whole tree (at 1,000 customers that parsed 20,000 files a second time, for nothing).
  const folder = await openSource({ root });
  const text = await folder.read(WORKSPACE_FILE);
  const ws = await loadFromSource({
    label: folder.label,
    root: folder.root,
    files: async () => new Map(text === undefined ? [] : [[WORKSPACE_FILE, text]]),
    read: (rel) => folder.read(rel),
  });
  const envs = declaredEnvironments(ws);
  const chosen = env ?? envs[0];
  if (!chosen || !envs.includes(chosen)) {
    throw new RsyncError(
      env ? `Unknown environment "${env}".` : 'rsync.yaml declares no environments.',
      ExitCode.USAGE,
      `Declare it under spec.environments in rsync.yaml${envs.length ? `; known: ${envs.join(', ')}` : ''}.`,
    );
  }
  const e = (ws.settings!.spec.environments as Record<string, { ref?: string }>)[chosen];
  return { root, env: chosen, ref: typeof e?.ref === 'string' ? e.ref : undefined };
}

/** Is `root` inside a Git repository? */
async function inGit(root: string): Promise<boolean> {
  try {
    return await simpleGit({ baseDir: root }).checkIsRepo();
  } catch {
    return false;
  }
}

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
): Promise<Plan | undefined> {
  let commit: string;
  try {
    commit = (await simpleGit({ baseDir: root }).revparse(['--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch {
    return undefined;
  }
  const cached = commit ? readDesiredCache(root, env, commit) : undefined;
  if (!cached) return undefined;
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
    return makePlan({ ...base, desired: { resources, blobs: new Map() }, deployed: summary, deployedBlobs: new Map() });
  }
  const full = readDesiredFull(root, env, commit);
  if (!full) return undefined;
  const desired = { resources: full.resources, blobs: new Map(Object.entries(full.blobs)) };
  const deployed = await readDeployed(db.pool, env);
  return makePlan({ ...base, desired, deployed, deployedBlobs: await changedMappingTexts(db, desired, deployed) });
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
  const ref = opts.ref ?? ((await inGit(target.root)) ? target.ref : undefined);
  if (ref) {
    const fast = await planFromCache(db, target.root, target.env, ref, opts);
    if (fast) return { ok: true, plan: fast };
  }
  const { ws } = await openWorkspace({ path: target.root, ref, env: target.env });
  const { diagnostics } = validateWorkspace(ws);
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
  const [deployed, live] = await Promise.all([readDeployed(db.pool, target.env), readLive(db.pool, target.env)]);
  const deployedBlobs = await changedMappingTexts(db, desired, deployed);
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
  });
  return { ok: true, plan, ws };
}
