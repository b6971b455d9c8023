/**
 * engine/model/currency.ts: ISO 4217 minor units, one table.
 */
import { describe, expect, it } from 'vitest';
import { currencies, minorUnits } from '../../engine/model/currency.js';

describe('ISO 4217 minor units', () => {
  it('has the currencies without, with 2, 3 and 4 decimals', () => {
    expect(minorUnits('USD')).toBe(2);
    expect(minorUnits('EUR')).toBe(2);
    expect(minorUnits('JPY')).toBe(0);
    expect(minorUnits('KRW')).toBe(0);
    expect(minorUnits('XOF')).toBe(0);
    expect(minorUnits('KWD')).toBe(3);
    expect(minorUnits('BHD')).toBe(3);
    expect(minorUnits('TND')).toBe(3);
    expect(minorUnits('CLF')).toBe(4);
  });

  it('knows no code that is not a currency an order can be in', () => {
    for (const c of ['XAU', 'XXX', 'XTS', 'usd', 'US', 'DOLLAR', '']) expect(minorUnits(c), c).toBeUndefined();
  });

  it('lists each code once, three capital letters', () => {
    const all = currencies();
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((c) => /^[A-Z]{3}$/.test(c))).toBe(true);
    expect(all.length).toBeGreaterThan(150);
  });
});
