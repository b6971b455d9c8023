import { Flags } from '@oclif/core';
import { loadFlows } from '../../engine/runtime/flows.js';
import { flowStatus, type FlowStatus } from '../../engine/state/runs.js';
import { formatDuration } from '../../engine/util/duration.js';
import { RsyncCommand } from '../base.js';
import { ago, openRuntime, runtimeFlags, table } from '../runtime.js';

export interface StatusOutput {
  version: 1;
  env: string;
  workers: { id: string; host: string; seenAt: string }[];
  flows: FlowStatus[];
}

export default class Status extends RsyncCommand<StatusOutput> {
  static summary =
    'Show every deployed flow: revision, last run, lag against its SLA, records in the last hour, dead letters.';
  static description =
    `Health per flow: ok; late (lag beyond its SLA's freshness: since the last successful run, or the oldest
undelivered webhook for event flows); failing (its last run failed); idle (it never ran). Also lists live workers.`;
  static examples = ['<%= config.bin %> status --env staging', '<%= config.bin %> status --customer northwind --json'];
  static flags = { ...runtimeFlags, customer: Flags.string({ char: 'c', description: "only this customer's flows" }) };

  async run(): Promise<StatusOutput> {
    const { flags } = await this.parse(Status);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const flows = await loadFlows(db.pool, env);
      const status = await flowStatus(db.pool, env, flows.values(), flags.customer);
      const workers = (
        await db.pool.query<{ id: string; host: string; seen_at: Date }>(
          `SELECT id, host, seen_at FROM rsync.workers WHERE env = $1 AND seen_at > now() - interval '30 seconds' ORDER BY id`,
          [env],
        )
      ).rows.map((w) => ({ id: w.id, host: w.host, seenAt: w.seen_at.toISOString() }));
      if (!this.json) this.log(renderStatus(env, status, workers.length));
      return { version: 1, env, workers, flows: status };
    } finally {
      await db.close();
    }
  }
}

export function renderStatus(env: string, status: FlowStatus[], workers: number): string {
  if (!status.length) return `No flows are deployed in ${env}. Apply them with \`rsync apply --env ${env}\`.`;
  const now = Date.now();
  const rows = status.map((s) => [
    `${s.customer}/${s.flow}`,
    String(s.revision),
    s.enabled ? s.trigger : `${s.trigger} (off)`,
    s.lastRun ? `${s.lastRun.status} ${ago(now - Date.parse(s.lastRun.at))}` : '-',
    s.lagMs === null ? '-' : s.lagMs < 1000 ? '<1s' : formatDuration(s.lagMs),
    s.freshnessMs === null ? '-' : formatDuration(s.freshnessMs),
    String(s.recordsLastHour),
    String(s.deadLetters),
    s.health,
  ]);
  const late = status.filter((s) => s.health === 'late' || s.health === 'failing').length;
  return [
    table(['FLOW', 'REV', 'TRIGGER', 'LAST RUN', 'LAG', 'SLA', 'LAST HOUR', 'DEAD', 'HEALTH'], rows),
    '',
    `${env}: ${status.length} flows, ${workers} live worker${workers === 1 ? '' : 's'}, ${late} late or failing, ${status.reduce((n, s) => n + s.deadLetters, 0)} open dead letters`,
  ].join('\n');
}
