/**
 * Approvals for production (issue 17). An environment with `requiresApproval: true` in rsync.yaml applies a saved
 * plan only once enough distinct people whose role may approve (`can(who, 'approve')`: admin, operator; or the local
 * user, who holds the database's credentials anyway) have approved that exact plan — by its hash (plan/file.ts
 * planHash) and the deployed state it was made against (its basis). A plan that goes stale loses them: apply
 * refuses it as stale, and the next apply closes every plan made against another state, so a new plan needs new
 * approvals.
 *
 * How many (`requiredApprovals`): the environment's `approvals.required` (default 1), or more when a Policy in force
 * for the customers the plan changes (or a partner-wide one) says so in its `approvals: { <env>: N }` — the
 * strictest wins. With `approvals.separateAuthor`, the plan's author (its createdBy) may not approve it. People are
 * told apart by personOf (auth/tokens.ts): a token's name, or the local user as named; the same one twice counts once.
 *
 * For the console (and the CLI):
 * - `approvePlan(db, plan, { actor, identity, rule, reason })`: records an approval (audited as `approve`), returns
 *   the plan's `ApprovalStatus`; refuses (exit 75) a role that may not approve, the author under separateAuthor, a
 *   stale plan, an environment that needs no approval;
 * - `pendingApprovals(db, rule)`: the environment's plans awaiting approval (not applied, not stale), each with its
 *   approvals, how many it needs and how many more; `pendingPlan(db, env, hash)` gives one's plan back, to show,
 *   approve or apply it;
 * - `approvalStatus(db, plan, rule)`: one plan's;
 * - `refuseUnapproved`, called by applyPlan under the environment's lock, and `closeApprovals` after it applied.
 */
import type pg from 'pg';
import { type Action, can, holdersOf, type Identity, personOf } from '../auth/tokens.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { assertPlanFormat, planHash } from '../plan/file.js';
import { stateHash } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { appendLog } from '../state/apply-log.js';
import {
  type ApprovalRow,
  closePlans,
  openPlans,
  recordApproval,
  submitPlan,
  submittedPlan,
  submittedPlanJson,
} from '../state/approvals.js';
import type { Database } from '../state/db.js';
import { type DeployedRow, readDeployed } from '../state/deployments.js';
import { withTransaction } from '../state/tx.js';
import type { ApprovalRule } from '../workspace/environment.js';

export type { ApprovalRule } from '../workspace/environment.js';

type Queryable = Pick<pg.Pool, 'query'>;
const APPROVE: Action = 'approve';

export interface ApprovalStatus {
  env: string;
  hash: string;
  author: string;
  required: number;
  /** Why that many: the environment's setting and the policies that ask more. */
  because: string[];
  /** The approvals that count (one per person, the author's left out under separateAuthor). */
  approvals: ApprovalRow[];
  missing: number;
  separateAuthor: boolean;
}

export interface PendingApproval extends ApprovalStatus {
  commit: string | null;
  createdAt: string;
  summary: unknown;
  submittedAt: string;
  submittedBy: string;
}

/**
 * How many approvals `plan` needs: the environment's count, or a Policy's `approvals[env]` when larger — of the
 * policies in force after the plan (deployed, as the plan changes them) that are partner-wide or belong to a customer
 * the plan changes.
 */
export function requiredApprovals(
  plan: Plan,
  deployed: readonly Pick<DeployedRow, 'address' | 'customer' | 'kind' | 'spec'>[],
  rule: ApprovalRule,
): { required: number; because: string[] } {
  const customers = new Set(plan.changes.map((c) => c.customer));
  const policies = new Map<string, { customer: string | null; spec: unknown }>();
  for (const d of deployed) if (d.kind === 'policy') policies.set(d.address, d);
  for (const c of plan.changes) {
    if (c.kind !== 'policy') continue;
    if (c.action === 'delete') policies.delete(c.address);
    else if (c.after) policies.set(c.address, c.after);
  }
  let required = rule.required;
  const because = [`rsync.yaml environments.${rule.env} asks ${rule.required}`];
  for (const [address, p] of [...policies].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (p.customer !== null && !customers.has(p.customer)) continue;
    const n = (p.spec as { spec?: { approvals?: Record<string, unknown> } })?.spec?.approvals?.[rule.env];
    if (typeof n === 'number' && n > rule.required) {
      because.push(`policy ${address} asks ${n}`);
      required = Math.max(required, n);
    }
  }
  return { required, because };
}

/** The approvals that count for `plan`: one per person, none by its author under separateAuthor. */
function counted(approvals: ApprovalRow[], author: string, rule: ApprovalRule): ApprovalRow[] {
  const authorPerson = personOf(author);
  return approvals.filter((a) => !(rule.separateAuthor && a.person === authorPerson));
}

