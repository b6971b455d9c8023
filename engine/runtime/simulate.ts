/**
 * Traffic for the sandbox systems (the demo, tests, benchmarks): records of scheduled flows' sources are added to
 * the simulated systems, and event flows get webhook deliveries over real HTTP as their vendors send them (envelope,
 * headers, signature), each a copy of a real vendor payload (the mapping tests' fixtures) with fresh identifiers,
 * followed by its edits and cancellation where the flow takes those topics.
 */
import type pg from 'pg';
import { generate, varySample } from '../connectors/sandbox/connector.js';
import { envelopeFor, signFor } from '../connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../connectors/sandbox/receive.js';
import { pendingDeliveryTotal } from '../state/deliveries.js';
import { type Counts, countsSince, lastRunId, runsSince } from '../state/runs.js';
import type { FlowDef } from './flows.js';
import { mapRecords } from './mapping/map-records.js';
import { mapTask, sleep } from './pipeline.js';
import { RsyncWorker } from './worker.js';
import type { RunningFake } from './fakes.js';

/**
 * Add `count` source records for each non-event flow, to the simulated system or, when `fakeOf` gives one, to the
 * source's vendor fake; returns how many went to each flow's source.
 */
export async function seedSources(
  db: pg.Pool,
  flows: FlowDef[],
  samples: (f: FlowDef) => unknown[],
  count: number,
  fakeOf: (system: string) => RunningFake | undefined = () => undefined,
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
    const fake = fakeOf(f.source.system);
    if (fake) {
      // Now: after the cursor a previous demo's run left (the fake is new each time, the cursor is not).
      const start = Date.now() % 1_000_000_000;
      const at = new Date();
      fake.seed(
        f.source.stream,
        Array.from({ length: count }, (_, i) => varySample(s[i % s.length], start + i, at)),
      );
    } else await generate(db, { system: f.source.system, stream: f.source.stream, samples: s, count });
    out.set(f.address, count);
  }
  return out;
}

/** What a simulated sender sent: the HTTP statuses it got back, and how many deliveries of each vendor's topic. */
export interface Sent {
  statuses: Map<number, number>;
  /** `<connector> <topic>` → deliveries, e.g. `shopify orders/create`. */
  topics: Map<string, number>;
}

/** Topics of an order's life after its creation, when a flow takes them: an edit, then a cancellation. */
const EDIT = /(^|[/.])(updated|update)$/;
const CANCEL = /(^|[/.])(cancelled|canceled)$/;

/**
 * One event flow's deliveries for the record copies `records` (created at `at`): each copy's creation (the flow's
 * first topic), an open sale's completion (state OPEN, then COMPLETED, a minute later); then, when the flow
 * takes them, an edit of every third copy (a minute later: a note added) and the
 * cancellation of every fourth (two minutes later: cancelled_at and a reason, Shopify's fields). Amounts are never
 * touched, so every version still adds up.
 */
function lifecycle(
  f: FlowDef,
  records: { n: number; record: Record<string, unknown> }[],
  at: Date,
): { topic: string; step: string; n: number; record: Record<string, unknown>; at: Date }[] {
  const first = f.events[0] ?? f.event ?? '';
  const edit = f.events.find((t) => t !== first && EDIT.test(t));
  const cancel = f.events.find((t) => t !== first && CANCEL.test(t));
  const out = records.map((r) => ({ topic: first, step: 'create', n: r.n, record: r.record, at }));
  /** The copy's next version, `ms` after its creation: updated_at then, and the step's own changes. */
  const next = (
    r: (typeof records)[number],
    topic: string,
    step: string,
    ms: number,
    changes: (t: string) => Record<string, unknown>,
  ) => {
    const when = new Date(at.getTime() + ms);
    const t = when.toISOString();
    out.push({ topic, step, n: r.n, at: when, record: { ...r.record, updated_at: t, ...changes(t) } });
  };
  records.forEach((r, i) => {
    // An open sale updated (Square's order.updated while the ticket is open) is completed a minute later: the same
    // order, its next version, closed.
    if (r.record.state === 'OPEN' && EDIT.test(first)) {
      const version = typeof r.record.version === 'number' ? r.record.version + 1 : undefined;
      next(r, first, 'complete', 60_000, (t) => ({
        state: 'COMPLETED',
        closed_at: t,
        ...(version ? { version } : {}),
      }));
    }
    if (edit && i % 3 === 1) next(r, edit, 'edit', 60_000, () => ({ note: 'Please gift-wrap' }));
    if (cancel && i % 4 === 3)
      next(r, cancel, 'cancel', 120_000, (t) => ({ cancelled_at: t, cancel_reason: 'customer' }));
  });
  return out;
}

