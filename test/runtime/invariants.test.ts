/**
 * The canonical invariants at run time: a deliberately wrong mapping — an order total that leaves out the tax, a
 * payout journal that forgets the fee line — is caught where records are mapped. The records that break a rule
 * are dead-lettered with the rule, the fields and the amounts in the reason, and never reach the target; the
 * records that add up are written. `rsync dlq show` prints the reason as it is kept. A run that dead-lettered
 * some records reads "succeeded with N dead-lettered", and one that dead-lettered every record it read is not a
 * success at all for `rsync run --wait` (exit 1) — issue 21: such runs showed a plain "succeeded".
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, cli, ENV, runtimeWorkspace, SANDBOX_SYSTEMS, seed, withWorker } from '../helpers/runtime.js';

/** Cents → a decimal string, in the mapping (JSONata): integer arithmetic, then formatted. */
const MONEY = `$money := function($c) { $formatNumber($c / 100, '0.00') };`;

/** Wrong on purpose: the total is the lines alone, the tax is listed but not added. */
const ORDER_MAPPING = `(
  ${MONEY}
  $lines := [lines.{ 'sku': sku, 'quantity': qty, 'unitPrice': $money(price_cents), 'total': $money(qty * price_cents) }];
  $sub := $sum(lines.(qty * price_cents));
  {
    'externalId': $string(id),
    'createdAt': updated_at,
    'currency': 'USD',
    'lines': $lines,
    'subtotal': $money($sub),
    'taxTotal': $money(tax_cents),
    'total': $money($sub)
  }
)`;

/** Wrong on purpose: the bank is debited the net, the clearing account credited the gross, the fee left out. */
const JOURNAL_MAPPING = `(
  ${MONEY}
  {
    'externalId': $string(id),
    'date': $substring(updated_at, 0, 10),
    'currency': 'EUR',
    'lines': [
      { 'account': '1010', 'debit': $money(gross_cents - fee_cents) },
      { 'account': '1150', 'credit': $money(gross_cents) }
    ]
  }
)`;

