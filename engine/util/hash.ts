/** Content hashes of plain data: sha256 over canonical JSON (keys sorted, no whitespace). */
import * as crypto from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal values always give equal text. Written as loops appending
 * to one string (no arrays of parts, no filtered key lists): a plan hashes every resource, 14,693 of them at 1,000
 * customers, and the text is what deployed hashes were computed from, so it must never change.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const v: unknown = value[i];
      out += v !== undefined ? canonicalJson(v) : i in value ? 'null' : ''; // a hole, as Array.join writes it
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${quoted(k)}:${canonicalJson(v)}`;
    first = false;
  }
  return out + '}';
}

/** How a value relates to its canonical JSON (see canonicalOf). */
const SORTED = 0; // plain JSON data, every object's keys already in sorted order: JSON.stringify writes the canonical text
const PLAIN = 1; // plain JSON data, some keys out of order
const OTHER = 2; // JSON.parse of the text would not give the value back (undefined member, NaN, function, hole…)

const objectProto = Object.prototype;

function shape(v: unknown): number {
  if (v === null) return SORTED;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return SORTED;
    case 'number':
      return Number.isFinite(v) ? SORTED : OTHER;
    case 'object':
      break;
    default:
      return OTHER;
  }
  let worst = SORTED;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!(i in v) || v[i] === undefined) return OTHER;
      const s = shape(v[i]);
      if (s === OTHER) return OTHER;
      if (s > worst) worst = s;
    }
    return worst;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if ((proto !== objectProto && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return OTHER;
  let prev: string | undefined;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (x === undefined) return OTHER;
    const s = shape(x);
    if (s === OTHER) return OTHER;
    if (s > worst) worst = s;
    if (prev !== undefined && !(prev < k)) worst = PLAIN;
    prev = k;
  }
  return worst;
}

/**
 * canonicalJson(value), and whether the value is plain JSON data: then JSON.parse(text) gives back the same data
 * (no undefined member, no NaN or Infinity, no function, no hole, no class instance; -0 reads back as 0, and an
 * array's non-index members, a JSONata sequence's flags, are not data), and a check of the value itself says what a
 * check of its parsed text would. A value whose objects all have their keys in sorted order already (the
 * compiled mappings build objects so) is written by JSON.stringify, the same text several times faster.
 */
export function canonicalOf(value: unknown): { text: string; plain: boolean } {
  const s = shape(value);
  return { text: s === SORTED ? JSON.stringify(value) : canonicalJson(value), plain: s !== OTHER };
}

/**
 * Keys repeat (every record of a mapping has the same ones): their JSON text is kept, up to a bound — of short keys
 * only, so that a process fed ever new long keys (the fuzzer's mutated files, where a line can become a key) keeps
 * kilobytes, not tens of megabytes.
 */
const keyTexts = new Map<string, string>();
function quoted(k: string): string {
  let q = keyTexts.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (k.length <= 64 && keyTexts.size < 20_000) keyTexts.set(k, q);
  }
  return q;
}

/** crypto.hash (Node 20.12+) hashes without a Hash object per call: worth it for every record and every file. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

export function hashOf(value: unknown): string {
  return sha256(canonicalJson(value));
}
