/**
 * PII masking for what rsync keeps and shows of a record (dead letters, logs). A policy names PII fields in
 * canonical terms (`customer.email`, `shippingAddress`); a dead letter holds the *source* record, whose fields
 * are the vendor's (`email`, `customer.email`, `shipping_address`). So a field is masked when its name, with case
 * and underscores ignored, is the last segment of a PII path: `customer.email` masks every `email`, and
 * `shippingAddress` every `shipping_address` object, at any depth. Over-masking is the safe side.
 */

import { encodingsOf } from '../connectors/secrets.js';

const norm = (s: string) => s.replace(/[_\-\s]/g, '').toLowerCase();

export function piiNames(paths: readonly string[]): Set<string> {
  return new Set(paths.map((p) => norm(p.split('.').pop() ?? p)).filter(Boolean));
}

/** A copy of `value` with every PII field's value replaced by "***" (objects and arrays wholly), and those values
 *  masked wherever else they appear (a vendor that copies the e-mail address into a reference or a note). */
export function maskPii(value: unknown, names: Set<string>): unknown {
  if (!names.size || value === null || typeof value !== 'object') return value;
  return maskWith(value, names, longestFirst(piiValues(value, names)));
}

function maskWith(value: unknown, names: Set<string>, values: string[]): unknown {
  if (typeof value === 'string') return replaceAll(value, values);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskWith(v, names, values));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = names.has(norm(k)) && v !== null && v !== '' ? '***' : maskWith(v, names, values);
  }
  return out;
}

/** The values of a record's PII fields (strings and numbers of three characters or more, at any depth). */
export function piiValues(value: unknown, names: Set<string>, out = new Set<string>(), under = false): Set<string> {
  if (!names.size || value === null || value === undefined) return out;
  if (typeof value === 'string' || typeof value === 'number') {
    const s = String(value);
    if (under && s.length >= 3) out.add(s);
    return out;
  }
  if (Array.isArray(value)) {
    for (const v of value) piiValues(v, names, out, under);
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      piiValues(v, names, out, under || names.has(norm(k)));
  }
  return out;
}

/**
 * A message (an error from a mapping or a target) with every PII value of the given records replaced by "***":
 * errors quote values ("Unable to cast value to a number: \"dana@example.com\"", a 422 body echoing a field).
 */
export function maskPiiText(text: string, names: Set<string>, ...records: unknown[]): string {
  if (!names.size) return text;
  const values = new Set<string>();
  for (const r of records) piiValues(r, names, values);
  return replaceAll(text, longestFirst(values));
}

/**
 * The values and every encoding a system may echo them back in (URL- and form-encoded, JSON- and HTML-escaped,
 * base64: a key holding an e-mail address comes back in a URL as `dana%40example.com`), longer first, so that a
 * value containing another is replaced whole.
 */
function longestFirst(values: Set<string>): string[] {
  const all = new Set<string>();
  for (const v of values) {
    all.add(v);
    for (const e of encodingsOf(v)) all.add(e);
  }
  return [...all].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, values: string[]): string {
  let out = text;
  for (const v of values) if (out.includes(v)) out = out.split(v).join('***');
  return out;
}
