/** The registry's lookups by connector: a connector that receives no webhooks has no receiver and no signer. */
import { describe, expect, it } from 'vitest';
import { receiverFor, signFor } from './registry.js';
import { ctx, SECRET, wooOrder } from './testing.js';

describe('receiverFor and signFor', () => {
  it('has no receiver, and no signer, for a connector that receives no webhooks', () => {
    expect(receiverFor('netsuite', ctx({}))).toBeUndefined();
    expect(() => signFor('netsuite', SECRET, wooOrder)).toThrow(TypeError);
    expect(() => signFor('square', SECRET, wooOrder)).toThrow(/notificationUrl/);
  });
});

describe('what each connector that writes guarantees', () => {
  it('is declared by every plugin that opens a connection (README, "What each target guarantees")', async () => {
    const { PLUGINS } = await import('./plugins.js');
    // A connector that opens but has no entities (stripe reads only) writes nothing, so it guarantees nothing.
    const undeclared = PLUGINS.filter(
      (p) => p.open && Object.keys(p.spec.entities).length > 0 && !p.spec.writes && p.spec.name !== 'webhook',
    ).map((p) => p.spec.name);
    expect(undeclared).toEqual([]);
    const readme = (await import('node:fs')).readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const p of PLUGINS.filter((x) => x.spec.writes))
      expect(readme, `README lists ${p.spec.name}'s write guarantee`).toMatch(
        new RegExp(`\\| \`${p.spec.name}\` \\| ${p.spec.writes!.effect} \\|`),
      );
  });
});

describe('the webhook topics of each vendor', () => {
  it('are topics the vendor documents, each declaring its payload (topics.ts beside each spec, with the sources)', async () => {
    const { PLUGINS } = await import('./plugins.js');
    const documented: Record<string, readonly string[]> = {
      shopify: (await import('./shopify/topics.js')).documentedTopics,
      woocommerce: (await import('./woocommerce/topics.js')).documentedTopics,
      square: (await import('./square/topics.js')).documentedTopics,
      stripe: (await import('./stripe/topics.js')).documentedTopics,
    };
    for (const { spec } of PLUGINS) {
      const topics = Object.keys(spec.events);
      // A vendor's connector that receives webhooks needs its documented list; generic ones and the sandbox do not.
      if (topics.length && !spec.dynamic && spec.category !== 'sandbox')
        expect(Object.keys(documented), `${spec.name} has a documented topic list`).toContain(spec.name);
      for (const topic of topics) {
        const ev = spec.events[topic];
        if (documented[spec.name]) expect(documented[spec.name], `${spec.name} sends ${topic}`).toContain(topic);
        expect(['record', 'reference'], `${spec.name} ${topic} declares its payload`).toContain(ev.payload);
        expect(Object.keys(spec.streams), `${spec.name} ${topic} carries one of its streams`).toContain(ev.stream);
      }
    }
  });

  it('include what a retailer needs, and none that the vendor does not send', async () => {
    const { connectorSpec } = await import('./catalog.js');
    const events = (name: string) => Object.keys(connectorSpec(name)?.events ?? {});
    expect(events('shopify')).toEqual(
      expect.arrayContaining(['orders/updated', 'orders/cancelled', 'orders/edited', 'refunds/create']),
    );
    expect(events('shopify')).toEqual(expect.arrayContaining(['inventory_levels/update', 'products/delete']));
    expect(events('shopify')).not.toContain('orders/deleted'); // Shopify's topic is orders/delete
    expect(events('woocommerce')).not.toContain('order.refunded'); // WooCommerce has no refund topic
    expect(events('square')).toEqual(expect.arrayContaining(['refund.updated', 'catalog.version.updated']));
    expect(events('stripe')).toEqual(expect.arrayContaining(['payout.failed', 'payout.canceled', 'refund.updated']));
    // Square's order events name the order; Stripe's snapshot events carry the object.
    expect(connectorSpec('square')?.events['order.updated']).toEqual({ stream: 'orders', payload: 'reference' });
    expect(connectorSpec('stripe')?.events['charge.refunded']).toEqual({ stream: 'charges', payload: 'record' });
  });
});

describe('events that only notify', () => {
  it('are looked up by a runtime reader wherever a connector says it looks them up', async () => {
    const { PLUGINS } = await import('./plugins.js');
    const { ctx: contextOf } = await import('./testing.js');
    for (const { spec, open } of PLUGINS) {
      const references = Object.values(spec.events).filter((e) => e.payload === 'reference');
      if (!spec.lookup) continue;
      expect(references.length, `${spec.name} declares lookup but has no reference event`).toBeGreaterThan(0);
      expect(open, `${spec.name} declares lookup but opens no reader`).toBeDefined();
      // The reader it opens has the lookup (opening makes no request).
      const settings = Object.fromEntries(
        (spec.settings.required ?? []).map((k) => [
          k,
          k === 'shop' ? 'acme.myshopify.com' : k === 'url' ? 'https://shop.example' : 'x',
        ]),
      );
      const opened = open!(contextOf(settings)) as { lookup?: unknown; close?: () => unknown };
      expect(typeof opened.lookup, `${spec.name}'s reader has a lookup`).toBe('function');
      await opened.close?.();
    }
  });
});
