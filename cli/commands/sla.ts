import { Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { environmentSla, type FlowSla, monthOf } from '../../engine/runtime/sla.js';
import { RsyncCommand } from '../base.js';
import { monthFlag } from '../flags.js';
import { openRuntime, runtimeFlags } from '../runtime.js';
import { renderSla } from '../views/sla.js';

export interface SlaOutput {
  version: 1;
  env: string;
  month: string;
  from: string;
  to: string;
  flows: FlowSla[];
}

export default class Sla extends RsyncCommand<SlaOutput> {
  static summary = "Show each flow's SLA over a month: attainment per objective, breaches, error budget left.";
  static description =
    `Per flow and objective (freshness, latencyP95, successRate): what the month attained, whether it met the
objective, its breaches (start, end, duration, cause) and the error budget left: records (dead letters against
(1 − successRate) × the month's records) and, for freshness, minutes (breach minutes against (1 − successRate) ×
the month's minutes). Breaches are recorded by the workers' evaluator (\`rsync worker --sla-every\`). Months are UTC.`;
  static examples = [
    '<%= config.bin %> sla --env production',
    '<%= config.bin %> sla --customer northwind --month 2026-11 --json',
  ];
  static flags = {
    ...runtimeFlags,
    customer: Flags.string({ char: 'c', description: "only this customer's flows" }),
    month: monthFlag(),
  };

  async run(): Promise<SlaOutput> {
    const { flags } = await this.parse(Sla);
    const now = new Date();
    const month = flags.month ?? monthOf(now);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const flows = await environmentSla(db.pool, env, { customer: flags.customer, month, now });
      if (flags.customer && !flows.length)
        throw new RsyncError(
          `No flow of customer "${flags.customer}" is deployed in ${env}.`,
          ExitCode.FAILED,
          `See the deployed flows with \`rsync status --env ${env}\`.`,
        );
      if (!this.json) this.log(renderSla(env, month, flows));
      return {
        version: 1,
        env,
        month: month.name,
        from: month.start.toISOString(),
        to: month.end.toISOString(),
        flows,
      };
    } finally {
      await db.close();
    }
  }
}
