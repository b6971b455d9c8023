import { Flags } from '@oclif/core';
import { loadFlows } from '../../engine/runtime/flows.js';
import { LABEL, type PurgeReport, purgeRetention, purgeSummary } from '../../engine/runtime/retention.js';
import { RETAINED_TABLES } from '../../engine/state/retention.js';
import { currentActor } from '../../engine/workspace/index.js';
import { anchorLog, openAudit } from '../audit.js';
import { RsyncCommand } from '../base.js';
import { openRuntime, runtimeFlags } from '../runtime.js';
import { stages } from '../views/progress.js';

export interface PurgeOutput extends PurgeReport {
  version: 1;
}

export default class Purge extends RsyncCommand<PurgeOutput> {
  static summary = "Delete now what the flows' retention no longer keeps (runs, deliveries, dead letters, ledger).";
  static description =
    `What the workers do every --retention-every (1 h by default), now: for each deployed flow, the finished runs (and
their logs) and webhook deliveries older than its policy's retention.runs (retention.deliveries), the resolved dead
letters older than deadLetter.retain and the ledger rows older than retention.ledger are deleted, in small batches.
Kept whatever their age: open dead letters, running runs, the run an open dead letter came from, each flow's latest
run and latest success, pending deliveries, the ledger row of an open dead letter's key. The apply log is never
purged; what a purge deleted is counted in it (action retention). --dry-run counts and deletes nothing.`;
  static examples = ['<%= config.bin %> purge --env production --dry-run', '<%= config.bin %> purge --env production'];
  static flags = {
    ...runtimeFlags,
    'dry-run': Flags.boolean({ description: 'count what would be deleted; delete nothing', default: false }),
  };

  async run(): Promise<PurgeOutput> {
    const { flags } = await this.parse(Purge);
    const { db, env, root } = await openRuntime(flags, this.json);
    try {
      const flows = await loadFlows(db.pool, env);
      const actor = await currentActor(root);
      const shown = stages(
        'Purging',
        RETAINED_TABLES.map((t) => LABEL[t]),
        !this.json,
      );
      const r = await purgeRetention(db.pool, env, flows.values(), {
        actor,
        dryRun: flags['dry-run'],
        onProgress: (t, n) => {
          shown.stage(LABEL[t]);
          shown.count(n, n, 'rows');
        },
      });
      shown.done();
      if (r.logEntry !== undefined) {
        const anchored = await anchorLog(db, await openAudit(root), { env });
        if (anchored) this.note(anchored);
      }
      if (!this.json)
        this.log(`${purgeSummary(r)} in ${env}${r.logEntry !== undefined ? ` (apply log entry ${r.logEntry})` : ''}`);
      return { version: 1, ...r };
    } finally {
      await db.close();
    }
  }
}
