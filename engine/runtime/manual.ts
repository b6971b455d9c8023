/**
 * Manual runs from another process (`rsync run`): a job on the flow's queue that a worker takes, and the wait for
 * its outcome. The worker's own `runNow` queues the same job.
 */
import type pg from 'pg';
import { openBoss } from '../live/boss.js';
import { notifyWork } from '../live/notify.js';
import { getRun, type RunRow } from '../state/runs.js';
import type { FlowDef } from './flows.js';
import { sleep } from './pipeline.js';

/** What a worker's job of a flow carries. */
export interface JobData {
  flow: string;
  trigger: 'manual' | 'schedule';
}

export interface ManualRun {
  job: string;
  /** pg-boss's state of the job: created, active, completed, failed, cancelled… */
  state: string;
  /** The run the job made, once it finished (none when the job was skipped). */
  run: RunRow | null;
  /** What the worker recorded as the job's output (why it was skipped, or the run's counts). */
  output: unknown;
  /** False when the wait ran out before the job finished. */
  finished: boolean;
}

/** Queue a manual run of `flow` and wake the workers; null when pg-boss did not queue it. */
export async function queueRun(pool: pg.Pool, flow: FlowDef): Promise<string | null> {
  const boss = await openBoss(pool);
  try {
    const job = await boss.send(flow.queue, { flow: flow.address, trigger: 'manual' } satisfies JobData);
    await notifyWork(pool, flow.env, flow.address);
    return job;
  } finally {
    await boss.stop({ graceful: false, close: false }).catch(() => {});
  }
}

/** Wait up to `waitMs` for a queued run's job to finish. */
export async function awaitRun(pool: pg.Pool, flow: FlowDef, job: string, waitMs: number): Promise<ManualRun> {
  const boss = await openBoss(pool);
  try {
    const out: ManualRun = { job, state: 'created', run: null, output: null, finished: false };
    const deadline = Date.now() + waitMs;
    for (;;) {
      const j = await boss.getJobById<Record<string, unknown>>(flow.queue, job, { includeArchive: true });
      out.state = j?.state ?? 'unknown';
      out.output = j?.output ?? {};
      if (j && ['completed', 'failed', 'cancelled'].includes(j.state)) {
        const run = (out.output as { run?: unknown }).run;
        out.run = typeof run === 'number' ? ((await getRun(pool, run)) ?? null) : null;
        out.finished = true;
        return out;
      }
      if (Date.now() > deadline) return out;
      await sleep(250);
    }
  } finally {
    await boss.stop({ graceful: false, close: false }).catch(() => {});
  }
}
