import { Flags } from '@oclif/core';
import { resolveCommit } from '../../engine/git/index.js';
import { readDesiredCache } from '../../engine/plan/cache.js';
import { divergedFromGit } from '../../engine/rollback/rollback.js';
import { resolveEnvironment } from '../../engine/workspace/index.js';
import { environmentStatus, type FlowStatus } from '../../engine/runtime/status.js';
import { type RetentionStatus, renderRetention, retentionStatus } from '../../engine/runtime/retention.js';
import { reconciliationLine } from '../../engine/runtime/reconcile/index.js';
import { latestReconciliations, type ReconciliationRun } from '../../engine/state/reconciliations.js';
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
  /** Resources whose deployed revision came from `rsync rollback`: diverged from Git until the revert lands. */
  diverged: { address: string; revision: number; entry: number; revert: string[] }[];
  /** The oldest row kept per table, and the last retention purge (runtime/retention.ts). */
  retention: RetentionStatus;
  /** The latest run of each Reconciliation check (`rsync reconcile`, the worker's schedule). */
  reconciliations: ReconciliationRun[];
}

export default class Status extends RsyncCommand<StatusOutput> {
  static summary =
    'Show every deployed flow: revision, last run, lag against its SLA, records in the last hour, dead letters, budget left.';
  static description =
    `Health per flow: ok; late (lag beyond its SLA's freshness: since the last successful run, or the oldest
undelivered webhook for event flows); failing (its last run failed); idle (it never ran). BUDGET LEFT is the month's
error budget left (UTC): the share of the success rate's budget of records, then of freshness minutes
(\`rsync sla\` has the detail). A PAUSED flow (\`rsync pause\`) shows who paused it, since when and why. A flow shown as QUOTA has reached a daily
quota of its customer (records) or of a connection (API calls): a line says which, and when it resets. Also lists live
workers, the latest run of each Reconciliation check (\`rsync reconcile\`), and, when a controller syncs the environment (\`rsync controller\`), a first line "synced at <commit>" or
"out of sync (<commit> not applied: <why>)".`;
  static examples = ['<%= config.bin %> status --env staging', '<%= config.bin %> status --customer northwind --json'];
  static flags = { ...runtimeFlags, customer: Flags.string({ char: 'c', description: "only this customer's flows" }) };

  async run(): Promise<StatusOutput> {
    const { flags } = await this.parse(Status);
    const { db, env, root } = await openRuntime(flags, this.json);
    try {
      const { workers, flows: status, sync } = await environmentStatus(db.pool, env, flags.customer);
      const diverged = [...(await divergedFromGit(db.pool, env, await gitHashes(root, env)))]
        .filter(([address]) => !flags.customer || address.startsWith(`${flags.customer}/`))
        .map(([address, d]) => ({ address, ...d }));
      const retention = await retentionStatus(db.pool, env);
      const reconciliations = await latestReconciliations(db.pool, env, flags.customer);
      if (!this.json) {
        this.log(renderStatus(env, status, workers.length, sync));
        this.log(renderRetention(retention));
        if (diverged.length)
          this.log(
            [
              '',
              'Diverged from Git (rolled back; the next apply from Git undoes it):',
              ...diverged.map(
                (d) =>
                  `  ${d.address}: revision ${d.revision}, rollback in apply log entry ${d.entry}${d.revert.length ? `; git revert ${d.revert.join(' ')}` : ''}`,
              ),
            ].join('\n'),
          );
        if (reconciliations.length)
          this.log(
            ['', 'Reconciliations (latest run):', ...reconciliations.map((r) => `  ${reconciliationLine(r)}`)].join(
              '\n',
            ),
          );
      }
      return { version: 1, env, workers, flows: status, sync, diverged, retention, reconciliations };
    } finally {
      await db.close();
    }
  }
}

/** What Git says at the environment's ref, by address, when that commit was planned (the plan's desired-state cache). */
async function gitHashes(root: string, env: string): Promise<Map<string, string> | undefined> {
  const { ref } = await resolveEnvironment(root, env);
  const commit = ref ? await resolveCommit(root, ref).catch(() => undefined) : undefined;
  const cached = commit ? readDesiredCache(root, env, commit) : undefined;
  return cached && new Map(cached.resources.map((r) => [r[0], r[4]]));
}
