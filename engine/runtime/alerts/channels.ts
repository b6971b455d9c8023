/**
 * Sending one message to one channel, and what the channel answered: sent, worth another try (a 5xx, a 429 with
 * its Retry-After, a refused or reset connection, a timeout, a secret not set yet) or refused for good (any other
 * 4xx: Slack's invalid_payload or no_service, PagerDuty's 400, an SMTP 5xx such as 535 authentication failed).
 * Secrets are resolved here, at the moment of sending, and never appear in an answer.
 *
 *   slack      POST the incoming webhook URL (a secret) with text and blocks; Slack answers 200 "ok"
 *   webhook    POST the message as JSON; with `secret`, X-Rsync-Timestamp and X-Rsync-Signature: hex HMAC-SHA256 of
 *              `<timestamp>.<body>` (a receiver refuses old timestamps: a replayed request is refused)
 *   pagerduty  POST Events API v2 (trigger, or resolve of the same dedup_key); PagerDuty answers 202
 *   email      SMTP through nodemailer (STARTTLS when offered, AUTH with username and password)
 */
import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import { networkCode, parseRetryAfter } from '../../connectors/kit/errors.js';
import { prefetchSecrets } from '../../connectors/secret-managers/cache.js';
import { isSecretRef, redact, resolveSecret } from '../../connectors/secrets.js';
import { DEFAULTS } from '../../model/generated/defaults.js';
import type { Channel } from './model.js';
import { type AlertMessage, emailContent, pagerDutyBody, slackBody } from './render.js';

export interface Answer {
  outcome: 'sent' | 'retry' | 'refused';
  /** What the channel said, short and without secrets: "200 ok", "429 Retry-After 1", "ECONNREFUSED". */
  answer: string;
  retryAfterMs?: number;
}

export interface SendOptions {
  /** Resolves `{ secretRef }` (default: the environment and the secrets folder). */
  secret?: (ref: unknown) => string;
  timeoutMs?: number;
  /** The delivery's id, sent as X-Rsync-Delivery to a webhook (the same on every retry: a receiver drops repeats). */
  deliveryId?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export async function send(channel: Channel, m: AlertMessage, o: SendOptions = {}): Promise<Answer> {
  const secret = o.secret ?? resolveSecret;
  try {
    const t = channel.target;
    if (!o.secret) await prefetchSecrets(t); // a secret manager's values, fetched before they are resolved
    switch (channel.type) {
      case 'slack':
        return await post(secret(t.url), slackBody(m), {}, o);
      case 'pagerduty': {
        const url = typeof t.url === 'string' ? t.url : DEFAULTS.PagerDutyChannel.url!;
        return await post(url, pagerDutyBody(m, secret(t.routingKey)), {}, o);
      }
      case 'webhook': {
        const url = isSecretRef(t.url) ? secret(t.url) : String(t.url);
        const body = JSON.stringify(m);
        const headers: Record<string, string> = { 'x-rsync-event': m.event };
        if (o.deliveryId !== undefined) headers['x-rsync-delivery'] = String(o.deliveryId);
        if (t.secret !== undefined) {
          const ts = String(Math.floor(Date.now() / 1000));
          headers['x-rsync-timestamp'] = ts;
          headers['x-rsync-signature'] = createHmac('sha256', secret(t.secret)).update(`${ts}.${body}`).digest('hex');
        }
        return await post(url, body, headers, o);
      }
      case 'email':
        return await mail(channel.target, m, secret, o);
    }
  } catch (e) {
    // A secret not set (yet) or unreadable: the configuration may be fixed, so it is tried again.
    return { outcome: 'retry', answer: redact((e as Error).message ?? String(e)).slice(0, 300) };
  }
}

async function post(url: string, body: unknown, headers: Record<string, string>, o: SendOptions): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'rsync-alerts/1', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (e) {
    const name = (e as Error).name;
    return { outcome: 'retry', answer: name === 'TimeoutError' ? 'timed out' : networkCode(e) };
  }
  const text = redact((await res.text().catch(() => '')).replace(/\s+/g, ' ').trim()).slice(0, 200);
  const answer = `${res.status}${text ? ` ${text}` : ''}`;
  if (res.ok) return { outcome: 'sent', answer };
  if (res.status === 429 || res.status === 408 || res.status >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    return {
      outcome: 'retry',
      answer: retryAfterMs !== undefined ? `${answer} (Retry-After ${res.headers.get('retry-after')})` : answer,
      retryAfterMs,
    };
  }
  return { outcome: 'refused', answer };
}

async function mail(
  t: Record<string, unknown>,
  m: AlertMessage,
  secret: (ref: unknown) => string,
  o: SendOptions,
): Promise<Answer> {
  const timeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const transport = nodemailer.createTransport({
    host: String(t.host),
    port: typeof t.port === 'number' ? t.port : DEFAULTS.EmailChannel.port,
    secure: t.secure === true,
    auth:
      typeof t.username === 'string'
        ? { user: t.username, pass: t.password !== undefined ? secret(t.password) : '' }
        : undefined,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const to = Array.isArray(t.to) ? t.to.map(String) : [];
  try {
    const info = await transport.sendMail({ from: String(t.from), to, ...emailContent(m) });
    return { outcome: 'sent', answer: redact(String(info.response ?? 'accepted')).slice(0, 200) };
  } catch (e) {
    const err = e as { responseCode?: number; code?: string; response?: string; message?: string };
    const answer = redact(err.response ?? err.code ?? err.message ?? String(e)).slice(0, 200);
    // SMTP: 4xx replies are transient, 5xx permanent; no reply at all (refused, reset, timed out) is tried again.
    if (typeof err.responseCode === 'number')
      return { outcome: err.responseCode >= 500 ? 'refused' : 'retry', answer: `${err.responseCode} ${answer}` };
    return { outcome: err.code === 'EAUTH' ? 'refused' : 'retry', answer };
  } finally {
    transport.close();
  }
}
