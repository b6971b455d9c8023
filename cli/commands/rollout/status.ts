import { Args } from '@oclif/core';
import { rolloutStatus } from '../../../engine/rollout/rollout.js';
import { RsyncCommand } from '../../base.js';
import { openRollout, renderRollout, rolloutFlags, rolloutJson, type RolloutJson } from '../../rollout.js';

export default class RolloutStatusCommand extends RsyncCommand<{ version: 1; rollouts: RolloutJson[] }> {
  static summary = "A rollout's cohorts and the gate under way (without a name: every rollout not finished).";
  static examples = [
    '<%= config.bin %> rollout status orders-v2 --env production',
    '<%= config.bin %> rollout status --json',
  ];
  static args = { name: Args.string({ description: 'the Rollout (default: every one running, paused or halted)' }) };
  static flags = rolloutFlags;

  async run(): Promise<{ version: 1; rollouts: RolloutJson[] }> {
    const { args, flags } = await this.parse(RolloutStatusCommand);
    const { db, env, ctx } = await openRollout(flags, this.json, 'read');
    try {
      const all = await rolloutStatus(ctx, env, args.name);
      if (!this.json) this.log(all.length ? all.map(renderRollout).join('\n\n') : `No rollout under way in ${env}.`);
      return { version: 1, rollouts: all.map(rolloutJson) };
    } finally {
      await db.close();
    }
  }
}
