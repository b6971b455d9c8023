/**
 * `rsync demo` end to end with the built CLI on a fresh PostgreSQL database: the example workspace (at HEAD) applied,
 * webhooks sent as each vendor sends them, and the numbers explained — every filtered record under the reason its
 * mapping gave, and no dead letter (the samples a flow would dead-letter are left out of the traffic). The staging
 * connections of WooCommerce, Square and Stripe are served by their real connectors against their fakes on
 * 127.0.0.1 (engine/runtime/fakes.ts): what those flows read came from the fakes (the sandbox holds no record of
 * those systems) and what they wrote landed there (the ledger holds the vendors' own ids).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProblem, ROOT, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { ACTOR } from '../helpers/runtime.js';

describe('rsync demo', { timeout: 180_000 }, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/demo.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('cli_demo');
  });

  afterAll(async () => {
    await db?.drop();
  });

  const demo = (...more: string[]) =>
    runCli(['demo', '--records', '5', '--for', '60s', '--ref', 'HEAD', ...more], ROOT, { url: db.url, actor: ACTOR });

  it("prints each flow's filter reasons, vendor-shaped webhooks and no dead letters", async () => {
    const r = await demo();
    expect(r.status, show(r)).toBe(0);
    const out = r.stdout;
    expect(out).toContain('webhooks as their vendors send them (envelope, headers, signature)');
    for (const topic of [
      'shopify orders/create',
      'shopify refunds/create',
      'square refund.updated',
      'shopify orders/updated',
      'shopify orders/cancelled',
      'woocommerce order.created',
    ])
      expect(out).toMatch(new RegExp(`\\d+ × ${topic.replace('.', '\\.')}`));
    expect(out).toContain("filtered, by the mapping's reason (a rule of the mapping, not a loss):");
    const reasons = out
      .slice(out.indexOf("filtered, by the mapping's reason"), out.indexOf('5. Status'))
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/))
      .filter((c) => c.length === 3 && /^\d+$/.test(c[1]));
    const reasonOf = new Map(reasons.map(([flow, , reason]) => [`${flow} ${reason}`, true]));
    for (const want of [
      'northwind/orders-to-erp test order',
      'northwind/payouts-to-erp cancelled payout',
      'contoso/pos-orders-to-erp order not completed (OPEN)',
      'northwind/pos-prices inactive item',
    ])
      expect(reasonOf.has(want), `${want}\n${out}`).toBe(true);
    expect(
      reasons.some(([, , reason]) => reason === '(no reason given)'),
      out,
    ).toBe(false);

    // Through the real connectors, from and to their fakes.
    for (const [flow, how, connector] of [
      ['contoso/refunds-to-erp', 'read from', 'woocommerce'],
      ['contoso/pos-orders-to-erp', 'read from', 'square'],
      ['northwind/payouts-to-erp', 'read from', 'stripe'],
      ['contoso/storefront-inventory-levels', 'written to', 'woocommerce'],
      ['contoso/products-to-storefront', 'written to', 'woocommerce'],
      ['contoso/pos-inventory-levels', 'written to', 'square'],
      ['northwind/prices-to-storefront', 'written to', 'shopify'],
      ['northwind/products-to-storefront', 'written to', 'shopify'],
    ])
      expect(out, out).toMatch(
        new RegExp(
          `${flow}: [1-9]\\d* records ${how} the fake at http://127\\.0\\.0\\.1:\\d+ by the ${connector} connector`,
        ),
      );
    expect(out).toMatch(/contoso\/orders-to-erp: [1-9]\d* webhooks verified and received by the woocommerce connector/);
    expect(out).toMatch(/northwind\/orders-to-erp: [1-9]\d* webhooks verified and received by the shopify connector/);
    expect(out).toMatch(/every other connection: the sandbox connector/);

    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      // The sources of those flows were the fakes: the sandbox holds no record of these systems.
      const sandbox = await pool.query(`SELECT count(*)::int AS n FROM rsync_sandbox.records WHERE system = ANY($1)`, [
        ['contoso/woocommerce', 'contoso/square', 'northwind/stripe', 'northwind/shopify'],
      ]);
      expect(sandbox.rows[0].n).toBe(0);
      // …and their records reached the ERP (a sandbox system) through the ledger.
      const ledger = async (address: string, target: string) =>
        (
          await pool.query<{ target_id: string }>(
            `SELECT target_id FROM rsync.ledger WHERE env = 'staging' AND address = $1 AND target = $2`,
            [address, target],
          )
        ).rows.map((r) => r.target_id);
      expect((await ledger('contoso/flow/refunds-to-erp', 'contoso/business-central')).length).toBeGreaterThan(0);
      expect((await ledger('contoso/flow/pos-orders-to-erp', 'contoso/business-central')).length).toBeGreaterThan(0);
      expect((await ledger('northwind/flow/payouts-to-erp', 'northwind/netsuite')).length).toBeGreaterThan(0);
      // What was written to the fakes carries the vendor's ids: a WooCommerce product id (a number), a Square
      // item variation at the connection's staging location — not a sandbox id (PR-00000001).
      const woo = await ledger('contoso/flow/storefront-inventory-levels', 'contoso/woocommerce');
      expect(woo.length).toBeGreaterThan(0);
      for (const id of woo) expect(id).toMatch(/^\d+$/);
      const square = await ledger('contoso/flow/pos-inventory-levels', 'contoso/square');
      expect(square.length).toBeGreaterThan(0);
      for (const id of square) expect(id).toMatch(/@LSBX0DUBLIN01$/);
      // Nothing was written to the sandbox in these systems' place.
      const writes = await pool.query(`SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE system = ANY($1)`, [
        ['contoso/woocommerce', 'contoso/square', 'northwind/stripe', 'northwind/shopify'],
      ]);
      expect(writes.rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('--json: the filtered records by flow and reason add up to the filtered count; nothing is dead', async () => {
    const r = await demo('--json');
    expect(r.status, show(r)).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.synced.dead).toBe(0);
    expect(j.synced.read).toBe(j.synced.written + j.synced.unchanged + j.synced.filtered + j.synced.dead);
    const byReason = Object.values(j.synced.filteredBy as Record<string, Record<string, number>>).flatMap((r) =>
      Object.values(r),
    );
    expect(byReason.reduce((a, b) => a + b, 0)).toBe(j.synced.filtered);
    // The test order is sent as created and, the flow taking its lifecycle, edited or cancelled too.
    const orders = j.synced.filteredBy['northwind/flow/orders-to-erp'] as Record<string, number>;
    expect(Object.keys(orders)).toEqual(['test order']);
    expect(orders['test order']).toBeGreaterThanOrEqual(1);
    // The real connectors' systems, each with its fake's URL and the requests it answered; nothing else in stdout.
    const real = j.real as { system: string; connector: string; url: string; requests: number }[];
    expect(real.map((r) => `${r.system} ${r.connector}`).sort()).toEqual([
      'contoso/square square',
      'contoso/woocommerce woocommerce',
      'northwind/shopify shopify',
      'northwind/stripe stripe',
    ]);
    for (const r of real) {
      expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(r.requests).toBeGreaterThan(0);
    }
  });
});