/**
 * POST `count` record copies to each event flow's hook, as the flow's source vendor sends them (its envelope, its
 * headers, its signature with the sandbox's secret: see Receiver.envelope), with their edits and cancellations
 * (lifecycle). Delivery and event ids derive from the flow and the copy's number: sent again, each is the same
 * delivery (a sender's retry).
 */
export async function deliverEvents(
  baseUrl: string,
  flows: FlowDef[],
  samples: (f: FlowDef) => unknown[],
  count: number,
  start = Date.now() % 1_000_000_000,
  at = new Date(Date.now() - 180_000),
  secretOf: (f: FlowDef) => string = () => SANDBOX_WEBHOOK_SECRET,
): Promise<Sent> {
  const sent: Sent = { statuses: new Map(), topics: new Map() };
  let n = start;
  for (const f of flows) {
    if (f.trigger !== 'event') continue;
    const s = samples(f);
    if (!s.length) continue;
    const copies = Array.from({ length: count }, (_, i) => {
      const id = n++;
      return { n: id, record: varySample(s[i % s.length], id, at) };
    });
    const path = `/hooks/${encodeURIComponent(f.customer)}/${encodeURIComponent(f.name)}`;
    for (const d of lifecycle(f, copies, at)) {
      const deliveryId = `${f.address}#${d.n}:${d.step}`;
      const e = envelopeFor(f.source.type, d.record, { topic: d.topic, id: deliveryId, at: d.at });
      const body = Buffer.from(JSON.stringify(e.body));
      const headers = {
        ...e.headers,
        ...signFor(e.connector, secretOf(f), body, {
          topic: d.topic,
          deliveryId,
          // Square signs the subscription's URL: the one this request is sent to (by its Host, over https).
          notificationUrl: `https://${new URL(baseUrl).host}${path}`,
        }),
      };
      const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body });
      await res.arrayBuffer();
      sent.statuses.set(res.status, (sent.statuses.get(res.status) ?? 0) + 1);
      const topic = `${e.connector} ${d.topic}`;
      sent.topics.set(topic, (sent.topics.get(topic) ?? 0) + 1);
    }
  }
  return sent;
}

/**
 * The samples of each flow as its traffic: each sample mapped first with the flow's own mapping and parameters. A
 * sample the flow would dead-letter (a vendor's example that does not add up, under this flow's parameters) is left
 * out, as mappingSamples leaves out the cases meant to break; the samples the flow filters (a test order, a
 * cancelled payout) are one copy in five, the rest are samples it writes: a rule's records are the exception in a
 * shop's traffic, not the bulk that the mapping tests' cases make them.
 */
export async function trafficSamples(
  flows: FlowDef[],
  samples: (f: FlowDef) => unknown[],
): Promise<(f: FlowDef) => unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const f of flows) {
    const s = samples(f);
    if (!s.length) continue;
    const outcomes = await mapRecords(mapTask(f, s));
    const written = s.filter((_, i) => outcomes[i].kind === 'mapped');
    const filtered = s.filter((_, i) => outcomes[i].kind === 'filtered');
    out.set(f.address, mix(written, filtered));
  }
  return (f) => out.get(f.address) ?? [];
}

/** The SKUs of the records `f`'s mapping makes of `samples` (what a channel must sell for their writes to land). */
async function mappedSkus(f: FlowDef, samples: unknown[]): Promise<string[]> {
  const skus = new Set<string>();
  for (const o of await mapRecords(mapTask(f, samples))) {
    if (o.kind !== 'mapped') continue;
    const sku = (JSON.parse(o.text) as { sku?: unknown }).sku;
    if (typeof sku === 'string' && sku) skus.add(sku);
  }
  return [...skus];
}

