/**
 * The canonical invariants (schemas/canonical/invariants.json): the sums a canonical record must satisfy, exactly,
 * in its currency. The rules are data beside the canonical schemas; this module only evaluates them. It runs on
 * every mapped record — in the pipeline after the schema check (a record that breaks a rule is dead-lettered with
 * the explanation, never written), in `rsync test` for every case, and so in the demo.
 *
 * Arithmetic is exact (engine/util/decimal.ts, BigInt); a product (quantity × unit price) is rounded to the
 * currency's minor units (engine/model/currency.ts) by the file's one rounding rule. A rule whose field is absent
 * does not apply (the schema says which fields are required); a field marked `?` counts as 0 when absent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { minorUnits } from '../model/currency.js';
import {
  add,
  type Decimal,
  decimal,
  equal,
  fits,
  format,
  isDecimal,
  mul,
  neg,
  type Rounding,
  round,
  sub,
  ZERO,
} from '../util/decimal.js';
import { schemasDir } from '../util/paths.js';

type Term = string | { times: [string, string]; negate?: boolean };

interface Rule {
  id: string;
  title: string;
  each?: string;
  when?: Record<string, boolean | string>;
  requires?: string[];
  equals?: string;
  currency?: string;
  terms: Term[];
}

interface EntityRules {
  currency: string;
  precision?: { currency?: string; fields: string[] }[];
  rules?: Rule[];
}

interface Invariants {
  rounding: Rounding;
  entities: Record<string, EntityRules>;
}

/** One broken rule: which, where (a field path of the record), and the amounts, in a sentence. */
export interface Violation {
  rule: string;
  path: string;
  message: string;
}

