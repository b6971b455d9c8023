import { diagnosticToJSON } from '../../../engine/diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { declaredApprovalsAt } from '../../../engine/workspace/index.js';
import { PLAN_STAGES } from '../../../engine/plan/index.js';
import { rolloutStatus, startRollout } from '../../../engine/rollout/rollout.js';
import { RsyncCommand } from '../../base.js';
import { openRollout, renderRollout, rolloutArgs, rolloutFlags, rolloutJson, type RolloutJson } from '../../rollout.js';
import { renderDiagnostic } from '../../views/diagnostics.js';
import { stages } from '../../views/progress.js';

type StartOutput =
  | { version: 1; rollout: RolloutJson; leftOut: string[] }
  | { version: 1; valid: false; diagnostics: Record<string, unknown>[] };

export default class RolloutStart extends RsyncCommand<StartOutput> {
  static summary = 'Start a rollout: plan the change and apply it to the first cohort only.';
  static description = `Plans the environment's change from Git (as rsync plan does), keeps it with the rollout in
PostgreSQL, and applies the first cohort's part of it (its customers' resources, and any partner-wide ones). The
worker then judges that cohort's gate and applies the next cohort when it passes, or halts the rollout when it fails
(rsync rollout status shows where it is). Changes of customers no cohort takes are left out, and said.`;
  static examples = ['<%= config.bin %> rollout start orders-v2 --env production'];
  static args = rolloutArgs;
  static flags = rolloutFlags;

  async run(): Promise<StartOutput> {
    const { args, flags } = await this.parse(RolloutStart);
    const { db, ctx, root, env } = await openRollout(flags, this.json);
    // A rollout applies without a saved, approved plan: not where the environment requires approvals (yet).
    if ((await declaredApprovalsAt(root, env)).requiresApproval) {
      await db.close();
      throw new RsyncError(
        `${env} requires approval of every apply: a rollout cannot be started there.`,
        ExitCode.REFUSED,
        'Roll the change out by partial plans instead (rsync plan --selector … --out plan.json, approved, then rsync apply plan.json).',
      );
    }
    const bar = stages('rollout start', PLAN_STAGES, !this.json);
    try {
      const outcome = await startRollout(ctx, {
        path: root,
        env,
        name: args.name,
        onStage: (s) => bar.stage(s),
      });
      bar.done();
      if (!outcome.ok) {
        if (!this.json) {
          for (const d of outcome.diagnostics) this.logToStderr(renderDiagnostic(d));
          this.logToStderr(
            '\nrsync: the workspace has errors; no rollout was started. Fix them (rsync validate) first.',
          );
        }
        this.exitCode = ExitCode.FAILED;
        return { version: 1, valid: false, diagnostics: outcome.diagnostics.map(diagnosticToJSON) };
      }
      const [status] = await rolloutStatus(ctx, outcome.rollout.env, args.name);
      if (!this.json) {
        this.log(renderRollout(status));
        if (outcome.leftOut.length)
          this.log(`\nLeft out (no cohort takes their customer): ${outcome.leftOut.join(', ')}`);
      }
      return { version: 1, rollout: rolloutJson(status), leftOut: outcome.leftOut };
    } finally {
      bar.done();
      await db.close();
    }
  }
}
