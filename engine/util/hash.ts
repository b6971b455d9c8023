/** Content hashes of plain data: sha256 over canonical JSON (keys sorted, no whitespace). */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal values always give equal text. What JSON.stringify leaves
 * out it leaves out (undefined and function values of keys; in arrays they are null), so a value and its JSON copy
 * give the same text. Written as loops over one string: it hashes every record the runtime maps.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) s += ',';
      const v: unknown = value[i];
      s += v === undefined || typeof v === 'function' || typeof v === 'symbol' ? 'null' : canonicalJson(v);
    }
    return s + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let s = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (!first) s += ',';
    first = false;
    s += JSON.stringify(k) + ':' + canonicalJson(v);
  }
  return s + '}';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function hashOf(value: unknown): string {
  return sha256(canonicalJson(value));
}
