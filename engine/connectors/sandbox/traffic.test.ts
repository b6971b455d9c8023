/**
 * The sandbox's simulated traffic, without a database: each vendor's envelope (Receiver.envelope) signed as that
 * vendor with the sandbox's secret is received by the connection in sandbox mode (openConnector with sandbox: true)
 * as the record it wraps, with the vendor's topic and a delivery id that is the same when it is sent again; and
 * varySample makes every identifying field of a copy unique while its amounts stay exactly as they were.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../util/paths.js';
import { envelopeFor, openConnector, signFor } from '../registry.js';
import { varySample } from './connector.js';
import { SANDBOX_WEBHOOK_SECRET } from './receive.js';

const fixture = (rel: string) =>
  JSON.parse(readFileSync(path.join(projectRoot(), 'test', 'fixtures', rel), 'utf8')) as Record<string, unknown>;

const order = { id: 4711, total: '12.00', email: 'jane@example.com', lines: [{ id: 1, price: '12.00' }] };

describe('simulated deliveries as each vendor sends them', () => {
  const at = new Date('2026-11-02T10:00:00Z');
  const cases = [
    { connector: 'shopify', topic: 'orders/create', header: 'x-shopify-shop-domain' },
    { connector: 'woocommerce', topic: 'order.created', header: 'x-wc-webhook-source' },
    { connector: 'square', topic: 'refund.created', header: 'square-version' },
    { connector: 'stripe', topic: 'payout.paid', header: 'user-agent' },
  ];
  for (const c of cases) {
    it(`${c.connector}: its envelope and headers, received in sandbox mode as the record`, () => {
      const id = `acme/flow/orders#7:create`;
      const url = '/hooks/acme/orders';
      const conn = openConnector({
        system: 'acme/shop',
        connector: c.connector,
        settings: {},
        state: {} as pg.Pool,
        sandbox: true,
      });
      /** The delivery as simulate.ts sends it, received by the connection. */
      const deliver = () => {
        const e = envelopeFor(c.connector, order, { topic: c.topic, id, at });
        const body = Buffer.from(JSON.stringify(e.body));
        const signed = signFor(e.connector, SANDBOX_WEBHOOK_SECRET, body, {
          topic: c.topic,
          deliveryId: id,
          notificationUrl: `https://127.0.0.1:4000${url}`,
        });
        return { e, got: conn.receive!({ body, headers: { ...e.headers, ...signed, host: '127.0.0.1:4000' }, url }) };
      };
      const { e, got } = deliver();
      expect(e.connector).toBe(c.connector);
      expect(e.headers[c.header]).toBeDefined();
      expect(got).toMatchObject({ topic: c.topic, records: [order] });
      // The same delivery sent again is the same delivery (a sender's retry): its id is derived, not random.
      expect(deliver().got.deliveryId).toBe(got.deliveryId);
      if (c.connector === 'square')
        expect(e.body).toMatchObject({ type: 'refund.created', data: { object: { refund: order } } });
      if (c.connector === 'stripe') expect(e.body).toMatchObject({ object: 'event', data: { object: order } });
      if (c.connector === 'shopify') expect(e.body).toEqual(order);
    });
  }

  it('a connector without an envelope (http) is received as a generic sandbox sender', () => {
    expect(envelopeFor('http', order, { topic: 'sale', id: 'x', at })).toEqual({
      connector: 'sandbox',
      body: order,
      headers: {},
    });
  });
});

describe('varySample', () => {
  it('varies every identifying field of a Shopify order and keeps its money', () => {
    const sample = fixture('shopify-webhooks/orders_create.json');
    const body = (sample.response ?? sample) as Record<string, unknown>;
    const a = varySample(body, 1, new Date());
    const b = varySample(body, 2, new Date());
    for (const k of ['id', 'admin_graphql_api_id', 'name', 'order_number'])
      if (k in body) expect([k, a[k]]).not.toEqual([k, b[k]]);
    const lineIds = (r: Record<string, unknown>) => (r.line_items as { id: unknown }[]).map((l) => l.id);
    expect(new Set(lineIds(a)).size).toBe(lineIds(body).length); // siblings stay distinct
    expect(lineIds(a)).not.toEqual(lineIds(b));
    if (typeof body.email === 'string' && body.email.includes('@')) expect(a.email).not.toBe(b.email);
    const money = (r: Record<string, unknown>) =>
      JSON.stringify(r, (k, v) =>
        /price|total|amount|tax/.test(k) || typeof v === 'object' || k === '' ? v : undefined,
      );
    expect(money(a)).toBe(money(body));
  });
});
