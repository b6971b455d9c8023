import { Flags } from '@oclif/core';
import { filterReasonList } from '../../engine/mapping/filter.js';
import { flowAddress } from '../../engine/model/address.js';
import { describeOutcome, listRuns, type RunRow } from '../../engine/state/runs.js';
import { RsyncCommand } from '../base.js';
import { countFlag, MAX_LIST } from '../flags.js';
import { ago, openRuntime, runtimeFlags, table } from '../runtime.js';

export interface RunsOutput {
  version: 1;
  env: string;
  runs: RunRow[];
}

export default class Runs extends RsyncCommand<RunsOutput> {
  static summary = 'List recent runs with what became of their records (read = written + unchanged + filtered + dead).';
  static description =
    `Newest first. Filtered records are listed by the reason their mapping gave ({ "$filter": "<reason>" });
--log shows each run's log: back-off waits (with Retry-After), give-ups and errors.`;
  static examples = [
    '<%= config.bin %> runs --env staging',
    '<%= config.bin %> runs --flow northwind/orders-to-erp --log',
  ];
  static flags = {
    ...runtimeFlags,
    flow: Flags.string({ char: 'f', description: 'only this flow: <customer>/<flow>' }),
    customer: Flags.string({ char: 'c', description: "only this customer's runs" }),
    limit: countFlag({ char: 'n', description: 'how many runs', default: 20, max: MAX_LIST }),
    log: Flags.boolean({ description: "show each run's log", default: false }),
  };

  async run(): Promise<RunsOutput> {
    const { flags } = await this.parse(Runs);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const runs = await listRuns(db.pool, env, {
        address: flags.flow ? flowAddress(flags.flow, flags.customer) : undefined,
        customer: flags.flow ? undefined : flags.customer,
        limit: flags.limit,
      });
      if (!this.json) {
        if (!runs.length) this.log(`No runs in ${env} yet.`);
        else {
          const now = Date.now();
          this.log(
            table(
              [
                'RUN',
                'FLOW',
                'REV',
                'TRIGGER',
                'STATUS',
                'STARTED',
                'READ',
                'WRITTEN',
                'UNCHANGED',
                'FILTERED',
                'DEAD',
                'RETRIES',
              ],
              runs.map((r) => [
                String(r.id),
                r.address.replace('/flow/', '/'),
                String(r.revision),
                r.trigger,
                describeOutcome(r),
                ago(now - Date.parse(r.startedAt)),
                String(r.read),
                String(r.written),
                String(r.unchanged),
                String(r.filtered),
                String(r.dead),
                String(r.retries),
              ]),
            ),
          );
          const filtered = runs.filter((r) => r.filtered > 0);
          if (filtered.length) {
            this.log("\nFiltered, by the mapping's reason:");
            this.log(
              table(
                ['RUN', 'FLOW', 'FILTERED', 'REASON'],
                filtered.flatMap((r) =>
                  filterReasonList(r.filtered, r.filteredBy).map(([reason, n]) => [
                    String(r.id),
                    r.address.replace('/flow/', '/'),
                    String(n),
                    reason,
                  ]),
                ),
              ),
            );
          }
          if (flags.log) {
            for (const r of runs) {
              if (!r.log.length) continue;
              this.log(`\nrun ${r.id}:`);
              for (const e of r.log) {
                const { at, event, ...rest } = e as { at: string; event: string };
                this.log(
                  `  ${at}  ${event}  ${Object.entries(rest)
                    .filter(([, v]) => v !== undefined)
                    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
                    .join(' ')}`,
                );
              }
            }
          }
        }
      }
      return { version: 1, env, runs };
    } finally {
      await db.close();
    }
  }
}
