import { Args, Flags } from '@oclif/core';
import { diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { PLAN_STAGES, planEnvironment } from '../../engine/plan/index.js';
import { renderPlanMarkdown, renderPlanText } from '../../engine/plan/render.js';
import { writePlanFile } from '../../engine/plan/file.js';
import { submitForApproval } from '../../engine/apply/approvals.js';
import { declaredApprovalsAt } from '../../engine/workspace/index.js';
import type { Plan } from '../../engine/plan/types.js';
import { RsyncCommand } from '../base.js';
import { cliIdentity } from '../identity.js';
import { selectionFlags, selectionOf } from '../flags.js';
import { openDatabase, workspaceRoot } from '../database.js';
import { renderDiagnostic } from '../views/diagnostics.js';
import { stages } from '../views/progress.js';

export default class PlanCommand extends RsyncCommand<
  Plan | { version: 1; valid: false; diagnostics: Record<string, unknown>[] }
> {
  static summary = 'Show what apply would change in an environment: creates, updates (with diffs), deletes and drift.';
  static description =
    `Reads the workspace at the environment's Git ref (rsync.yaml binds environments to refs), validates
it, and pairs it with what PostgreSQL records as deployed. The plan is a versioned JSON value: save it with --out and
apply exactly it with \`rsync apply plan.json\`. For an environment that requires approval, a plan saved with --out is
also submitted for approval (rsync approve), with whoever ran this (RSYNC_TOKEN's identity) as its author. --target (with what the resource depends on: a flow's connections,
policy and SLA), --selector (customers by label) and --exclude make a partial plan, which says what it left out.
With --detailed-exitcode: 0 no changes, 2 changes, 1 error.`;
  static examples = [
    '<%= config.bin %> plan --env staging',
    '<%= config.bin %> plan --env production --customer northwind --out plan.json',
    '<%= config.bin %> plan --format markdown > comment.md',
    '<%= config.bin %> plan --env production --target northwind/flow/orders-to-erp --out plan.json',
    '<%= config.bin %> plan --selector tier=gold --exclude contoso/flow/inventory-to-shopify',
  ];
  static args = { path: Args.string({ description: 'the workspace (default: the current folder)', default: '.' }) };
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment (default: the first in rsync.yaml)' }),
    customer: Flags.string({ char: 'c', description: 'limit the plan to this customer (repeatable)', multiple: true }),
    ref: Flags.string({ description: "plan this Git ref instead of the environment's" }),
    ...selectionFlags,
    out: Flags.string({ char: 'o', description: 'also write the plan as JSON to this file' }),
    format: Flags.string({ description: 'output format', options: ['text', 'markdown', 'json'], default: 'text' }),
    'detailed-exitcode': Flags.boolean({
      description: 'exit 0 when there are no changes, 2 when there are, 1 on error',
    }),
    verbose: Flags.boolean({ char: 'v', description: 'list every change, however many' }),
  };

  async run() {
    const { args, flags } = await this.parse(PlanCommand);
    const root = await workspaceRoot(args.path);
    const quiet = this.json || flags.format === 'json';
    const db = await openDatabase(root, quiet);
    const bar = stages('plan', PLAN_STAGES, !quiet);
    try {
      const { actor } = await cliIdentity(db, root, 'read');
      const outcome = await planEnvironment(db, {
        onStage: (s) => bar.stage(s),
        onCount: (done, total, unit) => bar.count(done, total, unit),
        path: root,
        env: flags.env,
        ref: flags.ref,
        customers: flags.customer,
        selection: selectionOf(flags),
        actor,
      });
      bar.done();
      if (!outcome.ok) {
        const errors = outcome.diagnostics;
        if (!this.json) {
          for (const d of errors) this.logToStderr(renderDiagnostic(d));
          this.logToStderr(
            `\nrsync: the workspace has errors; no plan was made. Fix them (rsync validate) and plan again.`,
          );
        }
        this.exitCode = ExitCode.FAILED;
        return { version: 1 as const, valid: false as const, diagnostics: errors.map(diagnosticToJSON) };
      }
      const plan = outcome.plan;
      if (flags.out) {
        writePlanFile(flags.out, plan);
        // For an environment that requires approval, the saved plan awaits its approvals (the console lists it).
        await submitForApproval(db, plan, await declaredApprovalsAt(root, plan.env), actor);
      }
      if (!this.json) {
        if (flags.format === 'json') this.log(JSON.stringify(plan, null, 2));
        else if (flags.format === 'markdown') this.log(renderPlanMarkdown(plan));
        else this.log(renderPlanText(plan, { verbose: flags.verbose }));
        if (flags.out && flags.format !== 'json')
          this.logToStderr(`\nSaved the plan to ${flags.out}. Apply exactly it with: rsync apply ${flags.out}`);
      }
      this.exitCode = flags['detailed-exitcode'] && !plan.empty ? ExitCode.CHANGES : ExitCode.OK;
      return plan;
    } finally {
      bar.done(); // also when the plan failed: the error starts on a clean line
      await db.close();
    }
  }
}
