/**
 * Traffic for the sandbox systems (the demo, tests, benchmarks): records of scheduled flows' sources are added to
 * the simulated systems, and event flows get signed webhook deliveries over real HTTP, each a copy of a real vendor
 * payload (the mapping tests' fixtures) with fresh ids.
 */
import type pg from 'pg';
import { generate, varySample } from '../connectors/sandbox/connector.js';
import { signFor } from '../connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../connectors/sandbox/receive.js';
import type { FlowDef } from './flows.js';

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
        topic: f.event,
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
