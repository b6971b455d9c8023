/**
 * WooCommerce webhooks: `X-WC-Webhook-Signature` is the base64 HMAC-SHA256 of the raw body, keyed with the
 * webhook's secret (`settings.webhookSecret`); the delivery id is `X-WC-Webhook-Delivery-ID`, the topic
 * `X-WC-Webhook-Topic`, and the body is the one record.
 */
import { randomUUID } from 'node:crypto';
import { bodyId, digest, header, payloadObject, signingSecret, topicHeader, verifyDigest } from '../receive.js';
import type { Receiver, SignatureScheme } from '../types.js';

const SCHEME: Required<SignatureScheme> = {
  header: 'X-WC-Webhook-Signature',
  algorithm: 'hmac-sha256',
  encoding: 'base64',
};

export const receiver: Receiver = {
  open: (ctx) => ({
    receive(d) {
      // WooCommerce pings a new webhook's URL once, unsigned, with the form body `webhook_id=<n>`, and only keeps
      // the webhook if the answer is 200. The ping carries no record, and one constant id makes every ping
      // (genuine or not) the same delivery, so an unsigned caller can neither inject data nor fill the table.
      if (
        header(d, SCHEME.header) === undefined &&
        d.body.length <= 64 &&
        /^webhook_id=\d+$/.test(d.body.toString('latin1'))
      ) {
        return { deliveryId: 'woocommerce-ping', topic: 'ping', records: [] };
      }
      const secret = signingSecret('woocommerce', ctx, 'webhookSecret', ctx.settings.webhookSecret);
      verifyDigest('woocommerce', d, SCHEME, secret, [d.body]);
      return {
        deliveryId: header(d, 'x-wc-webhook-delivery-id') ?? bodyId(d.body),
        topic: header(d, 'x-wc-webhook-topic'),
        records: [payloadObject('woocommerce', d.body)],
      };
    },
  }),
  sign: (secret, body, opts) => ({
    'content-type': 'application/json',
    'x-wc-webhook-signature': digest(SCHEME, secret, [body]),
    'x-wc-webhook-delivery-id': opts.deliveryId ?? randomUUID(),
    ...topicHeader('x-wc-webhook-topic', opts),
  }),
  // The bare record, with the headers WooCommerce's Hookshot sends: source, resource, event and webhook id.
  envelope: (record, e) => ({
    body: record,
    headers: {
      'x-wc-webhook-source': 'https://shop.rsync-sandbox.example/',
      'x-wc-webhook-resource': e.topic.split('.')[0],
      'x-wc-webhook-event': e.topic.split('.').slice(1).join('.'),
      'x-wc-webhook-id': '1',
      'user-agent': 'WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)',
    },
  }),
};
