/**
 * The worker's HTTP server: webhooks (`POST /hooks/<customer>/<flow>`: verified with the source connector's
 * scheme, stored once by delivery id, then worked by the worker loop), `/healthz` and `/readyz`. It owns no work of
 * its own: what it stores, the loop runs.
 *
 * Every input is bounded (issue 15) and no request, however malformed, can stop the worker (issue 21):
 * - a body over `maxBodyBytes` is refused with 413 — at once when its Content-Length says so, else as soon as the
 *   bytes read pass the limit — and nothing more of it is read (the connection is closed);
 * - headers must arrive within `headersTimeoutMs` and the whole request within `bodyTimeoutMs` (Node answers 408
 *   and closes: a slow sender cannot hold a socket open);
 * - a body of a media type no sender of webhooks uses (XML, multipart, octet-stream…) is 415; the connector's
 *   receiver answers 400 for a body it cannot parse or verify;
 * - at most `maxDeliveriesPerFlow` deliveries of one flow are read and stored at once; more get 429 with
 *   Retry-After (every vendor's sender retries), so one flow's burst cannot take every socket and database
 *   connection from the others;
 * - a path that is not a URL path, or is not valid percent-encoding, is 400; an error nobody foresaw is a 500 for
 *   that request (logged), never an unhandled rejection.
 * None of these refusals stores or enqueues anything, and /healthz and /readyz answer throughout. Each is counted in
 * `stats`, and by result in `rsync_webhook_deliveries_total` (`GET /metrics`, metrics.ts: the worker's own counters
 * and the fleet's figures read from PostgreSQL at scrape time).
 */
import http from 'node:http';
import type net from 'node:net';
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
  /** What became of one webhook request (for its counter); `flow` when the path named a deployed one. */
  counted?(result: WebhookResult, flow?: FlowDef): void;
  /** The body of `GET /metrics` (Prometheus's text format) and its content type; absent: 404. */
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** Other endpoints served beside the hooks (`rsync worker --sync`: POST /hooks/git); true when it answered. */
  route?: (req: http.IncomingMessage, res: http.ServerResponse, pathname: string) => Promise<boolean>;
  /** What answers the paths this server does not own (the console, under `rsync worker --console`). */
  otherPaths?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

/** What became of a webhook request: the values of rsync_webhook_deliveries_total's `result` label. */
export type WebhookResult =
  | 'accepted'
  | 'duplicate'
  | 'bad_signature'
  | 'wrong_topic'
  | 'bad_request'
  | 'too_large'
  | 'too_slow'
  | 'unsupported_media_type'
  | 'over_concurrency'
  | 'malformed_path'
  | 'failed';

/** The server's bounds (see the header); the worker's flags set them. */
export interface ServerLimits {
  maxBodyBytes: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxDeliveriesPerFlow: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  // Shopify's largest order webhooks are a few hundred KB; Stripe caps event payloads well under 1 MB.
  maxBodyBytes: 5 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  maxDeliveriesPerFlow: 64,
};

/** What the server refused or failed, by reason, since it started. */
export interface ServerStats {
  accepted: number;
  duplicate: number;
  /** Refused for a missing or wrong signature (the receiver's 401). */
  badSignature: number;
  /** Refused for a topic the flow does not take. */
  wrongTopic: number;
  /** Cut off by Node for headers or a body that did not arrive in time (408). */
  tooSlow: number;
  tooLarge: number;
  unsupportedType: number;
  busy: number;
  malformed: number;
  refused: number;
  failed: number;
  /** The most bytes read of any one request body. */
  maxBodyRead: number;
}

/** Node's answers to the requests it refuses before a handler sees them (node:_http_server's socketOnError). */
const NODE_REFUSALS: Record<string, { status: string; result: WebhookResult }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: '408 Request Timeout', result: 'too_slow' },
  HPE_HEADER_OVERFLOW: { status: '431 Request Header Fields Too Large', result: 'too_large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: '413 Payload Too Large', result: 'too_large' },
  default: { status: '400 Bad Request', result: 'bad_request' },
};

/** Media types a webhook body may have: JSON (every sender), forms (WooCommerce's ping), text, or none given. */
const BODY_TYPES = /^(application\/(json|[\w.+-]+\+json|x-www-form-urlencoded)|text\/plain)$/;

