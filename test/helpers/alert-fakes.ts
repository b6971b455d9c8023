/**
 * Fakes of the alert channels' vendors, on 127.0.0.1 (a free port each), behaving as their documentation says,
 * with switches for the failures the tests cause. Each keeps every request it accepted.
 *
 * Slack incoming webhooks — https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks (the "Handling
 * errors" table) and https://docs.slack.dev/apis/web-api/rate-limits ("Incoming webhooks": 1 message per second, a
 * 429 with Retry-After beyond it): POST a JSON body with `text` (or `blocks`) to the webhook's secret URL
 * /services/T…/B…/<token>; 200 with the plain text body `ok`; 400 `invalid_payload` for a body that is not JSON,
 * 400 `no_text` for one with neither text nor blocks; 404 `no_service` for a URL that is no webhook (revoked, or
 * mistyped: the token is the credential); 429 `rate_limited` with Retry-After when throttled.
 *
 * PagerDuty Events API v2 — https://developer.pagerduty.com/docs/events-api-v2/overview and …/trigger-events
 * (PagerDuty/developer-docs, docs/events-API-v2/01-Overview.md and 02-Trigger-Events.md): POST /v2/enqueue with a
 * 32-character routing_key, event_action trigger | acknowledge | resolve, a dedup_key of at most 255 characters
 * (required to resolve), and for a trigger payload.summary (≤ 1024 characters), payload.source and payload.severity
 * (critical, error, warning, info); 202 `{ status: "success", message: "Event processed", dedup_key }`; 400
 * `{ status: "invalid event", message, errors }` for a bad payload or routing key; 429 when too many events arrive;
 * payloads at most 512 KB.
 *
 * SMTP — the smtp-server package (https://nodemailer.com/extras/smtp-server/): a real SMTP server with AUTH PLAIN
 * and LOGIN (authOptional false: a MAIL FROM before AUTH is refused with 530), credentials checked (535 on a wrong
 * password), STARTTLS disabled so AUTH runs over plain TCP on loopback (allowInsecureAuth), and a size limit (552).
 *
 * A generic webhook receiver: verifies X-Rsync-Signature (hex HMAC-SHA256 of `<X-Rsync-Timestamp>.<body>`, within
 * five minutes) and answers 401 otherwise.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: Record<string, unknown>;
}

interface HttpFake {
  url: string;
  received: Received[];
  /** Answer the next n requests 429 with Retry-After: `retryAfter` seconds. */
  throttle(n: number, retryAfter?: number): void;
  /** Every request answered, accepted or not, with its status. */
  answers: number[];
  close(): Promise<void>;
}

