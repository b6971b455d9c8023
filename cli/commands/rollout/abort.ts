import { abortRollout, rolloutStatus } from '../../../engine/rollout/rollout.js';
import { RsyncCommand } from '../../base.js';
import {
  cohortFlag,
  openRollout,
  renderRollout,
  rolloutArgs,
  rolloutFlags,
  rolloutJson,
  type RolloutJson,
} from '../../rollout.js';

interface AbortOutput {
  version: 1;
  rollout: RolloutJson;
  reverted: { cohort: string; entry: number | null; resources: number }[];
}

export default class RolloutAbort extends RsyncCommand<AbortOutput> {
  static summary = 'Abort a rollout: no further cohort, and the cohorts it changed back to their previous revisions.';
  static description = `Stops the rollout for good and reapplies, to every cohort it changed (or only those named with
--cohort, so that a canary that passed can keep the change), the revisions their resources had before: each cohort's
apply-log entry rolled back as \`rsync rollback <entry>\` would, logged as a rollback. Git stays the source of truth:
the next plan from Git shows the change again until it is reverted there.`;
  static examples = [
    '<%= config.bin %> rollout abort orders-v2 --env production',
    '<%= config.bin %> rollout abort orders-v2 --cohort early',
  ];
  static args = rolloutArgs;
  static flags = {
    ...rolloutFlags,
    cohort: cohortFlag('only this cohort (repeatable; default: every cohort changed)'),
  };

  async run(): Promise<AbortOutput> {
    const { args, flags } = await this.parse(RolloutAbort);
    const { db, env, ctx } = await openRollout(flags, this.json);
    try {
      const { reverted } = await abortRollout(ctx, env, args.name, flags.cohort);
      const [status] = await rolloutStatus(ctx, env, args.name);
      if (!this.json) {
        for (const r of reverted)
          this.log(
            `reverted cohort ${r.cohort}: ${r.resources} resource${r.resources === 1 ? '' : 's'}${r.entry ? ` (apply log entry ${r.entry})` : ''}`,
          );
        this.log(renderRollout(status));
      }
      return { version: 1, rollout: rolloutJson(status), reverted };
    } finally {
      await db.close();
    }
  }
}
