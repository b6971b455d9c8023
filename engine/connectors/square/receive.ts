/**
 * Square webhooks: `x-square-hmacsha256-signature` is the base64 HMAC-SHA256, keyed with the subscription's
 * signature key (`settings.webhookSignatureKey`), of the notification URL followed by the raw body (see
 * `squareUrl`); the delivery id is the body's `event_id`, the topic its `type`, and the records are in
 * `data.object` (see `squareRecords`).
 */
import { isObject } from '../../util/merge.js';
import {
  digest,
  header,
  notConfigured,
  optionalString,
  payloadObject,
  requiredString,
  signingSecret,
  stableUuid,
  verifyDigest,
} from '../receive.js';
import type { ConnectorContext, Delivery, Receiver, SignatureScheme } from '../types.js';

const SCHEME: Required<SignatureScheme> = {
  header: 'x-square-hmacsha256-signature',
  algorithm: 'hmac-sha256',
  encoding: 'base64',
};

export const receiver: Receiver = {
  open: (ctx, opts) => ({
    receive(d) {
      const secret = signingSecret('square', ctx, 'webhookSignatureKey', ctx.settings.webhookSignatureKey);
      const url = squareUrl(ctx, d, opts.publicUrl);
      verifyDigest('square', d, SCHEME, secret, [url, d.body], ` (the signed URL was ${url})`);
      const event = payloadObject('square', d.body);
      return {
        deliveryId: requiredString('square', event, 'event_id'),
        topic: optionalString(event.type),
        records: squareRecords(event),
      };
    },
  }),
  sign(secret, body, opts) {
    if (!opts.notificationUrl)
      throw new TypeError('signFor square: opts.notificationUrl is required (Square signs the URL with the body)');
    return {
      'content-type': 'application/json',
      'x-square-hmacsha256-signature': digest(SCHEME, secret, [opts.notificationUrl, body]),
    };
  },
  /**
   * Square's event: `{ merchant_id, type, event_id, created_at, data: { type, id, object: { <type>: record } } }`.
   * Square's order.created and order.updated carry only a reference (`order_updated`: id, state, version), which
   * the sandbox cannot be asked for: its simulated order events carry the order itself, as `data.object.order`.
   */
  envelope: (record, e) => {
    const type = e.topic.split('.')[0];
    return {
      body: {
        merchant_id: 'MLSANDBOX0RSYNC',
        type: e.topic,
        event_id: stableUuid(`square event ${e.id}`),
        created_at: e.at.toISOString(),
        data: { type, id: record.id, object: { [type]: record } },
      },
      headers: { 'user-agent': 'Square Connect v2', 'square-version': '2025-01-23' },
    };
  },
};

/**
 * The notification URL Square signed: exactly the URL of the webhook subscription. The catalogue has no setting
 * for it yet, so it is, in order: `settings.notificationUrl` when a connection has one (the exact URL, query
 * included); else the public base URL (`opts.publicUrl`, else the RSYNC_PUBLIC_URL environment variable) followed
 * by the path and query as received; else the URL the request itself names (X-Forwarded-Proto / X-Forwarded-Host
 * or Host, https by default since Square only delivers to https). Trusting the Host header is safe here: the URL
 * only has to equal what Square signed, and nobody without the signature key can sign another one. A wrong URL
 * shows in the refusal's message.
 */
function squareUrl(ctx: ConnectorContext, d: Delivery, publicUrl: string | undefined): string {
  const configured = ctx.settings.notificationUrl;
  if (typeof configured === 'string' && configured !== '') return configured;
  const base = publicUrl ?? process.env.RSYNC_PUBLIC_URL;
  if (base) return base.replace(/\/+$/, '') + d.url;
  const host = header(d, 'x-forwarded-host') ?? header(d, 'host');
  if (!host)
    throw notConfigured(
      'square',
      'the notification URL is unknown: set RSYNC_PUBLIC_URL to the public base URL of this server',
    );
  const proto = header(d, 'x-forwarded-proto')?.split(',')[0].trim() ?? 'https';
  return `${proto}://${host.split(',')[0].trim()}${d.url}`;
}

/**
 * A Square event's records. `data.object` wraps the record under its type (`{ refund: {…} }`, `{ payment: {…} }`,
 * `{ order_updated: {…} }`), or a list (`{ inventory_counts: [...] }`): the single inner value is the record, or
 * the list's items are. Anything else is taken whole. Events without an object (webhooks.test_notification) carry
 * no record, and are accepted so that the dashboard's test button succeeds.
 */
function squareRecords(event: Record<string, unknown>): unknown[] {
  const data = event.data;
  if (!isObject(data) || !isObject(data.object)) return [];
  const keys = Object.keys(data.object);
  if (keys.length === 1) {
    const inner = data.object[keys[0]];
    if (Array.isArray(inner)) return inner;
    if (isObject(inner)) return [inner];
  }
  return [data.object];
}
