/** Environment → ref: which environment a command works on, and the Git ref rsync.yaml binds it to. */
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { loadFromSource, openSource } from '../load/loader.js';
import { declaredEnvironments } from '../load/overlays.js';
import { declaredSecretsFolder, declaredSecretsSettings } from '../model/secret-ref.js';
import type { OidcSettings, SecretsSettings } from '../model/generated/index.js';
import type { Workspace } from '../model/workspace.js';
import { WORKSPACE_FILE } from '../load/source.js';
import { type DeclaredIdentity, declaredIdentity } from './identity.js';
import { workspaceRoot } from './root.js';
import { alertBrandingOf, type Branding, brandingOf } from './branding.js';

/**
 * The working tree's rsync.yaml alone, loaded: that one file, not the whole tree (at 1,000 customers that parsed
 * 20,000 files a second time, for nothing).
 */
async function loadWorkspaceFile(root: string, ref?: string): Promise<Workspace> {
  const folder = await openSource({ root, ref });
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
  /** rsync.yaml's spec.secrets (a key in a secret manager is fetched through it). */
  secrets?: SecretsSettings;
}

export async function declaredAuditAt(root: string): Promise<DeclaredAudit> {
  const ws = await loadWorkspaceFile(root);
  const a = (ws.settings?.spec as { audit?: Record<string, unknown> } | undefined)?.audit ?? {};
  return {
    anchorFile: typeof a.anchorFile === 'string' ? a.anchorFile : undefined,
    gitNotes: a.gitNotes !== false,
    key: a.key,
    secretsFolder: declaredSecretsFolder(ws),
    secrets: declaredSecretsSettings(ws),
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

/** rsync.yaml's spec.console.oidc (OpenID Connect sign-in to the console; validated by the schema), when set. */
export async function declaredConsoleOidcAt(root: string): Promise<OidcSettings | undefined> {
  const ws = await loadWorkspaceFile(root);
  return (ws.settings?.spec as { console?: { oidc?: OidcSettings } } | undefined)?.console?.oidc;
}

/** The declared identity (identity.ts) of the workspace at or above `path`, from its working tree's rsync.yaml. */
export async function declaredIdentityAt(path: string | undefined): Promise<DeclaredIdentity & { root: string }> {
  const root = await workspaceRoot(path);
  return { ...declaredIdentity(await loadWorkspaceFile(root)), root };
}

/** The environments the working tree's rsync.yaml declares, in its order (`rsync plan --all-envs`). */
export async function environmentNames(path: string | undefined): Promise<string[]> {
  return declaredEnvironments(await loadWorkspaceFile(await workspaceRoot(path)));
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
  /** rsync.yaml's spec.secrets: the secret managers and their cache's TTL (the runtime hands it to the resolver). */
  secrets: SecretsSettings | undefined;
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
    secrets: declaredSecretsSettings(ws),
    declared: declaredIdentity(ws),
  };
}

/** A sync window (rsync.yaml `environments.<env>.syncWindows[]`): opens on its cron, in its zone, for its duration. */
export interface SyncWindow {
  schedule: string;
  duration: string;
  timezone: string;
}

/** What the controller (gitops/controller.ts) may do in an environment, as rsync.yaml says at a commit. */
export interface SyncSettings {
  env: string;
  ref: string | undefined;
  requiresApproval: boolean;
  autoSync: boolean;
  selfHeal: boolean;
  syncWindows: SyncWindow[];
}

/**
 * The sync settings of every environment rsync.yaml declares — in the working tree, or at `ref` (the controller
 * reads them at the commit it syncs: Git decides what may be applied automatically, too).
 */
export async function declaredSyncSettings(root: string, ref?: string): Promise<SyncSettings[]> {
  const ws = await loadWorkspaceFile(root, ref);
  const spec = (ws.settings?.spec ?? {}) as {
    environments?: Record<string, unknown>;
    defaults?: { timezone?: unknown };
  };
  const zone = typeof spec.defaults?.timezone === 'string' ? spec.defaults.timezone : 'UTC';
  return declaredEnvironments(ws).map((env) => {
    const e = (spec.environments?.[env] ?? {}) as Record<string, unknown>;
    const windows = Array.isArray(e.syncWindows) ? (e.syncWindows as Record<string, unknown>[]) : [];
    return {
      env,
      ref: typeof e.ref === 'string' ? e.ref : undefined,
      requiresApproval: e.requiresApproval === true,
      autoSync: e.autoSync === true,
      selfHeal: e.selfHeal === true,
      syncWindows: windows.map((w) => ({
        schedule: String(w.schedule),
        duration: String(w.duration),
        timezone: typeof w.timezone === 'string' ? w.timezone : zone,
      })),
    };
  });
}

/** What an environment asks of a plan before apply (rsync.yaml: requiresApproval and approvals). */
export interface ApprovalRule {
  env: string;
  requiresApproval: boolean;
  /** Approvals needed (default 1); a Policy in force may ask more (apply/approvals.ts). */
  required: number;
  /** The plan's author may not approve it. */
  separateAuthor: boolean;
}

/** The approval rule of `env` from the working tree's rsync.yaml (where apply runs: a plan file cannot lower it). */
export async function declaredApprovalsAt(root: string, env: string): Promise<ApprovalRule> {
  const ws = await loadWorkspaceFile(root);
  const e = (ws.settings?.spec.environments as Record<string, Record<string, unknown>> | undefined)?.[env] ?? {};
  const a = (e.approvals ?? {}) as { required?: unknown; separateAuthor?: unknown };
  return {
    env,
    requiresApproval: e.requiresApproval === true,
    required: typeof a.required === 'number' && Number.isInteger(a.required) && a.required >= 1 ? a.required : 1,
    separateAuthor: a.separateAuthor === true,
  };
}
