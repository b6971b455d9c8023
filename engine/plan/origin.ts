/**
 * Where a saved plan comes from: `rsync apply plan.json` applies it only in the workspace that made it (its identity:
 * workspace/identity.ts), before taking any lock or touching the database. A plan from another workspace is refused
 * (exit 75) as a stale one is — the two checks together are Terraform's lineage and serial: from elsewhere, or
 * made against a deployed state that has moved since (apply/apply.ts, unchanged).
 */
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { inRepository, resolveCommit } from '../git/index.js';
import { declaredIdentityAt, describeIdentity, workspaceIdentity } from '../workspace/index.js';
import { readPlanFile } from './file.js';
import type { Plan } from './types.js';

const HERE = 'Apply a plan in the workspace that made it, or make one here: `rsync plan --out plan.json`.';

function refuse(message: string, hint = HERE): never {
  throw new RsyncError(`${message}; nothing was applied.`, ExitCode.REFUSED, hint);
}

/** Refuse `plan` unless it was made in the workspace at or above `path` (see identity.ts for what that means). */
export async function refuseForeignPlan(plan: Plan, path: string | undefined): Promise<void> {
  const made = plan.workspace;
  if (!made) refuse('This plan does not say which workspace it was made in');
  const declared = await declaredIdentityAt(path);
  if (declared.id !== made.id)
    refuse(
      `This plan was made in another workspace: ${describeIdentity(made)}, and this is ${describeIdentity(declared)}`,
    );
  const inGit = await inRepository(declared.root);
  const here = await workspaceIdentity(declared.root, declared, inGit);
  if (made.folder !== null) {
    // Made outside Git: known by its folder.
    if (here.folder !== made.folder)
      refuse(
        `This plan was made in the workspace folder ${made.folder}, and this is ${here.folder ?? `a Git repository (${declared.root})`}`,
        `A workspace outside Git is known by its folder. ${HERE}`,
      );
    return;
  }
  // Made in a Git repository: this one must have the plan's commit (every clone of that repository does).
  const commit = plan.commit ?? '';
  if (!inGit)
    refuse(
      `This plan was made in a Git repository (commit ${commit.slice(0, 12)}), and ${declared.root} is not in one`,
    );
  if (!commit || !(await resolveCommit(declared.root, commit)))
    refuse(
      `This plan was made from commit ${commit.slice(0, 12) || '(none)'}, which this repository does not have: it comes from another repository`,
      `If the commit is this repository's, fetch it (git fetch) and apply again; otherwise make a plan here: \`rsync plan --out plan.json\`.`,
    );
}

/** A saved plan read (file.ts) and checked to come from the workspace at or above `path`. */
export async function openSavedPlan(file: string, path: string | undefined): Promise<Plan> {
  const plan = readPlanFile(file);
  await refuseForeignPlan(plan, path);
  return plan;
}
