import { createInterface } from 'node:readline/promises';
import { Args, Flags } from '@oclif/core';
import { applyPlan, type ApplyResult } from '../../engine/apply/apply.js';
import { diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { planEnvironment } from '../../engine/plan/index.js';
import { declaredApprovalsAt } from '../../engine/workspace/index.js';
import { renderPlanText, summaryLine } from '../../engine/plan/render.js';
import { openSavedPlan } from '../../engine/plan/origin.js';
import type { Plan } from '../../engine/plan/types.js';
import { RsyncCommand } from '../base.js';
import { selectionFlags, selectionOf } from '../flags.js';
import { anchorLog, openAudit } from '../audit.js';
import { openDatabase, workspaceRoot } from '../database.js';
import { cliIdentity } from '../identity.js';
import { renderDiagnostic } from '../views/diagnostics.js';
import { progress } from '../views/progress.js';

export interface ApplyOutput extends Partial<ApplyResult> {
  version: 1;
  done: boolean;
  plan?: { env: string; summary: Plan['summary'] };
  diagnostics?: Record<string, unknown>[];
}

export default class Apply extends RsyncCommand<ApplyOutput> {
  static summary = 'Apply a plan: write deployment revisions and create, update or remove queues and schedules.';
  static description = `Without a plan file it plans, shows the plan and asks for confirmation (on a terminal; elsewhere
--auto-approve is required). With a plan file it applies exactly that plan, and refuses it if the deployed state moved
since it was made, or if it was made in another workspace (another rsync.yaml name or partner, another Git
repository, or for a workspace outside Git another folder). One apply per environment at a time; a second one is told who holds the lock.
An environment with requiresApproval applies only a saved plan that has its approvals (rsync approve); otherwise it
refuses (exit 75), saying how many more are needed and who may give them. With RSYNC_TOKEN, the token's role must
be admin or operator, and the audit log names it.`;
  static examples = [
    '<%= config.bin %> apply --env staging',
    '<%= config.bin %> apply plan.json',
    '<%= config.bin %> apply --env staging --auto-approve',
  ];
  static args = { plan: Args.string({ description: 'a plan saved with `rsync plan --out`' }) };
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment (default: the first in rsync.yaml)' }),
    customer: Flags.string({ char: 'c', description: 'limit to this customer (repeatable)', multiple: true }),
    ref: Flags.string({ description: "apply this Git ref instead of the environment's" }),
    ...selectionFlags,
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
    'auto-approve': Flags.boolean({ description: 'apply without asking' }),
    'force-prune': Flags.boolean({ description: 'remove deleted flows even if jobs are still queued for them' }),
  };

  async run(): Promise<ApplyOutput> {
    const { args, flags } = await this.parse(Apply);
    const root = await workspaceRoot(flags.path);
    // A saved plan is read and checked first: one from another workspace is refused before any database is opened.
    if (args.plan && (flags.target || flags.exclude || flags.selector))
      throw new RsyncError(
        'A saved plan is applied exactly as it was made: --target, --exclude and --selector do not narrow it.',
        ExitCode.USAGE,
        'Give them to `rsync plan --out` instead; a plan made with them applies only what it selected.',
      );
    const saved = args.plan ? await openSavedPlan(args.plan, root) : undefined;
    const db = await openDatabase(root, this.json);
    try {
      const { actor } = await cliIdentity(db, root, 'operate');
      const audit = await openAudit(root);
      let plan: Plan;
      if (saved) {
        plan = saved;
      } else {
        const outcome = await planEnvironment(db, {
          path: root,
          env: flags.env,
          ref: flags.ref,
          customers: flags.customer,
          selection: selectionOf(flags),
          actor,
        });
        if (!outcome.ok) {
          if (!this.json) for (const d of outcome.diagnostics) this.logToStderr(renderDiagnostic(d));
          this.exitCode = ExitCode.FAILED;
          return { version: 1, done: false, diagnostics: outcome.diagnostics.map(diagnosticToJSON) };
        }
        plan = outcome.plan;
        const rule = await declaredApprovalsAt(root, plan.env);
        if (!this.json) this.log(renderPlanText(plan));
        if (plan.empty) {
          return { version: 1, done: false, plan: { env: plan.env, summary: plan.summary } };
        }
        // An environment that requires approval applies only approved plans: applyPlan refuses this new one, naming
        // who may approve it, without asking first.
        if (!flags['auto-approve'] && !rule.requiresApproval) {
          if (!process.stdin.isTTY || this.json) {
            throw new RsyncError(
              'Refusing to apply without confirmation: this is not a terminal.',
              ExitCode.REFUSED,
              'Review the plan, then run again with --auto-approve, or save it with `rsync plan --out` and apply the file.',
            );
          }
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question(`\nApply these changes to ${plan.env}? Only "yes" is accepted: `);
          rl.close();
          if (answer.trim() !== 'yes') throw new RsyncError('Apply cancelled.', ExitCode.REFUSED);
        }
      }
      const bar = progress(`Applying to ${plan.env}`, !this.json);
      const result = await applyPlan(db, plan, {
        actor,
        url: db.url,
        approvals: await declaredApprovalsAt(root, plan.env),
        forcePrune: flags['force-prune'],
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.done();
      const anchored = await anchorLog(db, audit, { env: plan.env, commit: plan.commit });
      if (!this.json) {
        const a = result.applied;
        this.log(
          `\nApplied to ${result.env}: ${a.create} created, ${a.update} updated, ${a.delete} deleted${result.driftHealed ? `, ${result.driftHealed} drifted objects healed` : ''} (apply log entry ${result.logEntry}).`,
        );
        for (const w of result.waiting)
          this.log(
            `  waiting: ${w.address} still has ${w.jobs} queued job${w.jobs === 1 ? '' : 's'}; it is removed by a later apply once they drain (or now with --force-prune).`,
          );
        if (args.plan) this.log(summaryLine(plan));
        if (anchored) this.log(anchored);
      }
      return { version: 1, done: true, ...result, plan: { env: plan.env, summary: plan.summary } };
    } finally {
      await db.close();
    }
  }
}
