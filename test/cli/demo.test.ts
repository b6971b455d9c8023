/**
 * `rsync demo` end to end with the built CLI on a fresh PostgreSQL database: the example workspace (at HEAD) applied,
 * webhooks sent as each vendor sends them, and the numbers explained — every filtered record under the reason its
 * mapping gave, and no dead letter (the samples a flow would dead-letter are left out of the traffic).
 */
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
  });
});
