import { Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { countXref, listXref, type XrefEntry } from '../../../engine/xref/xref.js';
import { RsyncCommand } from '../../base.js';
import { countFlag, MAX_LIST } from '../../flags.js';
import { ago, openRuntime, runtimeFlags, table } from '../../runtime.js';
import { deployedFlow, flowArg } from '../../xref.js';

export interface XrefOutput {
  version: 1;
  env: string;
  flow: string;
  /** Records in the flow's cross-reference in all. */
  total: number;
  entries: XrefEntry[];
}

export default class Xref extends RsyncCommand<XrefOutput> {
  static summary = "Look up a flow's ID cross-reference: source id, idempotency key, target id, revision and when.";
  static description = `Every record a flow wrote is in its cross-reference (the ledger): the record's id in the
source system, the flow's idempotency key, the id the target gave it (a NetSuite internal id, a Business Central
id, an AvaTax transaction code), the flow revision that last wrote it, how many times and when. Without a filter,
the newest writes first. Exit code 0 when something was found, 1 when a filter matched nothing.
rsync xref verify checks the target still holds the records as rsync wrote them.`;
  static examples = [
    '<%= config.bin %> xref northwind/orders-to-erp --key shopify-order-1042',
    '<%= config.bin %> xref northwind/orders-to-erp --target-id 10423 --json',
    '<%= config.bin %> xref northwind/orders-to-erp -n 20',
  ];
  static args = flowArg;
  static flags = {
    ...runtimeFlags,
    key: Flags.string({ char: 'k', description: "the flow's idempotency key", exclusive: ['target-id', 'source-id'] }),
    'target-id': Flags.string({ char: 't', description: "the record's id in the target", exclusive: ['source-id'] }),
    'source-id': Flags.string({ char: 's', description: "the record's id in the source system" }),
    limit: countFlag({ char: 'n', description: 'at most this many', default: 20, max: MAX_LIST }),
  };

  async run(): Promise<XrefOutput> {
    const { args, flags } = await this.parse(Xref);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const flow = await deployedFlow(db, env, args.flow);
      const entries = await listXref(db.pool, {
        env,
        address: flow.address,
        key: flags.key,
        targetId: flags['target-id'],
        sourceId: flags['source-id'],
        limit: flags.limit,
      });
      const total = await countXref(db.pool, env, flow.address);
      const filter = flags.key
        ? `key ${flags.key}`
        : flags['target-id']
          ? `target id ${flags['target-id']}`
          : flags['source-id']
            ? `source id ${flags['source-id']}`
            : undefined;
      if (filter && !entries.length)
        throw new RsyncError(
          `${args.flow} (${env}) has no record with ${filter}`,
          ExitCode.FAILED,
          total
            ? `Its cross-reference holds ${total} record(s): rsync xref ${args.flow} lists the newest.`
            : 'The flow has written nothing yet: is a worker running (rsync worker, rsync status)?',
        );
      if (!this.json) {
        if (!entries.length) this.log(`${args.flow} (${env}) has written no record yet.`);
        else {
          const now = Date.now();
          this.log(
            table(
              ['SOURCE ID', 'KEY', 'TARGET', 'TARGET ID', 'REV', 'WRITES', 'WRITTEN'],
              entries.map((e) => [
                e.sourceId ?? '-',
                e.key,
                e.target,
                e.targetId,
                String(e.revision),
                String(e.writes),
                `${e.writtenAt} (${ago(now - Date.parse(e.writtenAt))})`,
              ]),
            ),
          );
          if (!filter && total > entries.length)
            this.log(`\n${entries.length} of ${total}, newest first (-n for more).`);
        }
      }
      return { version: 1, env, flow: args.flow, total, entries };
    } finally {
      await db.close();
    }
  }
}
