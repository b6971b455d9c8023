import { Flags } from '@oclif/core';
import { openConnector } from '../../../engine/connectors/registry.js';
import { ExitCode } from '../../../engine/diagnostics/errors.js';
import { type VerifyReport, verifyXref } from '../../../engine/xref/xref.js';
import { RsyncCommand } from '../../base.js';
import { countFlag } from '../../flags.js';
import { openRuntime, runtimeFlags } from '../../runtime.js';
import { green, red } from '../../views/diagnostics.js';
import { progress } from '../../views/progress.js';
import { deployedFlow, flowArg } from '../../xref.js';

export interface XrefVerifyOutput extends VerifyReport {
  version: 1;
  env: string;
  flow: string;
  target: string;
  ok: boolean;
}

export default class XrefVerify extends RsyncCommand<XrefVerifyOutput> {
  static summary =
    "Read a sample of a flow's records back from the target: report those gone or changed behind rsync's back.";
  static description = `Takes a random sample of the flow's cross-reference (all of it with --sample at least its
size), reads each record from the target by its target id, and reports as drift — the shape of a plan's drift —
the records the target no longer has, and those whose content differs from what rsync wrote: field by field
where the connector kept a view of what it wrote (netsuite, business-central, avalara), by content hash where
the target keeps the record whole (the sandbox). PII fields of the flow's policy are never shown.
--sandbox reads the sandbox's simulated systems, as rsync worker --sandbox writes them.
Exit code 0 when every record checked is as rsync wrote it, 1 when one is not or the target cannot be read back;
with --detailed-exitcode, 2 instead of 1 for drift.`;
  static examples = [
    '<%= config.bin %> xref verify northwind/orders-to-erp --sample 200',
    '<%= config.bin %> xref verify northwind/orders-to-erp --json',
  ];
  static args = flowArg;
  static flags = {
    ...runtimeFlags,
    sample: countFlag({ description: 'how many records to read back', default: 100, max: 1_000_000 }),
    sandbox: Flags.boolean({
      description: "read the sandbox's simulated systems (as rsync worker --sandbox)",
      default: false,
    }),
    'detailed-exitcode': Flags.boolean({ description: 'exit 2 (not 1) when drift is found', default: false }),
  };

  async run(): Promise<XrefVerifyOutput> {
    const { args, flags } = await this.parse(XrefVerify);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const flow = await deployedFlow(db, env, args.flow);
      const target = openConnector({
        system: flow.target.system,
        connector: flow.target.type,
        settings: flow.target.settings,
        state: db.pool,
        sandbox: flags.sandbox,
      });
      const bar = progress(`Reading ${flow.target.system}`, !this.json);
      let report: VerifyReport;
      try {
        report = await verifyXref(db.pool, flow, target, {
          sample: flags.sample,
          onProgress: (done, of) => bar.update(done, of),
        });
      } finally {
        bar.done();
        await target.close?.();
      }
      const ok = report.drift.length === 0;
      if (!this.json) {
        const of = report.checked < report.total ? ` (a sample of ${report.total})` : '';
        if (ok)
          this.log(
            `${green('OK')}: ${report.checked} record(s)${of} of ${args.flow} read back from ${flow.target.system}, each as rsync wrote it.`,
          );
        else {
          this.log(
            `${red('DRIFT')}: ${report.drift.length} of ${report.checked} record(s)${of} of ${args.flow} differ in ${flow.target.system}:`,
          );
          for (const d of report.drift)
            this.log(
              `  ${d.problem === 'missing' ? red('missing') : red('changed')} ${d.object} (key ${d.entry.key}): ${d.detail}`,
            );
        }
      }
      this.exitCode = ok ? ExitCode.OK : flags['detailed-exitcode'] ? ExitCode.CHANGES : ExitCode.FAILED;
      return { version: 1, env, flow: args.flow, target: flow.target.system, ok, ...report };
    } finally {
      await db.close();
    }
  }
}
