/**
 * Event runs: a flow's verified webhook deliveries, stored once by delivery id (the worker's server.ts), then
 * worked in pages. Several workers share a flow's deliveries: each claims the ones it works (claims in
 * state/locks.ts, held on the connection that commits them), so none is taken twice and no transaction stays open
 * while a page's writes wait to be retried.
 *
 * A delivery that only notifies (its event is `payload: reference` in the connector's catalogue entry: Square's
 * order.updated, Shopify's orders/delete) is looked up first: the source connector fetches the record it names, and
 * that record is mapped, not the notification. A failed lookup fails the run with the deliveries still pending.
 */
import type pg from 'pg';
import { notifyWork } from '../live/notify.js';
import { insertDelivery, markDelivered, pendingDeliveries, pendingDeliveryIds } from '../state/deliveries.js';
import { releaseClaims, tryClaims } from '../state/locks.js';
import { zeroCounts } from '../state/runs.js';
import { withClient } from '../state/tx.js';
import { connectorSpec } from '../connectors/catalog.js';
import type { FlowDef } from './flows.js';
import { connectorFor, finish, pipeline, type RunResult, type RuntimeContext } from './page-loop.js';
import { processPage, type RunHandle, startRun } from './pipeline.js';
import { countRecords, quotaReached } from './quotas.js';

/** Record a verified webhook delivery once (by its delivery id) and wake the workers; false when it was a duplicate. */
export async function recordDelivery(
  db: Pick<pg.Pool, 'query'>,
  flow: FlowDef,
  deliveryId: string,
  topic: string | undefined,
  records: unknown[],
): Promise<boolean> {
  const fresh = await insertDelivery(db, { env: flow.env, address: flow.address, deliveryId, topic, records });
  if (fresh) await notifyWork(db, flow.env, flow.address);
  return fresh;
}

/** Work the flow's pending deliveries until none is left (other workers take other ones meanwhile). */
export async function runEvents(rt: RuntimeContext, flow: FlowDef): Promise<RunResult> {
  const claim = `delivery:${flow.env}/${flow.address}`;
  let run: RunHandle | undefined;
  return withClient(rt.db, async (client) => {
    try {
      const ctx = pipeline(rt, flow);
      for (;;) {
        if (rt.signal?.aborted || rt.stopping?.()) break;
        // A quota reached leaves the rest pending, to run once it resets (or is raised).
        if (await quotaReached(rt.db, flow)) break;
        // Candidates beyond one page: the first ones may be another worker's.
        const candidates = await pendingDeliveryIds(client, flow.env, flow.address, flow.batchSize * 4);
        if (!candidates.length) break;
        const ids = await tryClaims(client, claim, candidates.map(Number), flow.batchSize);
        if (!ids.length) break;
        try {
          // Claimed now: only those still pending (another worker may have finished one before we claimed it).
          const rows = await pendingDeliveries(client, ids.map(String));
          if (!rows.length) continue;
          run ??= await startRun(rt.db, flow, 'event', rt.worker);
          const records = (await Promise.all(rows.map((r) => recordsOf(rt, flow, r)))).flat();
          const started = performance.now();
          let latencies: number[] = [];
          await processPage(ctx, run, client, { records }, async (tx) => {
            latencies = await markDelivered(
              tx,
              rows.map((r) => r.id),
            );
            await countRecords(tx, flow, records.length);
          });
          // Committed: the target confirmed these deliveries.
          rt.metrics?.page(flow, (performance.now() - started) / 1000);
          rt.metrics?.delivered(flow, latencies);
        } finally {
          await releaseClaims(client, claim, ids);
        }
        if (run) rt.onPage?.(flow, run.counts);
      }
      return run
        ? await finish(rt, run)
        : { run: null, status: 'skipped', counts: zeroCounts(), reason: 'no pending deliveries' };
    } catch (e) {
      if (run) return await finish(rt, run, e);
      throw e;
    }
  });
}

/**
 * The records a delivery stands for: its own, or — for a notification whose source can look records up — the
 * records it names, fetched now. In sandbox mode the simulated systems send records, so nothing is looked up.
 */
async function recordsOf(
  rt: RuntimeContext,
  flow: FlowDef,
  d: { topic: string | null; records: unknown[] },
): Promise<unknown[]> {
  const event = d.topic ? connectorSpec(flow.source.type)?.events?.[d.topic] : undefined;
  if (event?.payload !== 'reference') return d.records;
  const source = connectorFor(rt, flow.source);
  if (!source.lookup) return d.records;
  const found: unknown[] = [];
  for (const ref of d.records) {
    if (typeof ref === 'object' && ref !== null)
      found.push(...(await source.lookup(event.stream, ref as Record<string, unknown>, rt.signal)));
  }
  return found;
}
