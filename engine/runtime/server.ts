/**
 * The worker's HTTP server: webhooks (`POST /hooks/<customer>/<flow>`: verified with the source connector's
 * scheme, stored once by delivery id, then worked by the worker loop), `/healthz` and `/readyz`. It owns no work of
 * its own: what it stores, the loop runs.
 */
import http from 'node:http';
import { redact } from '../connectors/secrets.js';
import { ConnectorError } from '../connectors/types.js';
import { recordDelivery } from './events.js';
import type { FlowDef } from './flows.js';
import { dottedPath, findUnstorable, type UnstorableText } from '../util/text.js';
import { connectorFor, type RuntimeContext } from './page-loop.js';

/** What the server asks of its worker. */
export interface ServedWorker {
  id: string;
  env: string;
  rt: RuntimeContext;
  flow(address: string): FlowDef | undefined;
  flowCount(): number;
  /** `reconnecting`: PostgreSQL went away and the worker is connecting again (not ready, takes no deliveries). */
  state(): 'starting' | 'ready' | 'draining' | 'reconnecting';
  /** A fresh delivery of `flow` was stored: the loop may look for work again. */
  delivered(flow: FlowDef): void;
}

/** Listen on `port` (0: a free one); resolves once listening, with the port. */
export async function serve(
  w: ServedWorker,
  port: number,
  host: string,
): Promise<{ server: http.Server; port: number | null }> {
  const server = http.createServer((req, res) => void handle(w, req, res));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : null };
}

export async function closeServer(server: http.Server | undefined): Promise<void> {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections?.();
}

async function handle(w: ServedWorker, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const send = (status: number, body: Record<string, unknown>) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const url = new URL(req.url ?? '/', 'http://worker');
  const state = w.state();
  if (req.method === 'GET' && url.pathname === '/healthz') return send(200, { status: 'ok', worker: w.id });
  if (req.method === 'GET' && url.pathname === '/readyz') {
    return state === 'ready' ? send(200, { status: 'ready', flows: w.flowCount() }) : send(503, { status: state });
  }
  const m = /^\/hooks\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
  if (!m)
    return send(404, {
      error: 'not found: the endpoints are POST /hooks/<customer>/<flow>, GET /healthz, GET /readyz',
    });
  if (req.method !== 'POST') return send(405, { error: 'use POST' });
  if (state === 'draining') return send(503, { error: 'the worker is stopping; the sender will retry' });
  const [customer, name] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
  const flow = w.flow(`${customer}/flow/${name}`);
  if (flow?.trigger !== 'event')
    return send(404, { error: `no event flow ${customer}/${name} is deployed in ${w.env}` });
  let body: Buffer;
  try {
    body = await readBody(req, 5 * 1024 * 1024);
  } catch {
    return send(413, { error: 'the body is larger than 5 MB' });
  }
  try {
    const receive = connectorFor(w.rt, flow.source).receive;
    if (!receive) return send(404, { error: `connection ${flow.source.name} does not receive webhooks` });
    const got = receive({
      body,
      headers: req.headers as Record<string, string | string[] | undefined>,
      url: req.url ?? '/',
    });
    // A permanent problem of the sender's: a 4xx, which it does not retry (a 503 it retries for ever). PostgreSQL's
    // jsonb and text cannot hold a NUL (\u0000) or half of a surrogate pair, so such a delivery is refused whole,
    // before anything is stored.
    // A topic the flow does not take (a webhook subscribed to the wrong address, a topic added at the vendor but not
    // to the flow) is refused, never mapped as if it were the flow's. A sender without topics is taken as it is.
    if (got.topic !== undefined && flow.events.length && !flow.events.includes(got.topic))
      return send(400, {
        error: `flow ${customer}/${name} takes ${flow.events.join(', ')}, not ${got.topic}: subscribe this topic to the flow that takes it, or add it to this flow's trigger`,
      });
    const bad = findUnstorable({ deliveryId: got.deliveryId, topic: got.topic ?? null, records: got.records });
    if (bad) return send(400, { error: unstorableMessage(bad) });
    let fresh: boolean;
    try {
      fresh = await recordDelivery(w.rt.db, flow, got.deliveryId, got.topic, got.records);
    } catch (e) {
      // Any other value PostgreSQL refuses as data (class 22: too long, out of range…) is the delivery's, not ours.
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('22'))
        return send(400, { error: `the delivery cannot be stored: ${redact((e as Error).message)}` });
      throw e;
    }
    if (fresh) w.delivered(flow);
    return send(fresh ? 202 : 200, { accepted: true, duplicate: !fresh, delivery: got.deliveryId });
  } catch (e) {
    const err = e instanceof ConnectorError ? e : undefined;
    if (err && !err.transient)
      return send(err.status && err.status >= 400 && err.status < 500 ? err.status : 400, {
        error: redact(err.message),
      });
    return send(503, { error: 'the delivery could not be stored; retry' });
  }
}

/** Why a delivery is refused for text PostgreSQL cannot store, and where it is: `records[0].note`. */
function unstorableMessage(t: UnstorableText): string {
  const what = `${t.what[0].toUpperCase()}${t.what.slice(1)}`;
  return `${what} in ${t.key ? 'the key ' : ''}${dottedPath(t.path)}: rsync cannot store it (PostgreSQL refuses it), so this delivery is refused; send it without`;
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('too large'));
        req.destroy();
      } else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}