async function statusOf(db: Queryable, plan: Plan, deployed: DeployedRow[], rule: ApprovalRule) {
  const hash = planHash(plan);
  const { required, because } = requiredApprovals(plan, deployed, rule);
  const row = await submittedPlan(db, plan.env, hash);
  const approvals = row && !row.closedAt ? counted(row.approvals, plan.createdBy, rule) : [];
  const status: ApprovalStatus = {
    env: plan.env,
    hash,
    author: plan.createdBy,
    required,
    because,
    approvals,
    missing: Math.max(0, required - approvals.length),
    separateAuthor: rule.separateAuthor,
  };
  return { status, row };
}

/** Where `plan` stands: its approvals and how many more it needs (none counted once it is stale or applied). */
export async function approvalStatus(
  db: Pick<Database, 'pool'>,
  plan: Plan,
  rule: ApprovalRule,
): Promise<ApprovalStatus> {
  return (await statusOf(db.pool, plan, await readDeployed(db.pool, plan.env), rule)).status;
}

const submission = (plan: Plan, hash: string, required: number) => ({
  env: plan.env,
  hash,
  stateHash: plan.basis.stateHash,
  author: plan.createdBy,
  commit: plan.commit,
  createdAt: plan.createdAt,
  summary: plan.summary,
  plan,
  required,
});

export interface ApproveOptions {
  /** The audit's name of who approves (auth/tokens.ts actorOf, or the local user). */
  actor: string;
  /** Who approves, when known by a token or a session; null for the local user. */
  identity: Identity | null;
  rule: ApprovalRule;
  reason?: string;
}

/** Record `opts.actor`'s approval of `plan` (see the header for what is refused), audited in the apply log. */
export async function approvePlan(
  db: Pick<Database, 'pool'>,
  plan: Plan,
  opts: ApproveOptions,
): Promise<ApprovalStatus & { recorded: boolean; logEntry: number | null }> {
  if (plan.env !== opts.rule.env)
    throw new Error(`approvePlan: the rule is ${opts.rule.env}'s, the plan ${plan.env}'s`);
  if (!opts.rule.requiresApproval)
    throw new RsyncError(
      `${plan.env} needs no approval: rsync.yaml does not set requiresApproval on it.`,
      ExitCode.REFUSED,
      `Apply the plan as it is, or set environments.${plan.env}.requiresApproval: true in rsync.yaml.`,
    );
  if (opts.identity && !can(opts.identity, APPROVE))
    throw new RsyncError(
      `The ${opts.identity.role} role may not approve plans`,
      ExitCode.REFUSED,
      'An admin or an operator approves; use such a token, or ask someone who has one.',
    );
  const person = personOf(opts.actor);
  const authorRefusal = () =>
    new RsyncError(
      `${person} made this plan and may not approve it: ${plan.env} asks that its author is not an approver (approvals.separateAuthor).`,
      ExitCode.REFUSED,
      'Ask another admin or operator to approve it.',
    );
  if (opts.rule.separateAuthor && person === personOf(plan.createdBy)) throw authorRefusal();
  const deployed = await readDeployed(db.pool, plan.env);
  if (stateHash(deployed) !== plan.basis.stateHash)
    throw new RsyncError(
      `The plan is stale: the deployed state of ${plan.env} changed since the plan was made (${plan.createdAt}); it cannot be approved.`,
      ExitCode.REFUSED,
      'Make a new plan (rsync plan --out …), review it, and have that one approved.',
    );
  const { status: before, row } = await statusOf(db.pool, plan, deployed, opts.rule);
  if (opts.rule.separateAuthor) {
    // The plan file says who made it, and a file can be edited: the author is also who submitted the plan from the
    // database's side (rsync plan --out, or the apply that was refused), under their own identity.
    if (!row)
      throw new RsyncError(
        `This plan was never submitted for approval in ${plan.env}: it was not saved by \`rsync plan --out\` against this database, or its file was edited since.`,
        ExitCode.REFUSED,
        `${plan.env} asks that a plan's author does not approve it, so rsync must know who made it: make the plan with rsync plan --env ${plan.env} --out plan.json and approve that file.`,
      );
    if (personOf(row.submittedBy) === person) throw authorRefusal();
  }
  return withTransaction(db.pool, async (client) => {
    await submitPlan(client, submission(plan, before.hash, before.required), opts.actor);
    const recorded = await recordApproval(client, {
      env: plan.env,
      hash: before.hash,
      approver: opts.actor,
      person,
      reason: opts.reason,
    });
    const { status } = await statusOf(client, plan, deployed, opts.rule);
    let logEntry: number | null = null;
    if (recorded) {
      const entry = await appendLog(client, {
        env: plan.env,
        action: 'approve',
        actor: opts.actor,
        commit: plan.commit,
        ref: plan.ref,
        detail: {
          planHash: status.hash,
          planCreatedAt: plan.createdAt,
          author: plan.createdBy,
          reason: opts.reason ?? null,
          approvals: status.approvals.length,
          required: status.required,
        },
      });
      logEntry = entry.n;
    }
    return { ...status, recorded, logEntry };
  });
}

