/**
 * Traffic for the sandbox systems (the demo, tests, benchmarks): records of scheduled flows' sources are added to
 * the simulated systems, and event flows get signed webhook deliveries over real HTTP, each a copy of a real vendor
 * payload (the mapping tests' fixtures) with fresh ids.
 */
import type pg from 'pg';
import { generate, varySample } from '../connectors/sandbox/connector.js';
import { signFor } from '../connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../connectors/sandbox/receive.js';
import { pendingDeliveryTotal } from '../state/deliveries.js';
import { type Counts, countsSince, lastRunId, runsSince } from '../state/runs.js';
import type { FlowDef } from './flows.js';
import { sleep } from './pipeline.js';
import { RsyncWorker } from './worker.js';

/** Add `count` source records for each non-event flow; returns how many went to each flow's source. */
export async function seedSources(
  db: pg.Pool,
  flows: FlowDef[],
  samples: (f: FlowDef) => unknown[],
  count: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const done = new Set<string>();
  for (const f of flows) {
    if (f.trigger === 'event') continue;
    const s = samples(f);
    if (!s.length) continue;
    const id = `${f.source.system} ${f.source.stream}`;
    if (done.has(id)) continue; // two flows reading one stream share its records
    done.add(id);
    await generate(db, { system: f.source.system, stream: f.source.stream, samples: s, count });
    out.set(f.address, count);
  }
  return out;
}

/** POST `count` signed deliveries to each event flow's hook; returns the HTTP statuses seen. */
export async function deliverEvents(
  baseUrl: string,
  flows: FlowDef[],
  samples: (f: FlowDef) => unknown[],
  count: number,
  start = Date.now() % 1_000_000_000,
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let n = start;
  for (const f of flows) {
    if (f.trigger !== 'event') continue;
    const s = samples(f);
    if (!s.length) continue;
    for (let i = 0; i < count; i++) {
      const id = n++;
      const body = Buffer.from(JSON.stringify(varySample(s[i % s.length], id, new Date())));
      // The delivery id is the sender's: the same record sent again carries the same id (a sender's retry).
      const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, {
        topic: f.events[i % f.events.length] ?? f.event,
        deliveryId: `${f.address}#${id}`,
      });
      const res = await fetch(`${baseUrl}/hooks/${encodeURIComponent(f.customer)}/${encodeURIComponent(f.name)}`, {
        method: 'POST',
        headers,
        body,
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  }
  return statuses;
}

export type SandboxProgress =
  | { step: 'seeded'; records: number; flows: number }
  | { step: 'sent'; url: string; statuses: Map<number, number> }
  | { step: 'resent'; duplicates: number };

export interface SandboxSync {
  /** The records each flow's runs counted. */
  flows: ({ address: string } & Counts)[];
  /** Webhooks sent again that the worker recognised as duplicates. */
  duplicatesRefused: number;
  elapsedMs: number;
}

/**
 * The demo's sync: seed the sandbox sources of `flows`, run a sandbox worker, start each scheduled flow, send
 * every event flow its webhooks (twice: the second time all are duplicates), and wait until every flow has had
 * its run and every delivery is worked, or `forMs` is up.
 */
export async function syncSandbox(
  db: { pool: pg.Pool; url: string },
  env: string,
  flows: FlowDef[],
  samples: (f: FlowDef) => unknown[],
  opts: { records: number; forMs: number; progress?: (p: SandboxProgress) => void },
): Promise<SandboxSync> {
  const seeded = await seedSources(db.pool, flows, samples, opts.records);
  opts.progress?.({ step: 'seeded', records: opts.records, flows: seeded.size });
  const since = await lastRunId(db.pool);
  const worker = new RsyncWorker({ pool: db.pool, url: db.url, env, port: 0, sandbox: true, pollMs: 200 });
  await worker.start();
  const started = Date.now();
  let duplicatesRefused = 0;
  try {
    for (const f of flows) if (f.trigger !== 'event') await worker.runNow(f);
    const base = `http://127.0.0.1:${worker.port}`;
    const first = Date.now() % 1_000_000_000;
    const sent = await deliverEvents(base, flows, samples, opts.records, first);
    opts.progress?.({ step: 'sent', url: base, statuses: sent });
    const again = await deliverEvents(base, flows, samples, opts.records, first);
    duplicatesRefused = again.get(200) ?? 0;
    opts.progress?.({ step: 'resent', duplicates: duplicatesRefused });
    const scheduled = flows.filter((f) => f.trigger !== 'event').length;
    for (;;) {
      const pending = await pendingDeliveryTotal(db.pool, env);
      const runs = await runsSince(db.pool, env, since);
      if (pending === 0 && runs.finished >= scheduled && runs.running === 0) break;
      if (Date.now() - started > opts.forMs) break;
      await sleep(250);
    }
  } finally {
    await worker.stop(10_000);
  }
  return { flows: await countsSince(db.pool, env, since), duplicatesRefused, elapsedMs: Date.now() - started };
}
