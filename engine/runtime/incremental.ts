/**
 * An incremental run (schedule, manual): the source from the flow's persisted cursor, one run of a flow at a time
 * (a claim on the flow's cursor), each page committed with the cursor moved past it.
 */
import { readCursor, saveCursor } from '../state/cursors.js';
import { releaseClaim, tryClaim } from '../state/locks.js';
import { zeroCounts } from '../state/runs.js';
import { withClient } from '../state/tx.js';
import type { FlowDef } from './flows.js';
import { finish, pageSize, readableSource, runPages, type RunResult, type RuntimeContext } from './page-loop.js';
import { startRun } from './pipeline.js';
import { describeQuota } from './quotas.js';

export async function runIncremental(
  rt: RuntimeContext,
  flow: FlowDef,
  trigger: 'schedule' | 'manual',
): Promise<RunResult> {
  const claim = `cursor:${flow.env}/${flow.address}`;
  return withClient(rt.db, async (client) => {
    if (!(await tryClaim(client, claim)))
      return { run: null, status: 'skipped', counts: zeroCounts(), reason: 'another run of this flow is in progress' };
    try {
      const run = await startRun(rt.db, flow, trigger, rt.worker);
      try {
        const source = readableSource(rt, flow);
        const cursor = await readCursor(rt.db, flow.env, flow.address);
        const read = (c: unknown) =>
          source.read!({ stream: flow.source.stream, cursor: c, limit: pageSize(flow), signal: rt.signal });
        const quota = await runPages(
          rt,
          client,
          run,
          read,
          cursor,
          (tx, page) => saveCursor(tx, flow.env, flow.address, page.cursor),
          { maxPages: rt.maxPages ?? 1000 },
        );
        const r = await finish(rt, run);
        return quota ? { ...r, reason: describeQuota(quota) } : r;
      } catch (e) {
        return await finish(rt, run, e);
      }
    } finally {
      await releaseClaim(client, claim);
    }
  });
}
