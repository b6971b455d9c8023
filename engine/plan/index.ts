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
import { readBlobs, readDeployed, readLive } from '../state/deployed.js';
import { isObject } from '../util/merge.js';
import { openWorkspace } from '../workspace.js';
import { validateWorkspace } from '../validate/validate.js';
import { desiredState } from './desired.js';
import { makePlan } from './plan.js';
import type { Branding, Plan } from './types.js';
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

export type PlanOutcome = { ok: true; plan: Plan; ws: Workspace } | { ok: false; diagnostics: Diagnostic[]; ws: Workspace };

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
export async function resolveEnvironment(path: string | undefined, env: string | undefined): Promise<{ root: string; env: string; ref: string | undefined }> {
  const root = await findWorkspaceRoot(path ?? '.');
  if (!root) {
    throw new RsyncError(`No rsync.yaml in ${path ?? '.'} or any folder above it.`, ExitCode.NO_INPUT, 'Run inside a workspace, or create one with `rsync init <dir>`.');
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

export async function planEnvironment(db: Database, opts: PlanOptions): Promise<PlanOutcome> {
  const target = await resolveEnvironment(opts.path, opts.env);
  const ref = opts.ref ?? ((await inGit(target.root)) ? target.ref : undefined);
  const { ws } = await openWorkspace({ path: target.root, ref, env: target.env });
  const { diagnostics } = validateWorkspace(ws);
  if (hasErrors(diagnostics)) return { ok: false, diagnostics, ws };
  if (opts.customers?.length) {
    const unknown = opts.customers.filter((c) => !ws.customers.has(c));
    if (unknown.length) {
      throw new RsyncError(`Unknown customer${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, ExitCode.USAGE, `Customers: ${[...ws.customers.keys()].join(', ')}.`);
    }
  }
  const desired = desiredState(ws);
  const [deployed, live] = await Promise.all([readDeployed(db.pool, target.env), readLive(db.pool, target.env)]);
  const wanted = new Set(desired.resources.map((r) => (isObject(r.spec.mapping) ? String((r.spec.mapping as { sha256?: string }).sha256) : '')));
  const changedFlows = deployed.filter((d) => d.kind === 'flow' && isObject(d.spec.mapping) && !wanted.has(String((d.spec.mapping as { sha256?: string }).sha256)));
  const deployedBlobs = await readBlobs(db.pool, changedFlows.map((d) => String((d.spec.mapping as { sha256?: string }).sha256)));
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
