/** Environment → ref: which environment a command works on, and the Git ref rsync.yaml binds it to. */
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { loadFromSource, openSource } from '../load/loader.js';
import { declaredEnvironments } from '../load/overlays.js';
import { declaredSecretsFolder } from '../model/secret-ref.js';
import type { Workspace } from '../model/workspace.js';
import { WORKSPACE_FILE } from '../load/source.js';
import { type DeclaredIdentity, declaredIdentity } from './identity.js';
import { workspaceRoot } from './root.js';
import { alertBrandingOf, type Branding, brandingOf } from './branding.js';

/**
 * The working tree's rsync.yaml alone, loaded: that one file, not the whole tree (at 1,000 customers that parsed
 * 20,000 files a second time, for nothing).
 */
async function loadWorkspaceFile(root: string): Promise<Workspace> {
  const folder = await openSource({ root });
  const text = await folder.read(WORKSPACE_FILE);
  return loadFromSource({
    label: folder.label,
    root: folder.root,
    files: async () => new Map(text === undefined ? [] : [[WORKSPACE_FILE, text]]),
    read: (rel) => folder.read(rel),
  });
}

/** rsync.yaml's spec.audit (the apply log's anchors and key) and the secrets folder its key may be read from. */
export interface DeclaredAudit {
  anchorFile?: string;
  gitNotes: boolean;
  /** The key's secret reference, unresolved. */
  key?: unknown;
  secretsFolder?: string;
}

export async function declaredAuditAt(root: string): Promise<DeclaredAudit> {
  const ws = await loadWorkspaceFile(root);
  const a = (ws.settings?.spec as { audit?: Record<string, unknown> } | undefined)?.audit ?? {};
  return {
    anchorFile: typeof a.anchorFile === 'string' ? a.anchorFile : undefined,
    gitNotes: a.gitNotes !== false,
    key: a.key,
    secretsFolder: declaredSecretsFolder(ws),
  };
}

/** The partner's branding (branding.ts) from the working tree's rsync.yaml: what the monthly report wears. */
export async function declaredBrandingAt(root: string): Promise<Branding> {
  return brandingOf(await loadWorkspaceFile(root));
}

/** The branding with its support link (branding.supportUrl, else partner.support): what the console wears. */
export async function declaredConsoleBrandingAt(root: string): Promise<Branding & { supportUrl?: string }> {
  const ws = await loadWorkspaceFile(root);
  return { ...brandingOf(ws), supportUrl: alertBrandingOf(ws).supportUrl };
}

/** The declared identity (identity.ts) of the workspace at or above `path`, from its working tree's rsync.yaml. */
export async function declaredIdentityAt(path: string | undefined): Promise<DeclaredIdentity & { root: string }> {
  const root = await workspaceRoot(path);
  return { ...declaredIdentity(await loadWorkspaceFile(root)), root };
}

/**
 * The environment to work on: the one asked for, else the first rsync.yaml declares; with the workspace's declared
 * identity (identity.ts), read from the same file.
 */
export async function resolveEnvironment(
  path: string | undefined,
  env: string | undefined,
): Promise<{
  root: string;
  env: string;
  ref: string | undefined;
  secretsFolder: string | undefined;
  declared: DeclaredIdentity;
}> {
  const root = await workspaceRoot(path);
  // The environments come from the working tree's rsync.yaml (the binding of environments to refs).
  const ws = await loadWorkspaceFile(root);
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
  return {
    root,
    env: chosen,
    ref: typeof e?.ref === 'string' ? e.ref : undefined,
    // Where this workspace's `file:` secrets live (the runtime commands hand it to the secret resolver).
    secretsFolder: declaredSecretsFolder(ws),
    declared: declaredIdentity(ws),
  };
}
