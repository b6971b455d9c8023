/**
 * Exact decimal arithmetic on the canonical model's money and quantity strings ("409.94", "-5.00", "1.250"): a
 * value is an integer of units at a scale (409.94 is 40994 at scale 2), held in a BigInt, so sums and products are
 * exact at any size. Nothing here goes through a binary float: "0.1" + "0.2" is "0.3".
 *
 * Rounding is one rule, used wherever an amount is brought to a currency's minor units: half-even (banker's
 * rounding, IEEE 754's default and what most ERPs post with), with half-up available for the systems that
 * document it.
 */

export interface Decimal {
  /** The value times 10^scale. */
  readonly units: bigint;
  /** Digits after the point. */
  readonly scale: number;
}

export type Rounding = 'half-even' | 'half-up';

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Whether `s` is a decimal string as the canonical schemas define it: an optional minus, digits, optional fraction. */
export function isDecimal(s: unknown): s is string {
  return typeof s === 'string' && DECIMAL.test(s);
}

/** A decimal string's exact value; an integer (a JSON quantity) is taken as it is. Throws on anything else. */
export function decimal(s: string | number | bigint): Decimal {
  if (typeof s === 'bigint') return { units: s, scale: 0 };
  if (typeof s === 'number') {
    if (!Number.isSafeInteger(s)) throw new RangeError(`${s} is not an exact integer; give decimals as strings`);
    return { units: BigInt(s), scale: 0 };
  }
  const m = DECIMAL.exec(s);
  if (!m) throw new RangeError(`"${s}" is not a decimal string`);
  const fraction = m[3] ?? '';
  const units = BigInt(m[2] + fraction);
  return { units: m[1] ? -units : units, scale: fraction.length };
}

export const ZERO: Decimal = { units: 0n, scale: 0 };

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** `d` at a larger scale (exact). */
function widen(d: Decimal, scale: number): bigint {
  return scale === d.scale ? d.units : d.units * pow10(scale - d.scale);
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: widen(a, scale) + widen(b, scale), scale };
}

export function sub(a: Decimal, b: Decimal): Decimal {
  return add(a, neg(b));
}

export function neg(a: Decimal): Decimal {
  return { units: -a.units, scale: a.scale };
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function sum(values: Decimal[]): Decimal {
  return values.reduce(add, ZERO);
}

/** −1, 0 or 1, whatever the scales ("1.50" equals "1.5"). */
export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const x = widen(a, scale);
  const y = widen(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function equal(a: Decimal, b: Decimal): boolean {
  return compare(a, b) === 0;
}

export function abs(a: Decimal): Decimal {
  return a.units < 0n ? neg(a) : a;
}

/** `d` rounded to `scale` digits after the point (half-even unless told), or widened when it has fewer. */
export function round(d: Decimal, scale: number, rounding: Rounding = 'half-even'): Decimal {
  if (d.scale <= scale) return { units: widen(d, scale), scale };
  const divisor = pow10(d.scale - scale);
  const negative = d.units < 0n;
  const n = negative ? -d.units : d.units;
  let q = n / divisor;
  const r = n % divisor;
  const twice = r * 2n;
  if (twice > divisor || (twice === divisor && (rounding === 'half-up' || q % 2n === 1n))) q += 1n;
  return { units: negative ? -q : q, scale };
}

/** Whether `d` has no non-zero digit beyond `scale` ("10.50" fits scale 1; "10.005" does not fit 2). */
export function fits(d: Decimal, scale: number): boolean {
  return d.scale <= scale || d.units % pow10(d.scale - scale) === 0n;
}

/** The decimal string of `d`, at its own scale or a given one (rounded half-even when that is smaller). */
export function format(d: Decimal, scale = d.scale): string {
  const r = round(d, scale);
  const negative = r.units < 0n;
  const digits = (negative ? -r.units : r.units).toString().padStart(r.scale + 1, '0');
  const whole = r.scale ? `${digits.slice(0, -r.scale)}.${digits.slice(-r.scale)}` : digits;
  return negative ? `-${whole}` : whole;
}
