import { Args, Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/errors.js';
import { openBoss } from '../../engine/live/boss.js';
import { notifyWork } from '../../engine/live/notify.js';
import { getRun, type RunRow } from '../../engine/state/runs.js';
import { sleep } from '../../engine/runtime/pipeline.js';
import { RsyncCommand } from '../base.js';
import { deployedFlow } from '../flows.js';
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
    customer: Flags.string({ char: 'c', description: 'the customer, when the flow is given by name alone' }),
    wait: Flags.boolean({ description: 'wait for the run to finish', default: false }),
    timeout: Flags.integer({ description: 'seconds to wait with --wait', default: 300 }),
  };

  async run(): Promise<RunOutput> {
    const { args, flags } = await this.parse(Run);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const flow = await deployedFlow(db.pool, env, args.flow, flags.customer);
      const boss = await openBoss(db.pool);
      let job: string | null;
      try {
        job = await boss.send(flow.queue, { flow: flow.address, trigger: 'manual' });
        await notifyWork(db.pool, env, flow.address);
        if (!job) throw new RsyncError(`The run of ${flow.address} was not queued.`, ExitCode.FAILED);
        const out: RunOutput = { version: 1, env, flow: flow.address, job, run: null, state: 'created' };
        this.note(`queued a run of ${flow.address} (revision ${flow.revision}) as job ${job}`);
        if (!flags.wait) return out;
        const deadline = Date.now() + flags.timeout * 1000;
        for (;;) {
          const j = await boss.getJobById<Record<string, unknown>>(flow.queue, job, { includeArchive: true });
          out.state = j?.state ?? 'unknown';
          const output = (j?.output ?? {}) as { run?: number };
          if (j && ['completed', 'failed', 'cancelled'].includes(j.state)) {
            out.run = typeof output.run === 'number' ? ((await getRun(db.pool, output.run)) ?? null) : null;
            break;
          }
          if (Date.now() > deadline)
            throw new RsyncError(
              `The run of ${flow.address} did not finish within ${flags.timeout} s (job ${job} is ${out.state}).`,
              ExitCode.UNAVAILABLE,
              'Is a worker running for this environment? Start one with `rsync worker --env ' + env + '`.',
            );
          await sleep(250);
        }
        const r = out.run;
        if (!this.json) {
          this.log(
            r
              ? `run ${r.id} ${r.status}: read ${r.read}, written ${r.written}, unchanged ${r.unchanged}, filtered ${r.filtered}, dead-lettered ${r.dead}${r.error ? `\n  ${r.error}` : ''}`
              : `job ${job} ${out.state} (${JSON.stringify((await boss.getJobById(flow.queue, job, { includeArchive: true }))?.output ?? {})})`,
          );
        }
        this.exitCode = out.state === 'completed' && r?.status !== 'failed' ? ExitCode.OK : ExitCode.FAILED;
        return out;
      } finally {
        await boss.stop({ graceful: false, close: false }).catch(() => {});
      }
    } finally {
      await db.close();
    }
  }
}