/** Listen on `port` (0: a free one); resolves once listening, with the port. */
export async function serve(
  w: ServedWorker,
  port: number,
  host: string,
  limits: Partial<ServerLimits> = {},
): Promise<{ server: http.Server; port: number | null; stats: ServerStats }> {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const stats: ServerStats = {
    accepted: 0,
    duplicate: 0,
    badSignature: 0,
    wrongTopic: 0,
    tooSlow: 0,
    tooLarge: 0,
    unsupportedType: 0,
    busy: 0,
    malformed: 0,
    refused: 0,
    failed: 0,
    maxBodyRead: 0,
  };
  const busy = new Map<string, number>();
  const server = http.createServer(
    {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.bodyTimeoutMs,
      // How often Node looks for requests past their timeouts (default 30 s: a slow body would outlive its bound).
      connectionsCheckingInterval: Math.min(1_000, l.headersTimeoutMs, l.bodyTimeoutMs),
    },
    (req, res) =>
      void handle(w, req, res, l, stats, busy).catch((e: unknown) => {
        stats.failed++;
        w.counted?.('failed');
        w.rt.log?.(
          `webhook server: ${req.method} ${redact(String(req.url)).slice(0, 200)} failed: ${redact((e as Error)?.message ?? String(e))}`,
          { level: 'error' },
        );
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify({ error: 'the request failed in the worker; retry' }));
        } else res.destroy();
      }),
  );
  server.keepAliveTimeout = 5_000;
  // Node's own refusals (a request past headersTimeout or requestTimeout, headers too large, a request it cannot
  // parse): answered as Node answers them without a listener (its socketOnError), and counted.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const refusal = NODE_REFUSALS[err.code ?? ''] ?? NODE_REFUSALS.default;
    if (err.code !== 'ECONNRESET') {
      if (refusal.result === 'too_slow') stats.tooSlow++;
      w.counted?.(refusal.result);
    }
    if (socket.writable && (socket as net.Socket).bytesWritten === 0)
      socket.write(`HTTP/1.1 ${refusal.status}\r\nConnection: close\r\n\r\n`);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : null, stats };
}

export async function closeServer(server: http.Server | undefined): Promise<void> {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections?.();
}

async function handle(
  w: ServedWorker,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  l: ServerLimits,
  stats: ServerStats,
  busy: Map<string, number>,
): Promise<void> {
  const send = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  /** Refuse without reading the body: answer, then close the connection (what is still coming is never read). */
  const refuse = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    res.on('finish', () => req.destroy());
    send(status, body, { connection: 'close', ...headers });
  };
  // The path as sent, without its query: not parsed as a URL (`//` would be a host, and an invalid one throws).
  const raw = req.url ?? '/';
  const pathname = raw.split('?', 1)[0];
  const state = w.state();
  if (req.method === 'GET' && pathname === '/healthz') return send(200, { status: 'ok', worker: w.id });
  if (req.method === 'GET' && pathname === '/readyz') {
    return state === 'ready' ? send(200, { status: 'ready', flows: w.flowCount() }) : send(503, { status: state });
  }
  if (req.method === 'GET' && pathname === '/metrics' && w.metrics) {
    let m: { contentType: string; body: string };
    try {
      m = await w.metrics();
    } catch (e) {
      // The fleet's figures come from PostgreSQL: without it there is no truth to tell (Prometheus marks the scrape down).
      return send(503, { error: `metrics need the state database: ${redact((e as Error).message ?? String(e))}` });
    }
    res.writeHead(200, { 'content-type': m.contentType });
    res.end(m.body);
    return;
  }
  if (w.route && (await w.route(req, res, pathname))) return;
  const m = /^\/hooks\/([^/]+)\/([^/]+)\/?$/.exec(pathname);
  if (!m && w.otherPaths && !pathname.startsWith('/hooks/')) return w.otherPaths(req, res);
  if (!m)
    return refuse(404, {
      error: 'not found: the endpoints are POST /hooks/<customer>/<flow>, GET /healthz, GET /readyz, GET /metrics',
    });
  if (req.method !== 'POST') return refuse(405, { error: 'use POST' }, { allow: 'POST' });
  if (state === 'draining') return refuse(503, { error: 'the worker is stopping; the sender will retry' });
  let customer: string;
  let name: string;
  try {
    [customer, name] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
  } catch {
    stats.malformed++;
    w.counted?.('malformed_path');
    return refuse(400, { error: 'the path is not valid percent-encoding: POST /hooks/<customer>/<flow>' });
  }
  const flow = w.flow(`${customer}/flow/${name}`);
  if (flow?.trigger !== 'event')
    return refuse(404, { error: `no event flow ${customer}/${name} is deployed in ${w.env}` });
  const type = String(req.headers['content-type'] ?? '')
    .split(';', 1)[0]
    .trim()
    .toLowerCase();
  if (type && !BODY_TYPES.test(type)) {
    stats.unsupportedType++;
    w.counted?.('unsupported_media_type', flow);
    return refuse(415, { error: `a webhook body is JSON (application/json), not ${type}` });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > l.maxBodyBytes) {
    stats.tooLarge++;
    w.counted?.('too_large', flow);
    return refuse(413, { error: `the body is larger than ${describeBytes(l.maxBodyBytes)}` });
  }
  const inFlight = busy.get(flow.address) ?? 0;
  if (inFlight >= l.maxDeliveriesPerFlow) {
    stats.busy++;
    w.counted?.('over_concurrency', flow);
    return refuse(
      429,
      { error: `flow ${customer}/${name} has ${inFlight} deliveries being stored; retry in a second` },
      { 'retry-after': '1' },
    );
  }
  busy.set(flow.address, inFlight + 1);
  try {
    await store(w, req, res, flow, customer, name, l, stats, send, refuse);
  } finally {
    const n = (busy.get(flow.address) ?? 1) - 1;
    if (n > 0) busy.set(flow.address, n);
    else busy.delete(flow.address);
  }
}

