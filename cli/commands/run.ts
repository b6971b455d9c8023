import { describeFilterReasons } from '../../engine/mapping/filter.js';
import { Args, Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { awaitRun, queueRun } from '../../engine/runtime/manual.js';
import { describeOutcome, type RunRow } from '../../engine/state/runs.js';
import { deployedFlow } from '../../engine/runtime/flows.js';
import { isPaused } from '../../engine/state/pauses.js';
import { RsyncCommand } from '../base.js';
import { countFlag, MAX_WAIT_SECONDS } from '../flags.js';
import { logFlags } from '../log.js';
import { cliIdentity } from '../identity.js';
import { openRuntime, runtimeFlags } from '../runtime.js';

export interface RunOutput {
  version: 1;
  env: string;
  flow: string;
  job: string;
  run: RunRow | null;
  state: string;
}

export default class Run extends RsyncCommand<RunOutput> {
  static summary = 'Start a run of a flow now (a manual trigger), optionally waiting for its result.';
  static description =
    `The run is a job on the flow's queue: a worker (\`rsync worker\`) takes it, reads the source from the
flow's cursor and syncs what changed. With --wait the command waits for it and exits 1 if it failed.`;
  static examples = [
    '<%= config.bin %> run northwind/products-to-storefront --env staging',
    '<%= config.bin %> run prices-to-storefront --customer northwind --wait',
  ];
  static args = {
    flow: Args.string({ description: '<customer>/<flow>, or the flow name with --customer', required: true }),
  };
  static flags = {
    ...runtimeFlags,
    ...logFlags,
    customer: Flags.string({ char: 'c', description: 'the customer, when the flow is given by name alone' }),
    wait: Flags.boolean({ description: 'wait for the run to finish', default: false }),
    timeout: countFlag({ description: 'seconds to wait with --wait', default: 300, max: MAX_WAIT_SECONDS }),
  };

  async run(): Promise<RunOutput> {
    const { args, flags } = await this.parse(Run);
    this.startLog(flags);
    const { db, env, root } = await openRuntime(flags, this.json);
    try {
      await cliIdentity(db, root, 'operate');
      const flow = await deployedFlow(db.pool, env, args.flow, flags.customer);
      const pause = await isPaused(db.pool, env, flow.address);
      if (pause)
        throw new RsyncError(
          `${flow.address.replace('/flow/', '/')} is paused in ${env} (by ${pause.by} since ${pause.since}${pause.reason ? `: ${pause.reason}` : ''}): no run was queued.`,
          ExitCode.REFUSED,
          `Resume it first: rsync resume ${flow.address.replace('/flow/', '/')} --env ${env}`,
        );
      const job = await queueRun(db.pool, flow);
      if (!job) throw new RsyncError(`The run of ${flow.address} was not queued.`, ExitCode.FAILED);
      const out: RunOutput = { version: 1, env, flow: flow.address, job, run: null, state: 'created' };
      this.note(`queued a run of ${flow.address} (revision ${flow.revision}) as job ${job}`);
      if (!flags.wait) return out;
      const done = await awaitRun(db.pool, flow, job, flags.timeout * 1000);
      out.state = done.state;
      out.run = done.run;
      if (!done.finished)
        throw new RsyncError(
          `The run of ${flow.address} did not finish within ${flags.timeout} s (job ${job} is ${out.state}).`,
          ExitCode.UNAVAILABLE,
          'Is a worker running for this environment? Start one with `rsync worker --env ' + env + '`.',
        );
      const r = out.run;
      if (!this.json) {
        this.log(
          r
            ? `run ${r.id} ${describeOutcome(r)}: read ${r.read}, written ${r.written}, unchanged ${r.unchanged}, filtered ${r.filtered}${r.filteredBy ? ` (${describeFilterReasons(r.filtered, r.filteredBy)})` : ''}, dead-lettered ${r.dead}${r.error ? `\n  ${r.error}` : ''}`
            : `job ${job} ${out.state} (${JSON.stringify(done.output ?? {})})`,
        );
      }
      // A run whose every record was dead-lettered did nothing a script waited for: exit 1, as a failed one.
      if (!this.json && r?.outcome === 'all-dead-lettered')
        this.logToStderr(
          `  Every record was dead-lettered: \`rsync dlq list --flow ${flow.address.replace('/flow/', '/')}\` shows why.`,
        );
      this.exitCode =
        out.state === 'completed' && r?.status !== 'failed' && r?.outcome !== 'all-dead-lettered'
          ? ExitCode.OK
          : ExitCode.FAILED;
      return out;
    } finally {
      await db.close();
    }
  }
}
