import { RsyncCommand } from '../../base.js';
import { pauseOrResumeRollout, rolloutArgs, rolloutFlags, type RolloutJson } from '../../rollout.js';

export default class RolloutResume extends RsyncCommand<{ version: 1; rollout: RolloutJson }> {
  static summary = 'Resume a paused rollout: the worker judges its gate again.';
  static examples = ['<%= config.bin %> rollout resume orders-v2 --env production'];
  static args = rolloutArgs;
  static flags = rolloutFlags;

  async run(): Promise<{ version: 1; rollout: RolloutJson }> {
    const { args, flags } = await this.parse(RolloutResume);
    return pauseOrResumeRollout(args, flags, false, this.json, (text) => this.log(text));
  }
}
