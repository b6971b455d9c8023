import { Flags } from '@oclif/core';
import { ExitCode } from '../../../engine/diagnostics/errors.js';
import { replayHere, type ReplayOutcome } from '../../../engine/runtime/replay.js';
import { RsyncCommand } from '../../base.js';
import { deadLetterFlags, filterOf, idsArg, parseIds } from '../../dead-letters.js';
import { countFlag, MAX_REVISION } from '../../flags.js';
import { anchorLog, openAudit } from '../../audit.js';
import { cliIdentity } from '../../identity.js';
import { openRuntime, table } from '../../runtime.js';

export default class DlqReplay extends RsyncCommand<{ version: 1; env: string; replayed: ReplayOutcome[] }> {
  static summary =
    'Replay dead letters through their flow on the current revision (or --revision), recorded in the audit log.';
  static description =
    `A mapping fixed in Git and applied repairs old failures: the kept source record runs through the pipeline
again, and the ledger lands it exactly once. A letter that fails again stays open with the new error. Each replay
is an entry of the hash-chained apply log (\`rsync history\`, \`rsync audit verify\`) naming who did it.`;
  static examples = [
    '<%= config.bin %> dlq replay 42 43 --env staging',
    '<%= config.bin %> dlq replay --flow northwind/orders-to-erp',
    '<%= config.bin %> dlq replay 42 --revision 3',
  ];
  static strict = false;
  static args = idsArg;
  static flags = {
    ...deadLetterFlags,
    revision: countFlag({
      description: "the flow revision to replay on (default: the flow's current one)",
      max: MAX_REVISION,
    }),
    sandbox: Flags.boolean({
      description: 'write to the sandbox systems (as `rsync worker --sandbox` does)',
      default: process.env.RSYNC_SANDBOX === '1',
    }),
  };

  async run() {
    const { argv, flags } = await this.parse(DlqReplay);
    const ids = parseIds(argv as string[]);
    const { db, env, root } = await openRuntime(flags, this.json);
    const audit = await openAudit(root);
    try {
      const { actor } = await cliIdentity(db, root, 'operate');
      const out = await replayHere(db.pool, filterOf(env, flags, ids), actor, {
        revision: flags.revision,
        sandbox: flags.sandbox,
        log: (l) => this.note(l),
      });
      const anchored = out.length ? await anchorLog(db, audit, { env }) : undefined;
      if (!this.json) {
        if (anchored) this.note(anchored);
        this.log(
          out.length
            ? table(
                ['ID', 'FLOW', 'REV', 'OUTCOME', 'ERROR'],
                out.map((o) => [
                  String(o.id),
                  o.address.replace('/flow/', '/'),
                  String(o.revision),
                  o.outcome,
                  o.error ?? '',
                ]),
              )
            : 'No open dead letters match.',
        );
      }
      this.exitCode = out.some((o) => o.outcome === 'dead') ? ExitCode.FAILED : ExitCode.OK;
      return { version: 1 as const, env, replayed: out };
    } finally {
      await db.close();
    }
  }
}
