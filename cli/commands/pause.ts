import { RsyncCommand } from '../base.js';
import { pauseArgs, pauseFlags, type PauseOutput, pauseOrResume } from '../pause.js';

export default class Pause extends RsyncCommand<PauseOutput> {
  static summary = 'Pause a flow: no run of any trigger starts in any worker until `rsync resume`.';
  static description =
    `Takes effect at once in every worker of the environment. While paused, scheduled ticks start nothing (and are not
caught up), webhooks are stored but not run (they run after resume), and \`rsync run\` is refused (exit 75); a run
already under way finishes. The pause is audited in the apply log, shown in \`rsync status\` (PAUSED, by whom, since
when, why) and outlives applies that change the flow.`;
  static examples = [
    '<%= config.bin %> pause northwind/orders-to-erp --env production --reason "ERP maintenance until 06:00"',
  ];
  static args = pauseArgs;
  static flags = pauseFlags;

  async run(): Promise<PauseOutput> {
    const { args, flags } = await this.parse(Pause);
    return pauseOrResume(args, flags, true, this.json, (line) => this.note(line));
  }
}
