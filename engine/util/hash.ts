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

/** Keys repeat (every record of a mapping has the same ones): their JSON text is kept, up to a bound. */
const keyTexts = new Map<string, string>();
function quoted(k: string): string {
  let q = keyTexts.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (keyTexts.size < 20_000) keyTexts.set(k, q);
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
