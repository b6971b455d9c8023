/**
 * The comparison of a reconciliation (engine/runtime/reconcile/compare.ts) on its own: pairing by key, amounts
 * compared and summed as exact decimals per currency, duplicates and records that cannot be compared counted as
 * mismatches, key lists capped with whole counts.
 */
import { describe, expect, it } from 'vitest';
import { amountOf, reconcile, timeOf } from '../../engine/runtime/reconcile/index.js';
import type { KeyedRecord, SideRecords } from '../../engine/runtime/reconcile/compare.js';
import { decimal } from '../../engine/util/decimal.js';

const sideOf = (system: string, records: KeyedRecord[], invalid = 0): SideRecords => ({
  system,
  reads: 'stream orders',
  read: records.length + invalid,
  records,
  invalid: { count: invalid, reasons: invalid ? ['a record without a key'] : [] },
});
const rec = (key: string, amount?: string, currency?: string): KeyedRecord => ({
  key,
  ...(amount !== undefined ? { amount: decimal(amount) } : {}),
  ...(currency !== undefined ? { currency } : {}),
});

describe('reconcile (the comparison)', () => {
  it('sums exactly: 0.10 + 0.20 is 0.30 on both sides, and 10.5 equals 10.50', () => {
    const { result, ok, mismatches } = reconcile(
      sideOf('a', [rec('k1', '0.10', 'USD'), rec('k2', '0.20', 'USD'), rec('k3', '10.5', 'EUR')]),
      sideOf('b', [rec('k1', '0.1', 'USD'), rec('k2', '0.2', 'USD'), rec('k3', '10.50', 'EUR')]),
      10,
    );
    expect(ok).toBe(true);
    expect(mismatches).toBe(0);
    expect(result.currencies).toEqual([
      { currency: 'EUR', left: '10.50', right: '10.50', difference: '0.00', ok: true },
      { currency: 'USD', left: '0.30', right: '0.30', difference: '0.00', ok: true },
    ]);
    expect(result.left.totals).toEqual([
      { currency: 'EUR', amount: '10.5' },
      { currency: 'USD', amount: '0.30' },
    ]);
  });

  it('pairs by key: each side only lists what the other lacks, capped with whole counts', () => {
    const left = ['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => rec(k));
    const right = ['k4', 'k5', 'k6'].map((k) => rec(k));
    const { result, ok, mismatches } = reconcile(sideOf('a', left), sideOf('b', right), 2);
    expect(ok).toBe(false);
    expect(result.onlyLeft).toEqual({ count: 3, keys: ['k1', 'k2'] });
    expect(result.onlyRight).toEqual({ count: 1, keys: ['k6'] });
    expect(mismatches).toBe(4);
  });

  it('an amount or a currency that differs for a key, a key twice, a record not comparable: each a mismatch', () => {
    const { result, mismatches, ok } = reconcile(
      sideOf(
        'a',
        [rec('k1', '5.00', 'USD'), rec('k2', '7.00', 'USD'), rec('k3', '1.00', 'USD'), rec('k3', '1.00', 'USD')],
        1,
      ),
      sideOf('b', [rec('k1', '5.01', 'USD'), rec('k2', '7.00', 'CAD'), rec('k3', '1.00', 'USD')]),
      10,
    );
    expect(ok).toBe(false);
    expect(result.amounts).toEqual({
      count: 2,
      keys: [
        { key: 'k1', left: '5.00 USD', right: '5.01 USD' },
        { key: 'k2', left: '7.00 USD', right: '7.00 CAD' },
      ],
    });
    expect(result.left.duplicates).toEqual({ count: 1, keys: ['k3'] });
    expect(result.left.invalid.count).toBe(1);
    expect(mismatches).toBe(4);
    expect(result.currencies.find((c) => c.currency === 'USD')).toEqual({
      currency: 'USD',
      left: '14.00',
      right: '6.01',
      difference: '7.99',
      ok: false,
    });
  });

  it('reads amounts as decimals (a JSON number as written) and times as RFC 3339, Unix seconds or milliseconds', () => {
    expect(amountOf('409.94')).toEqual(decimal('409.94'));
    expect(amountOf(409.94)).toEqual(decimal('409.94'));
    expect(amountOf(0.1 + 0.2)).toEqual(decimal('0.30000000000000004'));
    expect(amountOf('12,50')).toBeUndefined();
    expect(amountOf(1e21)).toBeUndefined();
    expect(amountOf(null)).toBeUndefined();
    expect(timeOf('2026-11-01T10:00:00Z')).toBe(Date.UTC(2026, 10, 1, 10));
    expect(timeOf(1_793_527_200)).toBe(1_793_527_200_000);
    expect(timeOf(1_793_527_200_000)).toBe(1_793_527_200_000);
    expect(timeOf('yesterday')).toBeUndefined();
  });
});
