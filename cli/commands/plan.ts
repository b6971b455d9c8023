import { Args, Flags } from '@oclif/core';
import { diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { IMPACT_STAGE, PLAN_STAGES, planEnvironment } from '../../engine/plan/index.js';
import { DEFAULT_SAMPLE, impactBlocks } from '../../engine/plan/impact.js';
import { SAMPLE_CAP } from '../../engine/state/samples.js';
import { type PartnerPlan, partnerFailed, partnerLines, planAllEnvironments } from '../../engine/plan/partner.js';
import { renderPlanMarkdown, renderPlanText } from '../../engine/plan/render.js';
import { writePlanFile } from '../../engine/plan/file.js';
import { submitForApproval } from '../../engine/apply/approvals.js';
import { declaredApprovalsAt } from '../../engine/workspace/index.js';
import type { Plan } from '../../engine/plan/types.js';
import { RsyncCommand } from '../base.js';
import { cliIdentity } from '../identity.js';
import { countFlag, selectionFlags, selectionOf } from '../flags.js';
import { openDatabase, workspaceRoot } from '../database.js';
import { renderDiagnostic } from '../views/diagnostics.js';
import { stages } from '../views/progress.js';

type Invalid = { version: 1; valid: false; diagnostics: Record<string, unknown>[] };

export default class PlanCommand extends RsyncCommand<Plan | Invalid | ({ version: 1 } & PartnerPlan)> {
  static summary = 'Show what apply would change in an environment: creates, updates (with diffs), deletes and drift.';
  static description =
    `Reads the workspace at the environment's Git ref (rsync.yaml binds environments to refs), validates
it, and pairs it with what PostgreSQL records as deployed. The plan is a versioned JSON value: save it with --out and
apply exactly it with \`rsync apply plan.json\`. For an environment that requires approval, a plan saved with --out is
also submitted for approval (rsync approve), with whoever ran this (RSYNC_TOKEN's identity) as its author. --target (with what the resource depends on: a flow's connections,
policy and SLA), --selector (customers by label) and --exclude make a partial plan, which says what it left out.
--impact runs the deployed and the proposed revision of every flow whose mapping, parameters or key change over the
records the worker stored of it (up to --sample per flow; no system is called) and shows what would be written
differently; new dead letters or new idempotency keys are errors (exit 1, and --out saves nothing) unless
acknowledged with --acknowledge <address> (\`*\` matches anything) or the flow's annotation rsync/acknowledge-impact
added in the same change. --all-envs plans every environment of rsync.yaml and ends with the partner-wide totals.
With --detailed-exitcode: 0 no changes, 2 changes, 1 error.`;
  static examples = [
    '<%= config.bin %> plan --env staging',
    '<%= config.bin %> plan --env production --customer northwind --out plan.json',
    '<%= config.bin %> plan --format markdown > comment.md',
    '<%= config.bin %> plan --env production --target northwind/flow/orders-to-erp --out plan.json',
    '<%= config.bin %> plan --selector tier=gold --exclude contoso/flow/inventory-to-shopify',
    '<%= config.bin %> plan --env production --impact --sample 50',
    "<%= config.bin %> plan --env production --impact --acknowledge 'northwind/flow/orders-to-erp'",
    '<%= config.bin %> plan --all-envs --format markdown',
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
    impact: Flags.boolean({
      description: "run both revisions of each changed flow over the worker's stored samples of its records",
    }),
    sample: countFlag({
      description: `records per flow for --impact (default ${DEFAULT_SAMPLE}, at most the ${SAMPLE_CAP} kept)`,
      max: SAMPLE_CAP,
    }),
    acknowledge: Flags.string({
      description: "accept this flow's data impact (an address; `*` matches anything; repeatable)",
      multiple: true,
    }),
    'all-envs': Flags.boolean({
      description: 'plan every environment of rsync.yaml, then the partner-wide totals',
      exclusive: ['env', 'ref', 'out'],
    }),
  };

  async run() {
    const { args, flags } = await this.parse(PlanCommand);
    const root = await workspaceRoot(args.path);
    const quiet = this.json || flags.format === 'json';
    const db = await openDatabase(root, quiet);
    const impact = flags.impact || flags.sample !== undefined || !!flags.acknowledge?.length;
    const bar = stages('plan', impact ? [...PLAN_STAGES, IMPACT_STAGE] : PLAN_STAGES, !quiet);
    try {
      const { actor } = await cliIdentity(db, root, 'read');
      const options = {
        onStage: (s: string) => bar.stage(s),
        onCount: (done: number, total: number, unit: string) => bar.count(done, total, unit),
        path: root,
        customers: flags.customer,
        selection: selectionOf(flags),
        actor,
        ...(impact ? { impact: { sample: flags.sample, acknowledge: flags.acknowledge ?? [] } } : {}),
      };
      if (flags['all-envs']) return await this.allEnvironments(db, options, flags, bar);
      const outcome = await planEnvironment(db, { ...options, env: flags.env, ref: flags.ref });
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
      const blocked = impactBlocks(plan.impact);
      if (flags.out && !blocked) {
        writePlanFile(flags.out, plan);
        // For an environment that requires approval, the saved plan awaits its approvals (the console lists it).
        await submitForApproval(db, plan, await declaredApprovalsAt(root, plan.env), actor);
      }
      if (!this.json) {
        if (flags.format === 'json') this.log(JSON.stringify(plan, null, 2));
        else if (flags.format === 'markdown') this.log(renderPlanMarkdown(plan));
        else this.log(renderPlanText(plan, { verbose: flags.verbose }));
        if (blocked)
          this.logToStderr(
            `\nrsync: the plan's data impact has errors (above)${flags.out ? `; ${flags.out} was not written` : ''}. Fix the flows, or acknowledge each with --acknowledge <address> or the annotation rsync/acknowledge-impact.`,
          );
        else if (flags.out && flags.format !== 'json')
          this.logToStderr(`\nSaved the plan to ${flags.out}. Apply exactly it with: rsync apply ${flags.out}`);
      }
      this.exitCode = blocked
        ? ExitCode.FAILED
        : flags['detailed-exitcode'] && !plan.empty
          ? ExitCode.CHANGES
          : ExitCode.OK;
      return plan;
    } finally {
      bar.done(); // also when the plan failed: the error starts on a clean line
      await db.close();
    }
  }

  /** --all-envs: each environment's plan as `plan --env` shows it, then the partner-wide totals. */
  private async allEnvironments(
    db: Parameters<typeof planAllEnvironments>[0],
    options: Parameters<typeof planAllEnvironments>[1],
    flags: { format: string; verbose: boolean; 'detailed-exitcode': boolean },
    bar: ReturnType<typeof stages>,
  ): Promise<{ version: 1 } & PartnerPlan> {
    const partner = await planAllEnvironments(db, options);
    bar.done();
    if (!this.json) {
      if (flags.format === 'json') this.log(JSON.stringify({ version: 1, ...partner }, null, 2));
      else {
        const md = flags.format === 'markdown';
        for (const e of partner.environments) {
          if (!('plan' in e)) {
            const why = `the workspace has errors there (rsync validate --env ${e.env})`;
            this.log(md ? `### \`${e.env}\`: not planned: ${why}\n` : `rsync plan for ${e.env}: not planned: ${why}\n`);
            for (const d of e.diagnostics) this.logToStderr(renderDiagnostic(d));
            continue;
          }
          this.log(md ? renderPlanMarkdown(e.plan) : renderPlanText(e.plan, { verbose: flags.verbose }));
          this.log('');
        }
        const lines = partnerLines(partner);
        this.log(md ? ['#### Partner-wide', '', ...lines.map((l) => `- ${l.trim()}`)].join('\n') : lines.join('\n'));
      }
    }
    const changed = partner.environments.some((e) => 'plan' in e && !e.plan.empty);
    this.exitCode = partnerFailed(partner)
      ? ExitCode.FAILED
      : flags['detailed-exitcode'] && changed
        ? ExitCode.CHANGES
        : ExitCode.OK;
    return { version: 1, ...partner };
  }
}