let loaded: Invariants | undefined;
/** The rules, read once from schemas/canonical/invariants.json. */
export function invariants(): Invariants {
  loaded ??= JSON.parse(readFileSync(path.join(schemasDir(), 'canonical', 'invariants.json'), 'utf8')) as Invariants;
  return loaded;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A parsed field reference: `-lines[].discount?` → sign −, array lines, field discount, optional. */
interface Ref {
  text: string;
  negative: boolean;
  optional: boolean;
  array?: string;
  field: string[];
}

const refs = new Map<string, Ref>();
function ref(text: string): Ref {
  let r = refs.get(text);
  if (!r) {
    let t = text;
    const negative = t.startsWith('-');
    if (negative) t = t.slice(1);
    const optional = t.endsWith('?');
    if (optional) t = t.slice(0, -1);
    const parts = t.split('.');
    let array: string | undefined;
    if (parts[0].endsWith('[]')) array = parts.shift()!.slice(0, -2);
    r = { text: t, negative, optional, array, field: parts };
    refs.set(text, r);
  }
  return r;
}

function get(o: unknown, field: string[]): unknown {
  let v = o;
  for (const f of field) {
    if (!isObj(v)) return undefined;
    v = v[f];
  }
  return v;
}

const present = (v: unknown) => v !== undefined && v !== null;
const numeric = (v: unknown): Decimal | undefined =>
  isDecimal(v) ? decimal(v) : typeof v === 'number' && Number.isSafeInteger(v) ? decimal(v) : undefined;

/** A term's value in a context (the record, or an item of `each`), or 'skip' when the rule cannot apply. */
type Value = { value: Decimal; shown: string } | 'skip';

function termValue(ctx: Obj, term: Term, scale: number, rounding: Rounding): Value {
  if (typeof term !== 'string') {
    const [a, b] = term.times.map((t) => termValue(ctx, t, scale, rounding));
    if (a === 'skip' || b === 'skip') return 'skip';
    const product = round(mul(a.value, b.value), scale, rounding);
    return { value: term.negate ? neg(product) : product, shown: `${a.shown} × ${b.shown} (${format(product)})` };
  }
  const r = ref(term);
  let v: Decimal;
  if (r.array !== undefined) {
    const items = ctx[r.array];
    v = ZERO;
    if (Array.isArray(items)) {
      for (const item of items) {
        const x = get(item, r.field);
        if (!present(x)) {
          if (r.optional) continue;
          return 'skip';
        }
        const d = numeric(x);
        if (!d) return 'skip'; // not a decimal: the schema check reports it
        v = add(v, d);
      }
    }
  } else {
    const x = get(ctx, r.field);
    if (!present(x)) {
      if (!r.optional) return 'skip';
      v = ZERO;
    } else {
      const d = numeric(x);
      if (!d) return 'skip';
      v = d;
    }
  }
  const name = r.array !== undefined ? `Σ ${r.array}[].${r.field.join('.')}` : r.field.join('.');
  return { value: r.negative ? neg(v) : v, shown: `${name} ${format(v)}` };
}

function applies(ctx: Obj, rule: Rule): boolean {
  for (const [field, want] of Object.entries(rule.when ?? {})) {
    const v = get(ctx, field.split('.'));
    const have = typeof want === 'boolean' ? v === true : v;
    if (have !== want) return false;
  }
  for (const need of rule.requires ?? []) {
    const v = get(ctx, need.split('.'));
    if (!present(v) || (Array.isArray(v) && v.length === 0)) return false;
  }
  return true;
}

function checkRule(
  ctx: Obj,
  where: string,
  rule: Rule,
  currency: string,
  scale: number,
  rounding: Rounding,
  out: Violation[],
): void {
  if (!applies(ctx, rule)) return;
  let target: Decimal = ZERO;
  let targetShown = '0';
  let targetPath = where || '(record)';
  if (rule.equals && rule.equals !== '0') {
    const t = termValue(ctx, rule.equals, scale, rounding);
    if (t === 'skip') return;
    target = t.value;
    const r = ref(rule.equals);
    targetPath = `${where}${where ? '.' : ''}${r.field.join('.')}`;
    const raw = get(ctx, r.field);
    targetShown = present(raw) ? String(raw) : 'absent (0)';
  }
  let total: Decimal = ZERO;
  const shown: string[] = [];
  for (const term of rule.terms) {
    const v = termValue(ctx, term, scale, rounding);
    if (v === 'skip') return;
    total = add(total, v.value);
    const negative = typeof term === 'string' ? ref(term).negative : !!term.negate;
    shown.push(`${shown.length ? (negative ? ' − ' : ' + ') : negative ? '−' : ''}${v.shown}`);
  }
  if (equal(total, target)) return;
  const diff = sub(target, total);
  const off = format(diff, Math.max(diff.scale, scale));
  const sum = `${shown.join('')} = ${format(total, Math.max(total.scale, scale))}`;
  const message =
    rule.equals === '0' || !rule.equals
      ? `${rule.title}: ${sum}, not 0 (off by ${off} ${currency})`
      : `${rule.title}: ${targetPath} is ${targetShown}, but ${sum} (off by ${off} ${currency})`;
  out.push({ rule: rule.id, path: targetPath, message });
}

/**
 * The invariants `record` (a canonical `entity`, already valid against its schema) breaks; none for an entity with
 * no rules. Deterministic: the same record gives the same violations, in the file's order.
 */
export function checkInvariants(entity: string, record: unknown): Violation[] {
  const spec = invariants();
  const rules = spec.entities[entity];
  if (!rules || !isObj(record)) return [];
  const out: Violation[] = [];
  const scaleOf = (field: string): { currency: string; scale: number } | undefined | null => {
    const c = get(record, field.split('.'));
    if (typeof c !== 'string') return undefined;
    const scale = minorUnits(c);
    return scale === undefined ? null : { currency: c, scale };
  };
  const unknown = new Set<string>();
  const currencyOf = (field: string) => {
    const s = scaleOf(field);
    if (s === null && !unknown.has(field)) {
      unknown.add(field);
      out.push({
        rule: `${entity}.currency`,
        path: field,
        message: `${field} ${JSON.stringify(get(record, field.split('.')))} is not an ISO 4217 currency (e.g. USD, EUR, JPY)`,
      });
    }
    return s ?? undefined;
  };
  currencyOf(rules.currency);
  for (const group of rules.precision ?? []) {
    const c = currencyOf(group.currency ?? rules.currency);
    if (!c) continue;
    for (const field of group.fields) {
      const r = ref(field);
      const values: [string, unknown][] =
        r.array === undefined
          ? [[r.field.join('.'), get(record, r.field)]]
          : (Array.isArray(record[r.array]) ? (record[r.array] as unknown[]) : []).map((item, i) => [
              `${r.array}[${i}].${r.field.join('.')}`,
              get(item, r.field),
            ]);
      for (const [at, v] of values) {
        if (!isDecimal(v) || fits(decimal(v), c.scale)) continue;
        out.push({
          rule: `${entity}.precision`,
          path: at,
          message: `${at} is ${v}: more digits than ${c.currency}'s ${c.scale} (round it to ${format(decimal(v), c.scale)}, half-even)`,
        });
      }
    }
  }
  for (const rule of rules.rules ?? []) {
    const c = currencyOf(rule.currency ?? rules.currency);
    if (!c) continue;
    if (rule.each) {
      const items = record[rule.each];
      if (!Array.isArray(items)) continue;
      items.forEach((item, i) => {
        if (isObj(item)) checkRule(item, `${rule.each}[${i}]`, rule, c.currency, c.scale, spec.rounding, out);
      });
    } else {
      checkRule(record, '', rule, c.currency, c.scale, spec.rounding, out);
    }
  }
  return out;
}

/** The rule ids of an entity (a test's `breaks:` names them), the currency and precision checks included. */
export function invariantIds(entity: string): Set<string> {
  const rules = invariants().entities[entity];
  if (!rules) return new Set();
  return new Set([`${entity}.currency`, `${entity}.precision`, ...(rules.rules ?? []).map((r) => r.id)]);
}

/** The violations as one dead-letter reason (the first few, then how many more). */
export function describeViolations(entity: string, violations: Violation[], max = 3): string {
  const shown = violations.slice(0, max).map((v) => `${v.rule} at ${v.path}: ${v.message}`);
  const more = violations.length > max ? `; and ${violations.length - max} more` : '';
  return `breaks the canonical ${entity} invariants: ${shown.join('; ')}${more}`;
}
