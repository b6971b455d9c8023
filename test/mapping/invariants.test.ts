/**
 * The canonical invariants (schemas/canonical/invariants.json, engine/mapping/invariants.ts): each rule holds on a
 * record that adds up, and each breaks, naming the rule, the field and the amounts, when one amount is changed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, describeViolations, invariantIds } from '../../engine/mapping/invariants.js';
import { ROOT } from '../helpers/cli.js';

/** An order that adds up: a discounted line, a weighed line, free shipping by a code, a tip, a tax line. */
const order = () => ({
  externalId: '820982911946154508',
  createdAt: '2026-11-02T10:00:00Z',
  currency: 'USD',
  lines: [
    { quantity: 2, unitPrice: '10.00', discount: '1.00', total: '19.00' },
    { quantity: '0.375', unitPrice: '12.99', total: '4.87' },
  ],
  discounts: [
    { code: 'TENOFF', amount: '1.00' },
    { code: 'FREESHIP', amount: '5.00', type: 'shipping' as const },
  ],
  shipping: [{ title: 'Standard', amount: '0.00', discount: '5.00' }],
  charges: [{ type: 'tip' as const, amount: '2.00' }],
  taxes: [{ title: 'State Tax', amount: '1.50' }],
  subtotal: '23.87',
  discountTotal: '6.00',
  shippingTotal: '0.00',
  chargesTotal: '2.00',
  taxTotal: '1.50',
  total: '27.37',
});

const rules = (entity: string, record: unknown) => checkInvariants(entity, record).map((v) => v.rule);

