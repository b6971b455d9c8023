import { Args, Flags } from '@oclif/core';
import { type ApprovalStatus, approvePlan } from '../../engine/apply/approvals.js';
import { openSavedPlan } from '../../engine/plan/origin.js';
import { summaryLine } from '../../engine/plan/render.js';
import { declaredApprovalsAt } from '../../engine/workspace/index.js';
import { anchorLog, openAudit } from '../audit.js';
import { RsyncCommand } from '../base.js';
import { openDatabase, workspaceRoot } from '../database.js';
import { cliIdentity } from '../identity.js';

export interface ApproveOutput extends ApprovalStatus {
  version: 1;
  /** False when this person had approved the plan already (it counts once). */
  recorded: boolean;
  logEntry: number | null;
}

export default class Approve extends RsyncCommand<ApproveOutput> {
  static summary = "Approve a saved plan for an environment that requires approval (an admin's or operator's).";
  static description = `The approval is of that exact plan (the hash of its JSON) made against the deployed state of the
time: once the environment's state moves, the plan is stale and its approvals are void. It is recorded in the audit
log. How many an environment needs, and whether the plan's author may approve, is rsync.yaml's
environments.<env>.approvals (and a Policy's approvals); the same person twice counts once. With RSYNC_TOKEN the
approver is the token's identity (its role must be admin or operator); without, the local user.`;
  static examples = [
    'RSYNC_TOKEN=rsy_… <%= config.bin %> approve plan.json --reason "reviewed in PR #42"',
    '<%= config.bin %> approve plan.json --json',
  ];
  static args = { plan: Args.string({ description: 'a plan saved with `rsync plan --out`', required: true }) };
  static flags = {
    reason: Flags.string({ description: 'why (kept with the approval and in the audit log)' }),
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
  };

  async run(): Promise<ApproveOutput> {
    const { args, flags } = await this.parse(Approve);
    const root = await workspaceRoot(flags.path);
    const plan = await openSavedPlan(args.plan, root);
    const rule = await declaredApprovalsAt(root, plan.env);
    const db = await openDatabase(root, this.json);
    const audit = await openAudit(root);
    try {
      const { actor, identity } = await cliIdentity(db, root, 'approve');
      const out = await approvePlan(db, plan, { actor, identity, rule, reason: flags.reason });
      const anchored = out.recorded ? await anchorLog(db, audit, { env: plan.env, commit: plan.commit }) : undefined;
      if (!this.json) {
        const head = out.recorded
          ? `Approved plan ${out.hash.slice(0, 12)} for ${plan.env} as ${actor}`
          : `${actor} had approved plan ${out.hash.slice(0, 12)} already (an approval counts once per person)`;
        this.log(`${head}: ${out.approvals.length} of ${out.required}.`);
        this.log(
          out.missing
            ? `  ${out.missing} more needed before \`rsync apply ${args.plan}\` applies it.`
            : `  It has its approvals: \`rsync apply ${args.plan}\` applies it.`,
        );
        this.log(summaryLine(plan));
        if (anchored) this.note(anchored);
      }
      return { version: 1, ...out };
    } finally {
      await db.close();
    }
  }
}
