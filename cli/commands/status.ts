import { Flags } from '@oclif/core';
import { environmentStatus, type FlowStatus } from '../../engine/runtime/status.js';
import { RsyncCommand } from '../base.js';
import { openRuntime, runtimeFlags } from '../runtime.js';
import { renderStatus } from '../views/status.js';

export interface StatusOutput {
  version: 1;
  env: string;
  workers: { id: string; host: string; seenAt: string }[];
  flows: FlowStatus[];
}

export default class Status extends RsyncCommand<StatusOutput> {
  static summary =
    'Show every deployed flow: revision, last run, lag against its SLA, records in the last hour, dead letters, budget left.';
  static description =
    `Health per flow: ok; late (lag beyond its SLA's freshness: since the last successful run, or the oldest
undelivered webhook for event flows); failing (its last run failed); idle (it never ran). BUDGET LEFT is the month's
error budget left (UTC): the share of the success rate's budget of records, then of freshness minutes
(\`rsync sla\` has the detail). Also lists live workers.`;
  static examples = ['<%= config.bin %> status --env staging', '<%= config.bin %> status --customer northwind --json'];
  static flags = { ...runtimeFlags, customer: Flags.string({ char: 'c', description: "only this customer's flows" }) };

  async run(): Promise<StatusOutput> {
    const { flags } = await this.parse(Status);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const { workers, flows: status } = await environmentStatus(db.pool, env, flags.customer);
      if (!this.json) this.log(renderStatus(env, status, workers.length));
      return { version: 1, env, workers, flows: status };
    } finally {
      await db.close();
    }
  }
}
