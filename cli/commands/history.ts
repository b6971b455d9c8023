import { Args, Flags } from '@oclif/core';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { workspaceHistory, type HistoryResult } from '../../engine/history/index.js';
import { renderHistoryText } from '../../engine/history/render.js';
import { RsyncCommand } from '../base.js';
import { countFlag, MAX_LIST } from '../flags.js';

export default class History extends RsyncCommand<HistoryResult> {
  static summary =
    'Show what changed and what was applied: Git commits with the resources they touched, and the apply log, as one timeline.';
  static description =
    `Newest first: each commit that touched rsync.yaml, integrations/ or templates/, with the resources whose desired state it changed (against its first parent), merged in time order with the apply log: who applied which commit to which environment, when, and what it did.

The apply log comes from DATABASE_URL, else from the workspace's embedded database, started if it is stopped but never created: without one, Git history is shown with a note.

--customer, --address and --env narrow both; --limit bounds the number of events (and the work).`;
  static examples = [
    '<%= config.bin %> history',
    '<%= config.bin %> history --customer northwind --limit 10',
    '<%= config.bin %> history --address production/northwind/flow/orders-to-erp',
    '<%= config.bin %> history --env staging --json',
  ];
  static args = { path: Args.string({ description: 'the workspace (default: the current folder)', default: '.' }) };
  static flags = {
    customer: Flags.string({ char: 'c', description: "only this customer's changes and applies" }),
    address: Flags.string({
      char: 'a',
      description: 'only this resource: <customer>/<kind>/<name>, optionally with <env>/ in front',
    }),
    env: Flags.string({
      char: 'e',
      description: "only this environment's applies (commits are read with its overlays)",
    }),
    limit: countFlag({ char: 'n', description: 'how many events to show', default: 30, max: MAX_LIST }),
    ref: Flags.string({ description: 'whose history: a branch, tag or commit (default HEAD)' }),
  };

  async run(): Promise<HistoryResult> {
    const { args, flags } = await this.parse(History);
    const history = await workspaceHistory({
      path: args.path,
      ref: flags.ref,
      customer: flags.customer,
      address: flags.address,
      env: flags.env,
      limit: flags.limit,
      log: (line) => this.note(line),
    });
    if (!this.json) this.log(renderHistoryText(history));
    this.exitCode = ExitCode.OK;
    return history;
  }
}
