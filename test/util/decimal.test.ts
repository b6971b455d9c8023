/**
 * engine/util/decimal.ts: exact decimal arithmetic on money strings, with one rounding rule (half-even).
 */
import { describe, expect, it } from 'vitest';
import {
  add,
  compare,
  decimal,
  equal,
  fits,
  format,
  isDecimal,
  mul,
  round,
  sub,
  sum,
} from '../../engine/util/decimal.js';

const d = decimal;

describe('decimal', () => {
  it('adds and subtracts exactly where binary floats do not', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(format(add(d('0.1'), d('0.2')))).toBe('0.3');
    expect(format(sub(d('409.94'), d('11.94')))).toBe('398.00');
    expect(format(sum(['19.99', '19.99', '19.99'].map(d)))).toBe('59.97');
    // Amounts past 2^53 minor units stay exact.
    expect(format(add(d('90071992547409.93'), d('0.01')))).toBe('90071992547409.94');
  });

  it('multiplies a decimal quantity by a unit price, exactly, then rounds to minor units', () => {
    const p = mul(d('0.375'), d('12.99'));
    expect(format(p)).toBe('4.87125');
    expect(format(round(p, 2))).toBe('4.87');
    expect(format(mul(d('3'), d('199.00')))).toBe('597.00');
  });

  it('rounds half-even by default, half-up when asked, and never truncates', () => {
    expect(format(round(d('2.345'), 2))).toBe('2.34');
    expect(format(round(d('2.355'), 2))).toBe('2.36');
    expect(format(round(d('2.345'), 2, 'half-up'))).toBe('2.35');
    expect(format(round(d('2.3451'), 2))).toBe('2.35');
    expect(format(round(d('-2.345'), 2))).toBe('-2.34');
    expect(format(round(d('-2.3451'), 2))).toBe('-2.35');
    expect(format(round(d('0.5'), 0))).toBe('0');
    expect(format(round(d('1.5'), 0))).toBe('2');
    expect(format(round(d('1.999'), 2))).toBe('2.00');
    expect(format(round(d('5'), 3))).toBe('5.000');
  });

  it('compares across scales', () => {
    expect(equal(d('1.50'), d('1.5'))).toBe(true);
    expect(compare(d('-0.01'), d('0'))).toBe(-1);
    expect(compare(d('10'), d('9.999'))).toBe(1);
    expect(equal(d('-0'), d('0.00'))).toBe(true);
  });

  it('tells which amounts fit a number of minor units', () => {
    expect(fits(d('10.50'), 1)).toBe(true);
    expect(fits(d('10.005'), 2)).toBe(false);
    expect(fits(d('100'), 0)).toBe(true);
    expect(fits(d('100.00'), 0)).toBe(true);
    expect(fits(d('100.5'), 0)).toBe(false);
  });

  it('takes decimal strings and exact integers only', () => {
    expect(isDecimal('-5.00')).toBe(true);
    for (const bad of ['1e3', '1.', '.5', '+1', '1,00', ' 1', 'NaN', '']) expect(isDecimal(bad), bad).toBe(false);
    expect(() => d('1e3')).toThrow(/not a decimal string/);
    expect(() => d(0.1)).toThrow(/not an exact integer/);
    expect(format(d(3))).toBe('3');
    expect(format(d(-12n))).toBe('-12');
  });
});
