/**
 * The cursor contract of every incremental read: slices.
 *
 * A slice is one walk of the API's pages over the records changed at or after `since` (inclusive), ordered by
 * (updated time, id), continuing from the API's own page token. The cursor the pipeline persists after each page
 * is `{ since, token, high }` — the slice's start, where its walk is, and the newest updated time seen — so a worker
 * that stops mid-slice resumes at the same page. When the walk ends, the next slice starts at the newest time seen
 * minus an overlap window (never before this slice's start): a record that shares its timestamp with the last one
 * read, or that the API indexed a moment late, is read again rather than lost, and the ledger skips what was already
 * delivered (unchanged). A page token the API no longer knows (expired, or invalidated by a change) restarts the
 * slice from the newest time seen less the overlap: a re-read, never a failure and never a gap.
 *
 * Times go to the API as ISO-8601 in UTC (`utc`), whatever offset the records carry; instants are compared, not
 * strings, so "2026-07-01T10:00:00-04:00" is newer than "2026-07-01T13:59:59Z".
 */
import type { Page, ReadRequest } from '../types.js';
import { ExpiredToken } from './errors.js';

export interface SliceCursor {
  /** The slice's start (inclusive), or null: from the beginning. */
  since: string | null;
  /** The API's token of the next page within the slice; absent at a slice's start. */
  token?: unknown;
  /** The newest updated time seen in this slice. */
  high?: string | null;
  /** Whatever else the connector keeps with its position (a bulk operation's id). */
  extra?: unknown;
}

export interface SliceQuery {
  since: string | null;
  until?: string;
  /** Null: the slice's first page. */
  token: unknown;
  limit: number;
  signal?: AbortSignal;
  /** The connector's own part of the cursor (SliceCursor.extra). */
  extra?: unknown;
}

export interface SliceOptions<R> {
  /** One page: records changed at or after `since` (and before `until`), by (updated time, id), from `token`. */
  fetch(q: SliceQuery): Promise<{ records: R[]; next: unknown | null; extra?: unknown }>;
  /** A record's updated time (any ISO-8601 offset), or null when it has none. */
  updatedAt(record: R): string | null | undefined;
  /** How far before the newest time seen the next slice starts (default 60 s). */
  overlapMs?: number;
}

export const DEFAULT_OVERLAP_MS = 60_000;

/** An instant as ISO-8601 UTC with `Z`. */
export const utc = (t: Date | string | number): string => new Date(t).toISOString();

/** The cursor a read was given, as a slice cursor (anything else: start from the request's `since`). */
export function sliceCursor(req: Pick<ReadRequest, 'cursor' | 'since'>): SliceCursor {
  const c = req.cursor as SliceCursor | null;
  if (c && typeof c === 'object' && 'since' in c && (c.since === null || typeof c.since === 'string')) return c;
  return { since: req.since ?? null };
}

export async function readSlices<R>(req: ReadRequest, o: SliceOptions<R>): Promise<Page> {
  let cur = sliceCursor(req);
  const overlap = o.overlapMs ?? DEFAULT_OVERLAP_MS;
  const query = (token: unknown): SliceQuery => ({
    since: cur.since,
    until: req.until,
    token: token ?? null,
    limit: req.limit,
    signal: req.signal,
    extra: cur.extra,
  });
  let got: Awaited<ReturnType<SliceOptions<R>['fetch']>>;
  try {
    got = await o.fetch(query(cur.token));
  } catch (e) {
    // An expired token restarts the slice; an expired first page is the API's problem, not a token's.
    if (!(e instanceof ExpiredToken) || cur.token === undefined || cur.token === null) throw e;
    // From the newest time seen less the overlap, not from the slice's start: every record older than that was on
    // a page already read (the order is by updated time), and a slice whose tokens expire faster than it can be
    // walked must still move on.
    if (cur.high) {
      const restart = Date.parse(cur.high) - overlap;
      if (!cur.since || restart > Date.parse(cur.since)) cur = { ...cur, since: utc(restart) };
    }
    got = await o.fetch(query(null));
  }
  let high = cur.high ?? null;
  let highMs = high ? Date.parse(high) : Number.NEGATIVE_INFINITY;
  for (const r of got.records) {
    const at = o.updatedAt(r);
    if (!at) continue;
    const ms = Date.parse(at);
    if (ms > highMs) {
      highMs = ms;
      high = utc(ms);
    }
  }
  const extra = got.extra !== undefined ? got.extra : cur.extra;
  if (got.next !== null && got.next !== undefined) {
    return { records: got.records, cursor: withExtra({ since: cur.since, token: got.next, high }, extra), more: true };
  }
  // The slice is done: the next one starts `overlap` before the newest record seen, but never before this one did.
  let since = cur.since;
  if (high) {
    const start = highMs - overlap;
    since = since && Date.parse(since) >= start ? since : utc(start);
  }
  return { records: got.records, cursor: withExtra({ since }, extra), more: false };
}

const withExtra = (c: SliceCursor, extra: unknown): SliceCursor => (extra === undefined ? c : { ...c, extra });
