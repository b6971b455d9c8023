/**
 * Shopify webhooks: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body, keyed with the app's secret
 * (`settings.webhookSecret`); the delivery id is `X-Shopify-Webhook-Id` (else `X-Shopify-Event-Id`), the topic
 * `X-Shopify-Topic`, and the body is the one record. Its 64-bit ids survive parsing (parseJsonLossless).
 */
import { randomUUID } from 'node:crypto';
import {
  bodyId,
  digest,
  header,
  payloadObject,
  signingSecret,
  stableUuid,
  topicHeader,
  verifyDigest,
} from '../receive.js';
import type { Receiver, SignatureScheme } from '../types.js';

const SCHEME: Required<SignatureScheme> = {
  header: 'X-Shopify-Hmac-Sha256',
  algorithm: 'hmac-sha256',
  encoding: 'base64',
};

export const receiver: Receiver = {
  open: (ctx) => ({
    receive(d) {
      const secret = signingSecret('shopify', ctx, 'webhookSecret', ctx.settings.webhookSecret);
      verifyDigest('shopify', d, SCHEME, secret, [d.body]);
      return {
        // The webhook id names one delivery and is kept across its retries; the event id names the event, the
        // same in the delivery of every subscription to it. Dedupe is per delivery, so the event id only stands in.
        deliveryId: header(d, 'x-shopify-webhook-id') ?? header(d, 'x-shopify-event-id') ?? bodyId(d.body),
        topic: header(d, 'x-shopify-topic'),
        records: [payloadObject('shopify', d.body)],
      };
    },
  }),
  sign: (secret, body, opts) => ({
    'content-type': 'application/json',
    'x-shopify-hmac-sha256': digest(SCHEME, secret, [body]),
    'x-shopify-webhook-id': opts.deliveryId ?? randomUUID(),
    ...topicHeader('x-shopify-topic', opts),
  }),
  // The bare record, with the headers Shopify sends beside the signature, the webhook id and the topic.
  envelope: (record, e) => ({
    body: record,
    headers: {
      'x-shopify-shop-domain': 'rsync-sandbox.myshopify.com',
      'x-shopify-api-version': '2025-01',
      'x-shopify-triggered-at': e.at.toISOString(),
      'x-shopify-event-id': stableUuid(`shopify event ${e.id}`),
      'user-agent': 'Shopify-Captain-Hook',
    },
  }),
};
