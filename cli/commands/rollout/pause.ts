import { RsyncCommand } from '../../base.js';
import { pauseOrResumeRollout, rolloutArgs, rolloutFlags, type RolloutJson } from '../../rollout.js';

export default class RolloutPause extends RsyncCommand<{ version: 1; rollout: RolloutJson }> {
  static summary = 'Pause a running rollout: the worker applies no further cohort until `rsync rollout resume`.';
  static examples = ['<%= config.bin %> rollout pause orders-v2 --env production'];
  static args = rolloutArgs;
  static flags = rolloutFlags;

  async run(): Promise<{ version: 1; rollout: RolloutJson }> {
    const { args, flags } = await this.parse(RolloutPause);
    return pauseOrResumeRollout(args, flags, true, this.json, (text) => this.log(text));
  }
}