/** A sequence of the written samples with one filtered sample after every four, each list in turn. */
function mix(written: unknown[], filtered: unknown[]): unknown[] {
  if (!written.length || !filtered.length) return written.length ? written : filtered;
  const seq: unknown[] = [];
  const length = 5 * Math.max(filtered.length, Math.ceil(written.length / 4));
  for (let k = 0, w = 0, x = 0; k < length; k++)
    seq.push(k % 5 === 4 ? filtered[x++ % filtered.length] : written[w++ % written.length]);
  return seq;
}

export type SandboxProgress =
  | { step: 'seeded'; records: number; flows: number }
  | { step: 'sent'; url: string; statuses: Map<number, number>; topics: Map<string, number> }
  | { step: 'resent'; duplicates: number };

export interface SandboxSync {
  /** The records each flow's runs counted. */
  flows: ({ address: string } & Counts)[];
  /** Per vendor fake: the requests it answered (2xx), reads and writes. */
  fakes: { system: string; connector: string; url: string; requests: number }[];
  /** Webhooks sent again that the worker recognised as duplicates. */
  duplicatesRefused: number;
  elapsedMs: number;
}

/**
 * The demo's sync: seed the sources of `flows`, run a worker, start each scheduled flow, send every event flow its
 * webhooks (twice: the second time all are duplicates), and wait until every flow has had its run and every
 * delivery is worked, or `forMs` is up. The systems of `fakes` are served by their real connectors, pointed at
 * their fakes (sources seeded there, webhooks signed with the fake connection's secret); the sandbox serves the rest.
 */
export async function syncSandbox(
  db: { pool: pg.Pool; url: string },
  env: string,
  flows: FlowDef[],
  samples: (f: FlowDef) => unknown[],
  opts: { records: number; forMs: number; fakes?: RunningFake[]; progress?: (p: SandboxProgress) => void },
): Promise<SandboxSync> {
  const fakes = new Map((opts.fakes ?? []).map((f) => [f.system, f]));
  const fakeOf = (system: string) => fakes.get(system);
  samples = await trafficSamples(flows, samples);
  const seeded = await seedSources(db.pool, flows, samples, opts.records, fakeOf);
  for (const f of flows) {
    const fake = fakeOf(f.target.system);
    // Every record the flow's source stream is seeded with, whichever flow's samples it came from (two flows may read
    // one ERP stream): a storefront sells what its ERP prices.
    const shared = flows.filter((g) => g.source.system === f.source.system && g.source.stream === f.source.stream);
    if (fake)
      fake.catalog(
        await mappedSkus(
          f,
          shared.flatMap((g) => samples(g)),
        ),
      );
  }
  opts.progress?.({ step: 'seeded', records: opts.records, flows: seeded.size });
  const since = await lastRunId(db.pool);
  const worker = new RsyncWorker({
    pool: db.pool,
    url: db.url,
    env,
    port: 0,
    sandbox: fakes.size ? (system) => !fakes.has(system) : true,
    settings: new Map([...fakes].map(([system, f]) => [system, f.settings])),
    pollMs: 200,
  });
  const secretOf = (f: FlowDef) => fakeOf(f.source.system)?.webhookSecret ?? SANDBOX_WEBHOOK_SECRET;
  await worker.start();
  const started = Date.now();
  let duplicatesRefused = 0;
  try {
    for (const f of flows) if (f.trigger !== 'event') await worker.runNow(f);
    const base = `http://127.0.0.1:${worker.port}`;
    const first = Date.now() % 1_000_000_000;
    const at = new Date(Date.now() - 180_000);
    const sent = await deliverEvents(base, flows, samples, opts.records, first, at, secretOf);
    opts.progress?.({ step: 'sent', url: base, statuses: sent.statuses, topics: sent.topics });
    const again = await deliverEvents(base, flows, samples, opts.records, first, at, secretOf);
    duplicatesRefused = again.statuses.get(200) ?? 0;
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
  return {
    flows: await countsSince(db.pool, env, since),
    fakes: [...fakes.values()].map((f) => ({
      system: f.system,
      connector: f.connector,
      url: f.url,
      requests: f.answered(),
    })),
    duplicatesRefused,
    elapsedMs: Date.now() - started,
  };
}
