/**
 * Which workspace this is: what a saved plan carries, and what `rsync apply plan.json` checks before it applies
 * anything (engine/plan/origin.ts). Terraform's analogue is a state's lineage: a saved plan records it, and is refused
 * against another. A plan saved in one workspace and applied in another applied that one's resources to a fresh
 * database (whose empty state matched the plan's basis); now it is refused.
 *
 * The identity has two parts, both stable across clones and machines where they must be, and distinct where they
 * must be:
 * - declared: rsync.yaml's `metadata.name` and `spec.partner.name`, hashed into `id` (sha256 of canonical JSON,
 *   16 hex digits). Every clone of a workspace has them; two partners' workspaces differ by them.
 * - where: inside a Git repository, its history (a plan records its commit, which the applying repository must have:
 *   a clone of the same repository has it, an unrelated one does not); outside Git, the workspace's folder (its real
 *   path), since such a folder has no clones, only copies.
 */
import { realpath } from 'node:fs/promises';
import type { Workspace } from '../model/workspace.js';
import { hashOf } from '../util/hash.js';
import { isObject } from '../util/merge.js';

export interface WorkspaceIdentity {
  /** 16 hex digits of sha256 over `name` and `partner`: equal for every copy of one workspace's rsync.yaml. */
  id: string;
  /** rsync.yaml's metadata.name. */
  name: string | null;
  /** rsync.yaml's spec.partner.name. */
  partner: string | null;
  /** The real path of the workspace's folder when it is not in a Git repository; null in one (its commits say). */
  folder: string | null;
}

export type DeclaredIdentity = Omit<WorkspaceIdentity, 'folder'>;

/** The declared part, from rsync.yaml's Workspace document (null for a field it lacks or of the wrong type). */
export function declaredIdentity(ws: Workspace): DeclaredIdentity {
  const s = ws.settings;
  const name = typeof s?.metadata.name === 'string' ? s.metadata.name : null;
  const partner = s && isObject(s.spec.partner) && typeof s.spec.partner.name === 'string' ? s.spec.partner.name : null;
  return { id: hashOf({ workspace: name, partner }).slice(0, 16), name, partner };
}

/** The whole identity of the workspace at `root`: in a Git repository (`inGit`) its folder is left out. */
export async function workspaceIdentity(
  root: string,
  declared: DeclaredIdentity,
  inGit: boolean,
): Promise<WorkspaceIdentity> {
  return { ...declared, folder: inGit ? null : await realpath(root) };
}

/** `"acme-integrations" (Acme Retail Integrations)`, for messages. */
export function describeIdentity(w: Pick<WorkspaceIdentity, 'name' | 'partner'>): string {
  return `${w.name === null ? 'an unnamed workspace' : `"${w.name}"`}${w.partner ? ` (${w.partner})` : ''}`;
}