/** The plans of the rule's environment awaiting approval, oldest first: neither applied nor stale. */
export async function pendingApprovals(db: Pick<Database, 'pool'>, rule: ApprovalRule): Promise<PendingApproval[]> {
  const deployed = await readDeployed(db.pool, rule.env);
  const rows = await openPlans(db.pool, rule.env, stateHash(deployed));
  const out: PendingApproval[] = [];
  for (const r of rows) {
    const approvals = counted(r.approvals, r.author, rule);
    out.push({
      env: r.env,
      hash: r.hash,
      author: r.author,
      required: r.required,
      because: [],
      approvals,
      missing: Math.max(0, r.required - approvals.length),
      separateAuthor: rule.separateAuthor,
      commit: r.commit,
      createdAt: r.createdAt,
      summary: r.summary,
      submittedAt: r.submittedAt,
      submittedBy: r.submittedBy,
    });
  }
  return out;
}

/**
 * Keep a saved plan as awaiting approval, submitted by `actor` (`rsync plan --out` for an environment that requires
 * approval): the console lists it, and `actor` is known as its author whatever its file says later.
 */
export async function submitForApproval(db: Database, plan: Plan, rule: ApprovalRule, actor: string): Promise<void> {
  if (!rule.requiresApproval) return;
  const deployed = await readDeployed(db.pool, plan.env);
  const { required } = requiredApprovals(plan, deployed, rule);
  await submitPlan(db.pool, submission(plan, planHash(plan), required), actor);
}

/** A plan kept as awaiting approval, by its hash (undefined: none), checked to be that very plan. */
export async function pendingPlan(db: Pick<Database, 'pool'>, env: string, hash: string): Promise<Plan | undefined> {
  const plan = (await submittedPlanJson(db.pool, env, hash)) as Plan | undefined;
  if (!plan) return undefined;
  assertPlanFormat(plan);
  if (planHash(plan) !== hash) throw new Error(`the plan kept as ${hash} hashes to ${planHash(plan)}`);
  return plan;
}

/**
 * Refuse to apply `plan` (exit 75) until it has its approvals, naming who may still approve. Called by applyPlan
 * under the lock, after the stale check: `deployed` is the state the plan was made against. A refused plan is kept
 * as awaiting approval, so that the console lists it.
 */
export async function refuseUnapproved(
  db: Database,
  plan: Plan,
  deployed: DeployedRow[],
  rule: ApprovalRule,
  actor: string,
): Promise<ApprovalStatus | null> {
  if (!rule.requiresApproval) return null;
  const { status, row } = await statusOf(db.pool, plan, deployed, rule);
  if (status.missing === 0) return status;
  if (!row || row.required !== status.required)
    await submitPlan(db.pool, submission(plan, status.hash, status.required), actor);
  const done = new Set(status.approvals.map((a) => a.person));
  const author = personOf(plan.createdBy);
  const may = (await holdersOf(db.pool, APPROVE)).filter(
    (h) => !done.has(personOf(h.name)) && !(rule.separateAuthor && personOf(h.name) === author),
  );
  const has = status.approvals.length
    ? `has ${status.approvals.length} (${status.approvals.map((a) => a.approver).join(', ')})`
    : 'has none';
  const whom = `an admin or operator${rule.separateAuthor ? ` other than its author ${author}` : ''}${done.size ? ` who has not approved it yet` : ''}`;
  const listed = may.length
    ? `: ${may
        .slice(0, 10)
        .map((h) => `${h.name} (${h.role})`)
        .join(', ')}${may.length > 10 ? ` and ${may.length - 10} more` : ''}`
    : ' (no live token has that role: an admin makes one with `rsync token create <name> --role operator`)';
  throw new RsyncError(
    `${plan.env} requires approval: plan ${status.hash.slice(0, 12)} needs ${status.required} approval${status.required === 1 ? '' : 's'} (${status.because.join('; ')}) and ${has}; ${status.missing} more from ${whom}${listed}. Nothing was applied.`,
    ExitCode.REFUSED,
    `Approvals bind to a saved plan: save it (rsync plan --env ${plan.env} --out plan.json), have it approved (RSYNC_TOKEN=<approver's token> rsync approve plan.json, or in the console), then rsync apply plan.json.`,
  );
}

/** After an apply: the applied plan's approvals are spent, and plans made against the previous state are stale. */
export async function closeApprovals(
  db: Queryable,
  env: string,
  applied: string | null,
  after: DeployedRow[],
): Promise<void> {
  await closePlans(db, env, applied, () => stateHash(after));
}