/** Listen on a free port of 127.0.0.1; its number. */
export async function listenLocal(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function httpFake(
  limit: number,
  handle: (r: Received) => { status: number; body: string; type?: string; accepted?: boolean },
  throttleBody: string,
): Promise<HttpFake> {
  const received: Received[] = [];
  const answers: number[] = [];
  let throttled = 0;
  let retryAfter = 1;
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req, limit);
    const reply = (status: number, text: string, type = 'text/plain', extra: Record<string, string> = {}) => {
      answers.push(status);
      res.writeHead(status, { 'content-type': type, ...extra }).end(text);
    };
    if (req.method !== 'POST') return reply(405, 'method_not_allowed');
    if (body === undefined) return reply(413, 'payload_too_large');
    if (throttled > 0) {
      throttled--;
      return reply(429, throttleBody, 'application/json', { 'retry-after': String(retryAfter) });
    }
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(body) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    const r: Received = { path: req.url ?? '/', headers: req.headers, body, json };
    const a = handle(r);
    if (a.accepted) received.push(r);
    reply(a.status, a.body, a.type);
  });
  return {
    url: `http://127.0.0.1:${await listenLocal(server)}`,
    received,
    answers,
    throttle(n, s = 1) {
      throttled = n;
      retryAfter = s;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Slack: the webhook URL is `<url>/services/<path>`; any other path is no_service. */
export async function fakeSlack(
  path = 'T0FAKE001/B0FAKE001/planted0slack0token0abc',
): Promise<HttpFake & { hook: string }> {
  const f = await httpFake(
    1024 * 1024,
    (r) => {
      if (r.path !== `/services/${path}`) return { status: 404, body: 'no_service' };
      if (!r.json) return { status: 400, body: 'invalid_payload' };
      if (typeof r.json.text !== 'string' && !Array.isArray(r.json.blocks)) return { status: 400, body: 'no_text' };
      return { status: 200, body: 'ok', type: 'text/html', accepted: true };
    },
    'rate_limited',
  );
  return { ...f, hook: `${f.url}/services/${path}` };
}

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

/** PagerDuty Events API v2 at `<url>/v2/enqueue`, taking one routing key. */
export async function fakePagerDuty(routingKey: string): Promise<HttpFake & { enqueue: string }> {
  const invalid = (...errors: string[]) => ({
    status: 400,
    type: 'application/json',
    body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }),
  });
  const f = await httpFake(
    512 * 1024,
    (r) => {
      if (r.path !== '/v2/enqueue') return { status: 404, body: 'Not Found' };
      const e = r.json;
      if (!e) return invalid('Malformed JSON');
      if (e.routing_key !== routingKey || String(e.routing_key).length !== 32) return invalid('Invalid routing key');
      const action = e.event_action;
      if (action !== 'trigger' && action !== 'acknowledge' && action !== 'resolve')
        return invalid("'event_action' is invalid");
      const dedup = e.dedup_key;
      if (dedup !== undefined && (typeof dedup !== 'string' || dedup.length > 255))
        return invalid("'dedup_key' is invalid");
      if (action !== 'trigger' && typeof dedup !== 'string') return invalid("'dedup_key' is missing");
      if (action === 'trigger') {
        const p = e.payload as Record<string, unknown> | undefined;
        if (!p || typeof p.summary !== 'string' || !p.summary || p.summary.length > 1024)
          return invalid("'payload.summary' is missing or too long");
        if (typeof p.source !== 'string' || !p.source) return invalid("'payload.source' is missing");
        if (!SEVERITIES.has(String(p.severity))) return invalid("'payload.severity' is invalid");
      }
      return {
        status: 202,
        type: 'application/json',
        body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: dedup ?? 'generated' }),
        accepted: true,
      };
    },
    JSON.stringify({ status: 'throttle event', message: 'Requests for this service are arriving too quickly.' }),
  );
  return { ...f, enqueue: `${f.url}/v2/enqueue` };
}

/** A webhook receiver that checks the signature with `key`. */
export async function fakeReceiver(key: string): Promise<HttpFake> {
  return httpFake(
    1024 * 1024,
    (r) => {
      const ts = String(r.headers['x-rsync-timestamp'] ?? '');
      const sig = Buffer.from(String(r.headers['x-rsync-signature'] ?? ''), 'hex');
      const want = createHmac('sha256', key).update(`${ts}.${r.body}`).digest();
      const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
      if (!fresh || sig.length !== want.length || !timingSafeEqual(sig, want))
        return { status: 401, body: 'bad signature' };
      return { status: 204, body: '', accepted: true };
    },
    'slow down',
  );
}

export interface Mail {
  from: string;
  to: string[];
  user: string;
  raw: string;
}

export interface SmtpFake {
  port: number;
  mails: Mail[];
  /** Refused AUTH attempts. */
  refused: number;
  close(): Promise<void>;
}

export async function fakeSmtp(user: string, password: string): Promise<SmtpFake> {
  const mails: Mail[] = [];
  const state = { refused: 0 };
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    size: 1024 * 1024,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user: auth.username });
      state.refused++;
      return cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: String(session.user),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  const port = await listenLocal(server.server);
  return {
    port,
    mails,
    get refused() {
      return state.refused;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A mail's text as a reader sees it: quoted-printable and base64 parts decoded. */
export function mailText(raw: string): string {
  const qp = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  const b64 = [...raw.matchAll(/\r?\n\r?\n([A-Za-z0-9+/=\r\n]{40,})/g)].map((m) =>
    Buffer.from(m[1].replace(/\s+/g, ''), 'base64').toString('utf8'),
  );
  return [Buffer.from(qp, 'latin1').toString('utf8'), ...b64].join('\n');
}
