/**
 * The comparison of a reconciliation, a pure function of the two sides' records: pair by key first (a key on one
 * side only is a mismatch of that side), then compare the pairs' amounts and currencies, then sum each side's
 * amounts per currency. Money is exact decimal arithmetic (util/decimal.ts): "0.10" + "0.20" is "0.30", and
 * "10.5" equals "10.50".
 */
import { add, compare, type Decimal, decimal, equal, format, isDecimal, sub, ZERO } from '../../util/decimal.js';
import type { KeyList, ReconciliationResult, SideResult } from '../../state/reconciliations.js';

/** A record of one side as its expressions read it. */
export interface KeyedRecord {
  key: string;
  amount?: Decimal;
  currency?: string | null;
}

/** One side's records, with what was read and what could not be compared. */
export interface SideRecords {
  system: string;
  reads: string;
  read: number;
  records: KeyedRecord[];
  invalid: { count: number; reasons: string[] };
}

/** A key list: its whole count, and the first `max` keys in order. */
function listOf(keys: Iterable<string>, max: number): KeyList {
  const all = [...keys].sort();
  return { count: all.length, keys: all.slice(0, max) };
}

const NO_CURRENCY = '\u0000';

/** The sums of a side's amounts per currency. */
function totals(records: KeyedRecord[]): Map<string, Decimal> {
  const out = new Map<string, Decimal>();
  for (const r of records) {
    if (!r.amount) continue;
    const c = r.currency ?? NO_CURRENCY;
    out.set(c, add(out.get(c) ?? ZERO, r.amount));
  }
  return out;
}

const currencyOf = (c: string): string | null => (c === NO_CURRENCY ? null : c);
/** An amount as text at the larger scale of the two it is shown beside ("10.5" beside "10.50" is "10.50"). */
const shown = (d: Decimal, other: Decimal) => format(d, Math.max(d.scale, other.scale));

function side(s: SideRecords, byKey: Map<string, KeyedRecord[]>, sums: Map<string, Decimal>, max: number): SideResult {
  const duplicates = [...byKey].filter(([, rs]) => rs.length > 1).map(([k]) => k);
  return {
    system: s.system,
    reads: s.reads,
    read: s.read,
    records: s.records.length,
    totals: [...sums]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([c, d]) => ({ currency: currencyOf(c), amount: format(d) })),
    duplicates: listOf(duplicates, max),
    invalid: s.invalid,
  };
}

function byKeyOf(records: KeyedRecord[]): Map<string, KeyedRecord[]> {
  const out = new Map<string, KeyedRecord[]>();
  for (const r of records) {
    const list = out.get(r.key);
    if (list) list.push(r);
    else out.set(r.key, [r]);
  }
  return out;
}

/** Compare two sides; `maxKeys` bounds every list of keys (their counts stay whole). */
export function reconcile(
  left: SideRecords,
  right: SideRecords,
  maxKeys: number,
): { result: ReconciliationResult; mismatches: number; ok: boolean } {
  const l = byKeyOf(left.records);
  const r = byKeyOf(right.records);
  const onlyLeft = [...l.keys()].filter((k) => !r.has(k));
  const onlyRight = [...r.keys()].filter((k) => !l.has(k));
  const differing: { key: string; left: string; right: string }[] = [];
  for (const [key, ls] of l) {
    const rs = r.get(key);
    if (!rs) continue;
    const a = ls[ls.length - 1];
    const b = rs[rs.length - 1];
    if (!a.amount || !b.amount) continue;
    const sameCurrency = (a.currency ?? null) === (b.currency ?? null);
    if (sameCurrency && equal(a.amount, b.amount)) continue;
    const text = (x: KeyedRecord, other: Decimal) => `${shown(x.amount!, other)}${x.currency ? ` ${x.currency}` : ''}`;
    differing.push({ key, left: text(a, b.amount), right: text(b, a.amount) });
  }
  differing.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const lt = totals(left.records);
  const rt = totals(right.records);
  const currencies = [...new Set([...lt.keys(), ...rt.keys()])].sort().map((c) => {
    const a = lt.get(c) ?? ZERO;
    const b = rt.get(c) ?? ZERO;
    const scale = Math.max(a.scale, b.scale);
    return {
      currency: currencyOf(c),
      left: format(a, scale),
      right: format(b, scale),
      difference: format(sub(a, b), scale),
      ok: compare(a, b) === 0,
    };
  });
  const result: ReconciliationResult = {
    left: side(left, l, lt, maxKeys),
    right: side(right, r, rt, maxKeys),
    onlyLeft: listOf(onlyLeft, maxKeys),
    onlyRight: listOf(onlyRight, maxKeys),
    amounts: { count: differing.length, keys: differing.slice(0, maxKeys) },
    currencies,
  };
  const mismatches =
    onlyLeft.length +
    onlyRight.length +
    differing.length +
    result.left.duplicates.count +
    result.right.duplicates.count +
    left.invalid.count +
    right.invalid.count;
  return { result, mismatches, ok: mismatches === 0 && currencies.every((c) => c.ok) };
}

/**
 * An amount as an expression gave it: decimal text as it is; a JSON number as it was written (its shortest
 * decimal form, which is the text the JSON held: 409.94 is "409.94"); anything else is not an amount.
 */
export function amountOf(v: unknown): Decimal | undefined {
  if (typeof v === 'string') return isDecimal(v.trim()) ? decimal(v.trim()) : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) {
    const s = String(v);
    return isDecimal(s) ? decimal(s) : undefined;
  }
  return undefined;
}

/** A record's time as an expression gave it: an RFC 3339 text, or Unix seconds (below 10^11) or milliseconds. */
export function timeOf(v: unknown): number | undefined {
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  return undefined;
}