type Send = (status: number, body: Record<string, unknown>, headers?: Record<string, string>) => void;

/** Read, verify and store one delivery of `flow`. */
async function store(
  w: ServedWorker,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  flow: FlowDef,
  customer: string,
  name: string,
  l: ServerLimits,
  stats: ServerStats,
  send: Send,
  refuse: Send,
): Promise<void> {
  const body = await readBody(req, l.maxBodyBytes, stats);
  if (body === 'too large') {
    stats.tooLarge++;
    w.counted?.('too_large', flow);
    return refuse(413, { error: `the body is larger than ${describeBytes(l.maxBodyBytes)}` });
  }
  if (body === 'aborted') {
    res.destroy();
    return;
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
    if (got.topic !== undefined && flow.events.length && !flow.events.includes(got.topic)) {
      stats.wrongTopic++;
      w.counted?.('wrong_topic', flow);
      return send(400, {
        error: `flow ${customer}/${name} takes ${flow.events.join(', ')}, not ${got.topic}: subscribe this topic to the flow that takes it, or add it to this flow's trigger`,
      });
    }
    const bad = findUnstorable({ deliveryId: got.deliveryId, topic: got.topic ?? null, records: got.records });
    if (bad) {
      w.counted?.('bad_request', flow);
      return send(400, { error: unstorableMessage(bad) });
    }
    let fresh: boolean;
    try {
      fresh = await recordDelivery(w.rt.db, flow, got.deliveryId, got.topic, got.records);
    } catch (e) {
      // Any other value PostgreSQL refuses as data (class 22: too long, out of range…) is the delivery's, not ours.
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('22')) {
        w.counted?.('bad_request', flow);
        return send(400, { error: `the delivery cannot be stored: ${redact((e as Error).message)}` });
      }
      throw e;
    }
    if (fresh) w.delivered(flow);
    if (fresh) stats.accepted++;
    else stats.duplicate++;
    w.rt.log?.(`webhook ${got.deliveryId} of ${flow.address}: ${fresh ? 'stored' : 'a duplicate'}`, {
      level: 'debug',
      address: flow.address,
      delivery: got.deliveryId,
    });
    w.counted?.(fresh ? 'accepted' : 'duplicate', flow);
    return send(fresh ? 202 : 200, { accepted: true, duplicate: !fresh, delivery: got.deliveryId });
  } catch (e) {
    const err = e instanceof ConnectorError ? e : undefined;
    if (err && !err.transient) {
      const signature = err.status === 401;
      if (signature) stats.badSignature++;
      else stats.refused++;
      w.counted?.(signature ? 'bad_signature' : err.status === 500 ? 'failed' : 'bad_request', flow);
      return send(err.status && err.status >= 400 && err.status < 500 ? err.status : 400, {
        error: redact(err.message),
      });
    }
    stats.failed++;
    w.counted?.('failed', flow);
    return send(503, { error: 'the delivery could not be stored; retry' });
  }
}

const describeBytes = (n: number) =>
  n >= 1024 * 1024 && n % (1024 * 1024) === 0
    ? `${n / (1024 * 1024)} MB`
    : n >= 1024 && n % 1024 === 0
      ? `${n / 1024} KB`
      : `${n} bytes`;

/** Why a delivery is refused for text PostgreSQL cannot store, and where it is: `records[0].note`. */
function unstorableMessage(t: UnstorableText): string {
  const what = `${t.what[0].toUpperCase()}${t.what.slice(1)}`;
  return `${what} in ${t.key ? 'the key ' : ''}${dottedPath(t.path)}: rsync cannot store it (PostgreSQL refuses it), so this delivery is refused; send it without`;
}

/**
 * The body, or 'too large' as soon as more than `max` bytes came (reading then stops: the caller answers 413 and
 * closes), or 'aborted' when the sender went away or Node cut a slow body off.
 */
function readBody(
  req: http.IncomingMessage,
  max: number,
  stats: ServerStats,
): Promise<Buffer | 'too large' | 'aborted'> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: Buffer | 'too large' | 'aborted') => {
      if (done) return;
      done = true;
      stats.maxBodyRead = Math.max(stats.maxBodyRead, size);
      resolve(v);
    };
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        req.pause();
        finish('too large');
      } else parts.push(c);
    });
    req.on('end', () => finish(Buffer.concat(parts)));
    req.on('error', () => finish('aborted'));
    req.on('close', () => finish('aborted'));
  });
}
