import { Flags } from '@oclif/core';
import { approveCohort, rolloutStatus } from '../../../engine/rollout/rollout.js';
import { RsyncCommand } from '../../base.js';
import { openRollout, renderRollout, rolloutArgs, rolloutFlags, rolloutJson, type RolloutJson } from '../../rollout.js';

export default class RolloutApprove extends RsyncCommand<{ version: 1; rollout: RolloutJson }> {
  static summary = "Approve a cohort's manual gate (the cohort under way, or --cohort's ahead of time).";
  static description = `Releases a gate with \`approval: true\`: the worker applies the next cohort once the gate's
other conditions hold too. The approval is in the apply log, with who gave it (RSYNC_TOKEN's identity needs the
approve right).`;
  static examples = ['<%= config.bin %> rollout approve orders-v2 --env production'];
  static args = rolloutArgs;
  static flags = {
    ...rolloutFlags,
    cohort: Flags.string({ char: 'c', description: 'the cohort whose gate to approve (default: the one under way)' }),
  };

  async run(): Promise<{ version: 1; rollout: RolloutJson }> {
    const { args, flags } = await this.parse(RolloutApprove);
    const { db, env, ctx } = await openRollout(flags, this.json, 'approve');
    try {
      await approveCohort(ctx, env, args.name, flags.cohort);
      const [status] = await rolloutStatus(ctx, env, args.name);
      if (!this.json) this.log(renderRollout(status));
      return { version: 1, rollout: rolloutJson(status) };
    } finally {
      await db.close();
    }
  }
}
