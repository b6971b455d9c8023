/** Diffs for plans: field by field for values, line by line for mapping text. */
import { canonicalJson } from '../util/hash.js';
import type { FieldChange } from './types.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The leaf fields that differ between two values, as dotted paths (arrays compared whole when short or scalar). */
export function fieldChanges(before: unknown, after: unknown, path = '', out: FieldChange[] = []): FieldChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const k of keys) fieldChanges(before[k], after[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length && before.some(isPlainObject)) {
    before.forEach((b, i) => fieldChanges(b, after[i], `${path}[${i}]`, out));
    return out;
  }
  if (canonicalJson(before) === canonicalJson(after)) return out;
  const change: FieldChange = { path: path || '(value)' };
  if (before !== undefined) change.before = before;
  if (after !== undefined) change.after = after;
  out.push(change);
  return out;
}

/**
 * A unified diff of two texts (`-` removed, `+` added, ` ` context), with `@@` hunk headers and `context` lines
 * around each change. LCS over lines: mappings are small, so the quadratic table is fine.
 */
export function lineDiff(before: string, after: string, context = 2): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a[a.length - 1] === '') a.pop();
  if (b[b.length - 1] === '') b.pop();
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  type Op = { t: ' ' | '-' | '+'; line: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ t: ' ', line: a[i], ai: i++, bi: j++ });
    else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ t: '-', line: a[i], ai: i++, bi: j });
    else ops.push({ t: '+', line: b[j], ai: i, bi: j++ });
  }
  const out: string[] = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k].t === ' ') {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change near it.
    let start = Math.max(0, k - context);
    let end = k;
    while (end < ops.length) {
      if (ops[end].t !== ' ') {
        end++;
        continue;
      }
      let run = 0;
      while (end + run < ops.length && ops[end + run].t === ' ') run++;
      if (end + run >= ops.length || run > context * 2) break;
      end += run;
    }
    const stop = Math.min(ops.length, end + context);
    const first = ops[start];
    const aCount = ops.slice(start, stop).filter((o) => o.t !== '+').length;
    const bCount = ops.slice(start, stop).filter((o) => o.t !== '-').length;
    out.push(`@@ -${first.ai + 1},${aCount} +${first.bi + 1},${bCount} @@`);
    for (; start < stop; start++) out.push(`${ops[start].t}${ops[start].line}`);
    k = stop;
  }
  return out;
}