describe('canonical invariants at run time', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/worker.ts', 'cli/commands/dlq/show.ts', 'cli/commands/run.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_invariants');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test runtime-invariants' });
    dir = runtimeWorkspace('rsync-invariants-', {
      connections: SANDBOX_SYSTEMS,
      flows: [
        {
          name: 'orders',
          source: { connection: 'shop', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          mapping: ORDER_MAPPING,
          canonical: 'order',
          key: "'order-' & $string(id)",
        },
        {
          name: 'payouts',
          source: { connection: 'shop', stream: 'payouts' },
          target: { connection: 'erp', entity: 'journalEntry' },
          mapping: JOURNAL_MAPPING,
          canonical: 'journalEntry',
          key: "'payout-' & $string(id)",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const at = '2026-11-02T10:00:00Z';
    // Orders 1 and 3 have no tax: the wrong total is right for them. Order 2 has 1.60 of tax.
    await seed(pool, 'acme/shop', 'orders', [
      { id: 1, updated_at: at, tax_cents: 0, lines: [{ sku: 'A', qty: 2, price_cents: 1000 }] },
      { id: 2, updated_at: at, tax_cents: 160, lines: [{ sku: 'B', qty: 1, price_cents: 2000 }] },
      { id: 3, updated_at: at, tax_cents: 0, lines: [{ sku: 'C', qty: 3, price_cents: 333 }] },
    ]);
    // Payout 11 has no fee (balanced by luck); payout 12 has a 2.90 fee.
    await seed(pool, 'acme/shop', 'payouts', [
      { id: 11, updated_at: at, gross_cents: 5000, fee_cents: 0 },
      { id: 12, updated_at: at, gross_cents: 10000, fee_cents: 290 },
    ]);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('dead-letters what does not add up, with the amounts, and writes the rest', async () => {
    await withWorker(dir, db.url, pool, async (w) => {
      for (const [flow, dead] of [
        ['acme/orders', 1],
        ['acme/payouts', 1],
      ] as const) {
        const r = await cli(dir, db.url, 'run', flow, '--env', ENV, '--wait');
        expect(r.status, show(r) + w.output).toBe(0);
        const why = (await pool.query(`SELECT key, error FROM rsync.dead_letters`)).rows;
        expect(r.stdout, show(r) + JSON.stringify(why, null, 1)).toContain(`dead-lettered ${dead}`);
      }
    });

    const written = await pool.query(`SELECT entity, key FROM rsync_sandbox.writes ORDER BY entity, key`);
    expect(written.rows).toEqual([
      { entity: 'journalEntry', key: 'payout-11' },
      { entity: 'salesOrder', key: 'order-1' },
      { entity: 'salesOrder', key: 'order-3' },
    ]);

    const letters = (await pool.query(`SELECT id, key, stage, error FROM rsync.dead_letters ORDER BY key`)).rows;
    expect(letters.map((l) => [l.key, l.stage])).toEqual([
      ['order-2', 'check'],
      ['payout-12', 'check'],
    ]);
    expect(letters[0].error).toBe(
      'breaks the canonical order invariants: order.total at total: the total is the lines + shipping + other charges + taxes (discounts are already in the lines and the shipping): total is 20.00, but Σ lines[].total 20.00 + shippingTotal 0 + chargesTotal 0 + taxTotal 1.60 = 21.60 (off by -1.60 USD)',
    );
    expect(letters[1].error).toBe(
      'breaks the canonical journalEntry invariants: journalEntry.balanced at (record): the debits equal the credits: Σ lines[].debit 97.10 − Σ lines[].credit 100.00 = -2.90, not 0 (off by 2.90 EUR)',
    );

    const shown = await cli(dir, db.url, 'dlq', 'show', String(letters[1].id), '--env', ENV);
    expect(shown.status, show(shown)).toBe(0);
    expect(shown.stdout).toContain('Σ lines[].debit 97.10 − Σ lines[].credit 100.00 = -2.90, not 0 (off by 2.90 EUR)');
  });

  it('a run that dead-letters some records says so; one that dead-letters every record exits 1 from run --wait', async () => {
    await seed(pool, 'acme/shop', 'orders', [
      { id: 4, updated_at: '2026-11-02T11:00:00Z', tax_cents: 50, lines: [{ sku: 'D', qty: 1, price_cents: 500 }] },
    ]);
    await withWorker(dir, db.url, pool, async (w) => {
      const r = await cli(dir, db.url, 'run', 'acme/orders', '--env', ENV, '--wait');
      expect(r.status, show(r) + w.output).toBe(1);
      expect(r.stdout).toMatch(/^run \d+ every record dead-lettered: read 1, written 0, .*dead-lettered 1/);
      expect(r.stderr).toContain('Every record was dead-lettered: `rsync dlq list --flow acme/orders` shows why.');
    });
    const runs = await cli(dir, db.url, 'runs', '--env', ENV, '--json');
    expect(runs.status, show(runs)).toBe(0);
    const byFlow = JSON.parse(runs.stdout).runs.map((r: { address: string; status: string; outcome: string }) => [
      r.address,
      r.status,
      r.outcome,
    ]);
    // Newest first: the all-dead orders run, then the first test's payouts and orders runs (1 dead each).
    expect(byFlow).toEqual([
      ['acme/flow/orders', 'succeeded', 'all-dead-lettered'],
      ['acme/flow/payouts', 'succeeded', 'succeeded-with-dead-letters'],
      ['acme/flow/orders', 'succeeded', 'succeeded-with-dead-letters'],
    ]);
    const text = await cli(dir, db.url, 'runs', '--env', ENV);
    expect(text.stdout).toContain('every record dead-lettered');
    expect(text.stdout).toContain('succeeded with 1 dead-lettered');
  });
});