describe('canonical invariants', () => {
  it('the rules file is valid against its schema, and every rule id is unique', () => {
    const read = (f: string) => JSON.parse(readFileSync(path.join(ROOT, 'schemas', f), 'utf8'));
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    const ok = ajv.validate(read('invariants.schema.json'), read('canonical/invariants.json'));
    expect(ajv.errors ?? [], 'schemas/canonical/invariants.json').toEqual([]);
    expect(ok).toBe(true);
    const ids = Object.values(read('canonical/invariants.json').entities).flatMap((e) =>
      ((e as { rules?: { id: string }[] }).rules ?? []).map((r) => r.id),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('an order that adds up breaks none', () => {
    expect(checkInvariants('order', order())).toEqual([]);
  });

  it('each order rule breaks when its amount is off, with the path and the amounts', () => {
    const cases: [string, (o: ReturnType<typeof order>) => void, string, RegExp][] = [
      ['order.line-total', (o) => (o.lines[1].total = '4.88'), 'lines[1].total', /0\.375 × unitPrice 12\.99 \(4\.87\)/],
      [
        'order.subtotal',
        (o) => (o.subtotal = '23.88'),
        'subtotal',
        /subtotal is 23\.88.*= 23\.87 \(off by 0\.01 USD\)/,
      ],
      ['order.discounts', (o) => (o.discounts[0].amount = '2.00'), 'discountTotal', /Σ discounts\[\]\.amount 7\.00/],
      ['order.taxes', (o) => (o.taxes[0].amount = '1.60'), 'taxTotal', /taxTotal is 1\.50/],
      ['order.shipping', (o) => (o.shippingTotal = '5.00'), 'shippingTotal', /Σ shipping\[\]\.amount 0\.00/],
      ['order.charges', (o) => (o.chargesTotal = '3.00'), 'chargesTotal', /chargesTotal is 3\.00/],
      ['order.total', (o) => (o.total = '33.37'), 'total', /total is 33\.37.*= 27\.37 \(off by 6\.00 USD\)/],
    ];
    for (const [rule, change, at, amounts] of cases) {
      const o = order();
      change(o);
      const v = checkInvariants('order', o).filter((x) => x.rule === rule);
      expect(v, rule).toHaveLength(1);
      expect(v[0].path, rule).toBe(at);
      expect(v[0].message, rule).toMatch(amounts);
    }
  });

  it('discounts have one meaning: a discount total the lines and shipping do not carry is refused', () => {
    // The old reading: line totals before an order-level discount, and the discount taken off the order again.
    const o = { ...order(), discountTotal: '10.00', discounts: [{ amount: '10.00' }] };
    expect(rules('order', o)).toEqual(['order.discount-allocation']);
    const v = checkInvariants('order', o)[0];
    expect(v.message).toContain('Σ lines[].discount 1.00 + Σ shipping[].discount 5.00 = 6.00');
  });

  it('a total that lists no parts must still add up: an absent total is 0 when its parts are listed', () => {
    const o: Record<string, unknown> = order();
    delete o.taxTotal;
    expect(rules('order', o)).toEqual(['order.taxes', 'order.total']);
  });

  it('tax-inclusive prices: the total leaves the (included) tax out, and the other rule does not apply', () => {
    const o = { ...order(), taxesIncluded: true, total: '25.87' };
    expect(checkInvariants('order', o)).toEqual([]);
    expect(rules('order', { ...o, total: '27.37' })).toEqual(['order.total-tax-included']);
  });

  it('presentment amounts add up in their own currency', () => {
    const presentment = { currency: 'EUR', subtotal: '22.10', shippingTotal: '0.00', taxTotal: '1.39', total: '23.49' };
    expect(
      rules('order', { ...order(), chargesTotal: undefined, charges: undefined, total: '25.37', presentment }),
    ).toEqual([]);
    expect(
      rules('order', {
        ...order(),
        chargesTotal: undefined,
        charges: undefined,
        total: '25.37',
        presentment: { ...presentment, total: '23.50' },
      }),
    ).toEqual(['order.presentment-total']);
  });

  it('amounts must fit the currency: JPY has no decimals, KWD three', () => {
    const jpy = {
      ...order(),
      currency: 'JPY',
      lines: [{ quantity: 3, unitPrice: '1980', total: '5940' }],
      discounts: undefined,
      shipping: undefined,
      charges: undefined,
      taxes: undefined,
      discountTotal: undefined,
      chargesTotal: undefined,
      shippingTotal: undefined,
      taxTotal: '594',
      subtotal: '5940',
      total: '6534',
    };
    expect(checkInvariants('order', jpy)).toEqual([]);
    const v = checkInvariants('order', { ...jpy, taxTotal: '594.40', total: '6534.40' });
    expect(v.map((x) => `${x.rule} ${x.path}`)).toEqual(['order.precision taxTotal', 'order.precision total']);
    expect(v[0].message).toBe("taxTotal is 594.40: more digits than JPY's 0 (round it to 594, half-even)");
    const kwd = {
      ...jpy,
      currency: 'KWD',
      lines: [{ quantity: 1, unitPrice: '1.125', total: '1.125' }],
      subtotal: '1.125',
      taxTotal: '0.000',
      total: '1.125',
    };
    expect(checkInvariants('order', kwd)).toEqual([]);
  });

  it('a line of a weighed good rounds its product half-even to the minor units', () => {
    const o = order();
    o.lines[1] = { quantity: '0.125', unitPrice: '2.20', total: '0.28' }; // 0.275 → 0.28 (7 is odd)
    o.subtotal = '19.28';
    o.total = '22.78';
    expect(checkInvariants('order', o)).toEqual([]);
    o.lines[1] = { quantity: '0.125', unitPrice: '2.60', total: '0.33' }; // 0.325 → 0.32 (2 is even)
    expect(rules('order', o)).toContain('order.line-total');
  });

  it('an unknown currency is reported once, and no sum is checked in it', () => {
    const v = checkInvariants('order', { ...order(), currency: 'XYZ', total: '1.00' });
    expect(v.map((x) => x.rule)).toEqual(['order.currency']);
    expect(v[0].message).toContain('"XYZ" is not an ISO 4217 currency');
  });

  it('a refund is its lines + shipping + tax + adjustment; an amount-only refund is an adjustment', () => {
    const refund = {
      externalId: '1',
      orderExternalId: '2',
      createdAt: '2026-11-02T10:00:00Z',
      currency: 'USD',
      lines: [{ quantity: 1, amount: '19.00' }],
      shipping: '5.00',
      tax: '1.50',
      total: '25.50',
    };
    expect(checkInvariants('refund', refund)).toEqual([]);
    expect(rules('refund', { ...refund, total: '20.50' })).toEqual(['refund.total']);
    const amountOnly = { ...refund, lines: undefined, shipping: undefined, tax: undefined, total: '10.00' };
    expect(rules('refund', amountOnly)).toEqual(['refund.total']);
    expect(checkInvariants('refund', { ...amountOnly, adjustment: '10.00' })).toEqual([]);
    // A tax-inclusive shop's refund: the lines include the tax, which is not added again.
    const inclusive = { ...refund, taxesIncluded: true, total: '24.00' };
    expect(checkInvariants('refund', inclusive)).toEqual([]);
    expect(rules('refund', { ...inclusive, total: '25.50' })).toEqual(['refund.total-tax-included']);
  });

  it('a journal entry balances: debits = credits', () => {
    const entry = {
      externalId: 'po_1',
      date: '2026-11-02',
      currency: 'EUR',
      lines: [
        { account: '1010', debit: '97.10' },
        { account: '6150', debit: '2.90' },
        { account: '1150', credit: '100.00' },
      ],
    };
    expect(checkInvariants('journalEntry', entry)).toEqual([]);
    const v = checkInvariants('journalEntry', { ...entry, lines: entry.lines.slice(1) });
    expect(v.map((x) => x.rule)).toEqual(['journalEntry.balanced']);
    expect(v[0].message).toBe(
      'the debits equal the credits: Σ lines[].debit 2.90 − Σ lines[].credit 100.00 = -97.10, not 0 (off by 97.10 EUR)',
    );
  });

  it('a settlement nets its fees, each transaction too, and its transactions sum to the gross', () => {
    const s = {
      externalId: 'po_1',
      currency: 'USD',
      grossAmount: '100.00',
      fees: '3.20',
      netAmount: '96.80',
      transactions: [
        { externalId: 'ch_1', type: 'charge' as const, amount: '120.00', fee: '3.78', net: '116.22' },
        { externalId: 're_1', type: 'refund' as const, amount: '-20.00', fee: '-0.58', net: '-19.42' },
      ],
    };
    expect(checkInvariants('settlement', s)).toEqual([]);
    expect(rules('settlement', { ...s, netAmount: '100.00' })).toEqual(['settlement.net']);
    s.transactions[1].net = '-20.00';
    expect(checkInvariants('settlement', s).map((v) => `${v.rule} ${v.path}`)).toEqual([
      'settlement.transaction-net transactions[1].net',
    ]);
  });

  it('a dead-letter reason names the entity, the first rules and how many more', () => {
    const o = { ...order(), subtotal: '1.00', total: '1.00', taxTotal: '9.00', chargesTotal: '9.00' };
    const v = checkInvariants('order', o);
    expect(v.length).toBeGreaterThan(3);
    const reason = describeViolations('order', v);
    expect(reason).toMatch(/^breaks the canonical order invariants: order\.subtotal at subtotal: /);
    expect(reason).toMatch(new RegExp(`; and ${v.length - 3} more$`));
  });

  it('lists the rule ids a test may expect broken', () => {
    expect([...invariantIds('journalEntry')]).toEqual([
      'journalEntry.currency',
      'journalEntry.precision',
      'journalEntry.balanced',
    ]);
    expect(invariantIds('customer').size).toBe(0);
  });
});
