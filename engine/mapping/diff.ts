/**
 * A structural diff of two JSON values, path by path, for mapping test failures:
 *   lines[0].total: expected "10.00", got "11.00"
 *   + note: "gift" (not expected)
 *   - tags: missing (expected ["vip"])
 */

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return 'undefined';
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const safe = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${safe}` : safe;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Lines describing how `actual` differs from `expected`; empty when they are equal. */
export function structuralDiff(
  expected: unknown,
  actual: unknown,
  path = '',
  out: string[] = [],
  limit = 50,
): string[] {
  if (out.length >= limit) return out;
  const where = path || '(output)';
  const ke = kind(expected);
  const ka = kind(actual);
  if (ke !== ka) {
    out.push(`${where}: expected ${show(expected)}, got ${show(actual)}`);
    return out;
  }
  if (ke === 'array') {
    const e = expected as unknown[];
    const a = actual as unknown[];
    const n = Math.max(e.length, a.length);
    for (let i = 0; i < n && out.length < limit; i++) {
      if (i >= a.length) out.push(`- ${join(path, i)}: missing (expected ${show(e[i])})`);
      else if (i >= e.length) out.push(`+ ${join(path, i)}: ${show(a[i])} (not expected)`);
      else structuralDiff(e[i], a[i], join(path, i), out, limit);
    }
    if (e.length !== a.length && out.length < limit) out.push(`${where}: expected ${e.length} items, got ${a.length}`);
    return out;
  }
  if (ke === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])];
    for (const k of keys) {
      if (out.length >= limit) break;
      if (!(k in a)) out.push(`- ${join(path, k)}: missing (expected ${show(e[k])})`);
      else if (!(k in e)) out.push(`+ ${join(path, k)}: ${show(a[k])} (not expected)`);
      else structuralDiff(e[k], a[k], join(path, k), out, limit);
    }
    return out;
  }
  if (expected !== actual) out.push(`${where}: expected ${show(expected)}, got ${show(actual)}`);
  return out;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return structuralDiff(a, b, '', [], 1).length === 0;
}

/** JSONata results carry internal markers (sequences, `keepSingleton`); a JSON round trip gives plain data. */
export function plain(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}
