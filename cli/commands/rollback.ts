import { createInterface } from 'node:readline/promises';
import { Args, Flags } from '@oclif/core';
import { applyPlan, type ApplyResult } from '../../engine/apply/apply.js';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { renderPlanText } from '../../engine/plan/render.js';
import { planRollback, type RollbackInfo } from '../../engine/rollback/rollback.js';
import { brandingOf, currentActor, openWorkspace, resolveEnvironment } from '../../engine/workspace/index.js';
import { RsyncCommand } from '../base.js';
import { openDatabase, workspaceRoot } from '../database.js';
import { MAX_REVISION } from '../flags.js';

export interface RollbackOutput {
  version: 1;
  env: string;
  done: boolean;
  rollback: RollbackInfo;
  changes: number;
  logEntry?: number;
  applied?: ApplyResult['applied'];
}

export default class Rollback extends RsyncCommand<RollbackOutput> {
  static summary = 'Return a resource, or everything an apply changed, to an earlier deployed revision.';
  static description = `Plans the return to an earlier revision of what was deployed (a revision is the whole resolved
resource: a flow's mapping, settings, schedule), shows it with the commits to revert in Git, and applies it with the
usual checks (the apply lock, the stale check), recorded in the apply log as a rollback. Give an address (to the
revision before the deployed one, or --to-revision N) or an apply log entry number (every resource it wrote, to the
revision each had before). Git stays the source of truth: \`rsync status\` shows the resources as diverged from Git,
and the next plan from Git shows the change back, until the revert is merged.`;
  static examples = [
    '<%= config.bin %> rollback northwind/flow/orders-to-erp --env production',
    '<%= config.bin %> rollback northwind/flow/orders-to-erp --to-revision 3 --yes',
    '<%= config.bin %> rollback 42 --env staging --yes',
  ];
  static args = {
    what: Args.string({
      description: 'an address (<customer>/<kind>/<name>) or an apply log entry number',
      required: true,
    }),
  };
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment (default: the first in rsync.yaml)' }),
    'to-revision': Flags.integer({
      description: 'the revision to return to (an address only)',
      min: 1,
      max: MAX_REVISION,
    }),
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
    yes: Flags.boolean({ char: 'y', description: 'roll back without asking' }),
  };

  async run(): Promise<RollbackOutput> {
    const { args, flags } = await this.parse(Rollback);
    const root = await workspaceRoot(flags.path);
    const target = await resolveEnvironment(root, flags.env);
    if (flags['to-revision'] !== undefined && /^\d+$/.test(args.what))
      throw new RsyncError(
        '--to-revision goes with an address, not an apply log entry.',
        ExitCode.USAGE,
        'Give an address (northwind/flow/orders-to-erp --to-revision 3), or the entry alone.',
      );
    const actor = await currentActor(root);
    const { ws } = await openWorkspace({ path: root, env: target.env });
    const db = await openDatabase(root, this.json);
    try {
      const plan = await planRollback(db, {
        env: target.env,
        what: args.what,
        toRevision: flags['to-revision'],
        actor,
        branding: brandingOf(ws),
      });
      const out: RollbackOutput = {
        version: 1,
        env: plan.env,
        done: false,
        rollback: plan.rollback,
        changes: plan.changes.length,
      };
      if (!this.json) {
        // The rollback's selection is only its own scope (apply heals nothing else): not a partial plan to report.
        this.log(
          renderPlanText({ ...plan, selection: undefined }).replace(
            /^rsync plan for (\S+) \(working tree\)/,
            'rsync rollback in $1',
          ),
        );
        if (plan.rollback.revert.length) {
          this.log(
            '\nGit stays the source of truth: revert what introduced these revisions, or the next apply undoes this:',
          );
          for (const sha of plan.rollback.revert) this.log(`  git revert ${sha}`);
        }
      }
      if (plan.empty) return out;
      if (!flags.yes) {
        if (!process.stdin.isTTY || this.json)
          throw new RsyncError(
            'Refusing to roll back without confirmation: this is not a terminal.',
            ExitCode.REFUSED,
            'Review the rollback, then run again with --yes.',
          );
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`\nRoll back in ${plan.env}? Only "yes" is accepted: `);
        rl.close();
        if (answer.trim() !== 'yes') throw new RsyncError('Rollback cancelled.', ExitCode.REFUSED);
      }
      const result = await applyPlan(db, plan, {
        actor,
        url: db.url,
        logAs: { action: 'rollback', detail: { rollback: plan.rollback } },
      });
      if (!this.json)
        this.log(
          `\nRolled back in ${result.env}: ${result.applied.update} resource${result.applied.update === 1 ? '' : 's'} (apply log entry ${result.logEntry}); \`rsync status\` shows ${result.applied.update === 1 ? 'it' : 'them'} as diverged from Git until the revert lands.`,
        );
      return { ...out, done: true, logEntry: result.logEntry, applied: result.applied };
    } finally {
      await db.close();
    }
  }
}
