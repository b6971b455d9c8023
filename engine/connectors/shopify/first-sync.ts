/**
 * First syncs and backfills of the big Shopify streams (orders, products, customers) through bulk operations
 * (bulk.ts) instead of pages: one operation reads the whole store, or a backfill window of it, with no cost budget
 * spent per page and no page cap — Shopify's own advice for reading large volumes
 * (https://shopify.dev/docs/api/usage/bulk-operations/queries), and what Airbyte's source-shopify does for every
 * stream it can.
 *
 * A read goes through bulk when it starts from nothing (no cursor: a first sync or a backfill window) or holds a
 * bulk cursor (`{ bulk: { id, line } }`, a read under way, resumed after a crash on the same operation). When the
 * operation's last page is read:
 *  - a backfill window (`until` given) is done;
 *  - a first sync hands over to the incremental reads (readSlices) from the operation's creation time less the
 *    overlap: what changed while it ran is read again, the ledger skipping what was delivered.
 * Every other read (an incremental cursor, the streams that are not bulk ones, `settings.bulk: false`) is the paged
 * read, unchanged.
 *
 * The bulk query is the paged read's own selection (graphql.ts SELECTIONS), so the converters see the same nodes,
 * but without the `first:` (and `pageInfo`) of its nested connections: a bulk operation reads every child, so an order of 60 lines
 * comes whole (the paged read asks for 20 at a time).
 */
import { DEFAULT_OVERLAP_MS, type SliceCursor, utc } from '../kit/index.js';
import type { Page, ReadRequest } from '../types.js';
import { type BulkCursor, bulkSince, type bulkReader } from './bulk.js';
import { convert, SELECTIONS } from './graphql.js';

const DISCOUNTS = [
  'DiscountCodeApplication',
  'ManualDiscountApplication',
  'AutomaticDiscountApplication',
  'ScriptDiscountApplication',
];

/** The streams read through bulk operations, and where their child lines go back (gid type or __typename → field). */
export const BULK_CHILDREN: Record<string, Record<string, string>> = {
  orders: {
    LineItem: 'lineItems',
    ShippingLine: 'shippingLines',
    ...Object.fromEntries(DISCOUNTS.map((t) => [t, 'discountApplications'])),
  },
  products: { ProductVariant: 'variants' },
  customers: {},
};

/** The bulk query of a stream over [since, until): its paged selection, with every child of every node. */
export function bulkQuery(stream: string, since?: string | null, until?: string | null): string {
  const sel = SELECTIONS[stream];
  const search = [since ? `updated_at:>='${utc(since)}'` : null, until ? `updated_at:<'${utc(until)}'` : null]
    .filter(Boolean)
    .join(' AND ');
  const fields = sel.fields
    .replace(/\(\s*first:\s*\d+\s*\)/g, '')
    .replace(/\bfirst:\s*\d+\s*,\s*/g, '')
    .replace(/\s*pageInfo \{ hasNextPage endCursor \}/g, '');
  const args = search ? `(query: ${JSON.stringify(search)}, sortKey: UPDATED_AT)` : '(sortKey: UPDATED_AT)';
  return `{ ${sel.root}${args} { edges { node { ${fields} } } } }`;
}

/** The connection fields a bulk stream's nodes nest (`orders`: lineItems, shippingLines, discountApplications). */
export const bulkChildFields = (stream: string): string[] => [...new Set(Object.values(BULK_CHILDREN[stream] ?? {}))];

/** Every child type of every bulk stream, for the one reader a connection has. */
export const ALL_CHILDREN: Record<string, string> = Object.assign({}, ...Object.values(BULK_CHILDREN));

const isBulkCursor = (c: unknown): c is BulkCursor => typeof (c as BulkCursor | null)?.bulk?.id === 'string';

/** `read` with first syncs and backfills of the bulk streams through `bulk`. */
export function withBulk(
  read: (req: ReadRequest) => Promise<Page>,
  bulk: Pick<ReturnType<typeof bulkReader>, 'read'>,
  overlapMs = DEFAULT_OVERLAP_MS,
): (req: ReadRequest) => Promise<Page> {
  return async (req) => {
    if (!BULK_CHILDREN[req.stream] || (req.cursor != null && !isBulkCursor(req.cursor))) return read(req);
    const page = await bulk.read({
      query: bulkQuery(req.stream, req.since, req.until),
      cursor: req.cursor ?? null,
      limit: req.limit,
      signal: req.signal,
    });
    const records = page.nodes.flatMap((n) => convert(req.stream, n));
    if (page.more || req.until) return { records, cursor: page.cursor, more: page.more };
    // A first sync is done: the incremental reads go on from just before the operation was created (never before
    // the read's own start).
    const from = bulkSince(page.cursor, overlapMs);
    const since = from && req.since && Date.parse(req.since) > Date.parse(from) ? utc(req.since) : from;
    const next: SliceCursor = { since };
    return { records, cursor: next, more: false };
  };
}
