import { RsyncCommand } from '../base.js';
import { pauseArgs, pauseFlags, type PauseOutput, pauseOrResume } from '../pause.js';

export default class Resume extends RsyncCommand<PauseOutput> {
  static summary = 'Resume a paused flow: its stored webhooks run at once and its schedule starts again.';
  static description =
    `Takes effect at once in every worker of the environment; audited in the apply log. The schedule's ticks missed
while the flow was paused are not run.`;
  static examples = ['<%= config.bin %> resume northwind/orders-to-erp --env production'];
  static args = pauseArgs;
  static flags = pauseFlags;

  async run(): Promise<PauseOutput> {
    const { args, flags } = await this.parse(Resume);
    return pauseOrResume(args, flags, false, this.json, (line) => this.note(line));
  }
}
