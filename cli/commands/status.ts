import { Flags } from '@oclif/core';
import { environmentStatus, type FlowStatus } from '../../engine/runtime/status.js';
import type { SyncState } from '../../engine/state/sync-state.js';
import { RsyncCommand } from '../base.js';
import { openRuntime, runtimeFlags } from '../runtime.js';
import { renderStatus } from '../views/status.js';

export interface StatusOutput {
  version: 1;
  env: string;
  workers: { id: string; host: string; seenAt: string }[];
  flows: FlowStatus[];
  /** What the controller (`rsync controller`) last said of the environment; null when none ever synced it. */
  sync: SyncState | null;
}

export default class Status extends RsyncCommand<StatusOutput> {
  static summary =
    'Show every deployed flow: revision, last run, lag against its SLA, records in the last hour, dead letters, budget left.';
  static description =
    `Health per flow: ok; late (lag beyond its SLA's freshness: since the last successful run, or the oldest
undelivered webhook for event flows); failing (its last run failed); idle (it never ran). BUDGET LEFT is the month's
error budget left (UTC): the share of the success rate's budget of records, then of freshness minutes
(\`rsync sla\` has the detail). A PAUSED flow (\`rsync pause\`) shows who paused it, since when and why. Also lists live
workers, and, when a controller syncs the environment (\`rsync controller\`), a first line "synced at <commit>" or
"out of sync (<commit> not applied: <why>)".`;
  static examples = ['<%= config.bin %> status --env staging', '<%= config.bin %> status --customer northwind --json'];
  static flags = { ...runtimeFlags, customer: Flags.string({ char: 'c', description: "only this customer's flows" }) };

  async run(): Promise<StatusOutput> {
    const { flags } = await this.parse(Status);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const { workers, flows: status, sync } = await environmentStatus(db.pool, env, flags.customer);
      if (!this.json) this.log(renderStatus(env, status, workers.length, sync));
      return { version: 1, env, workers, flows: status, sync };
    } finally {
      await db.close();
    }
  }
}
