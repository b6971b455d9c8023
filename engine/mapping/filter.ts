/**
 * A mapping filters a record by returning nothing (`undefined`, `null`), or — to say why — the filter marker
 * `{ "$filter": "<reason>" }`: an object whose one member is `$filter`, a non-empty string. No canonical field
 * begins with `$` (a JSONata variable's sigil: a canonical schema's property names are plain identifiers), so the
 * marker can never be mistaken for a record, and in JSONata it is one line:
 *
 *     $params.skipTestOrders and test = true ? { "$filter": "test order" } : ( …the canonical order… )
 *
 * A filtered record is counted as filtered, per reason, in its run (`rsync runs`, `rsync demo`); `rsync test`
 * treats the marker as filtered (a case's `output: null` matches it; `output: { $filter: "test order" }` checks the
 * reason too). The pipeline (engine/runtime/mapping/map-records.ts) and `rsync test` both decide with `filterOf`.
 */

/** The marker's member name. */
export const FILTER_MARKER = '$filter';

/** The longest reason kept (a reason is a rule's name, not a message): longer ones are cut. */
export const MAX_FILTER_REASON = 120;

export type FilterOf =
  /** Not filtered: a record (or something else the caller checks). */
  | { filtered: false }
  /** Filtered, with the mapping's reason when it gave one. */
  | { filtered: true; reason?: string }
  /** A `$filter` member that is not a well-formed marker: the mapping is wrong (the caller dead-letters or fails). */
  | { filtered: false; malformed: string };

/** Whether a mapping's output filters its record, and why. */
export function filterOf(output: unknown): FilterOf {
  if (output === undefined || output === null) return { filtered: true };
  if (typeof output !== 'object' || Array.isArray(output) || !Object.hasOwn(output, FILTER_MARKER))
    return { filtered: false };
  const o = output as Record<string, unknown>;
  const reason = o[FILTER_MARKER];
  const others = Object.keys(o).filter((k) => k !== FILTER_MARKER && o[k] !== undefined);
  if (typeof reason !== 'string' || reason.trim() === '')
    return {
      filtered: false,
      malformed: `the filter marker's "${FILTER_MARKER}" must be a non-empty string (the reason), not ${JSON.stringify(reason) ?? 'undefined'}`,
    };
  if (others.length)
    return {
      filtered: false,
      malformed: `the filter marker { "${FILTER_MARKER}": ${JSON.stringify(reason)} } must stand alone, but the output also has ${others.join(', ')}`,
    };
  const r = reason.trim().replace(/\s+/g, ' ');
  return { filtered: true, reason: r.length > MAX_FILTER_REASON ? `${r.slice(0, MAX_FILTER_REASON - 1)}…` : r };
}

/** How a run's filtered records that gave no reason are shown beside the reasons. */
export const NO_REASON = '(no reason given)';

/** Reason → count, with the filtered records that gave no reason under NO_REASON; largest first. */
export function filterReasonList(filtered: number, byReason: Record<string, number> | undefined): [string, number][] {
  const list = Object.entries(byReason ?? {}).filter(([, n]) => n > 0);
  const given = list.reduce((a, [, n]) => a + n, 0);
  if (filtered > given) list.push([NO_REASON, filtered - given]);
  return list.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** `3 × test order, 1 × (no reason given)`: a run's filtered records by reason, in one line ('' when none). */
export function describeFilterReasons(filtered: number, byReason: Record<string, number> | undefined): string {
  return filterReasonList(filtered, byReason)
    .map(([reason, n]) => `${n} × ${reason}`)
    .join(', ');
}
