/**
 * Shopify bulk operations: how a backfill or a first sync reads a whole store without paging through it.
 *
 * One read of a bulk query goes: start the operation (`bulkOperationRunQuery`), poll it (`node(id:)`) until it
 * completes, then stream its JSONL result in pages. The cursor the pipeline stores after every page is
 * `{ bulk: { id, line, createdAt } }` — the operation and how many of its lines the pages so far hold — so a worker
 * killed anywhere resumes **the same operation** at the same line: it neither starts a second one (the first page
 * after the start carries no records, only the operation's id, so that it is committed before anything else) nor
 * loses or repeats a record.
 *
 * As Shopify documents it (https://shopify.dev/docs/api/usage/bulk-operations/queries):
 * - The result is JSONL, one object a line; the nodes of a nested connection are lines of their own with
 *   `__parentId`, listed after their parent — right after it only when the query asks for `groupObjects: true`
 *   (https://shopify.dev/docs/api/admin-graphql/2026-01/payloads/BulkOperationRunQueryPayload: from 2026-01 the
 *   default is false, children anywhere later), which this reader does (`groupObjects`). Pages here hold whole parents: a parent is emitted when the next
 *   top-level line shows that its children are all read, with the children put back as `{ nodes: [...] }` under the
 *   connection they came from (`children`: a gid type → field), the shape a paginated read returns.
 * - Statuses (https://shopify.dev/docs/api/admin-graphql/latest/enums/bulkoperationstatus): CREATED, RUNNING,
 *   COMPLETED, FAILED, CANCELING, CANCELED, EXPIRED. A FAILED operation's `errorCode`
 *   (https://shopify.dev/docs/api/admin-graphql/latest/enums/bulkoperationerrorcode): ACCESS_DENIED (missing
 *   scopes: an auth failure), INTERNAL_SERVER_ERROR and TIMEOUT (intermittent: a new operation is started, at most
 *   `maxRestarts` times). A canceled one stops the read: somebody meant it.
 * - `url` expires seven days after completion (https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation).
 *   A download refused as expired (a signed storage URL answers 400 ExpiredToken or 403) asks the operation again
 *   for its url; an operation whose result is gone (EXPIRED, or no url) is started anew from line 0 — a re-read,
 *   which the ledger skips, never a gap.
 * - From API version 2026-01 an app may run five bulk queries at a time on a shop, one before. A start refused
 *   because too many run (`userErrors` code OPERATION_IN_PROGRESS) is a throttled failure the pipeline retries later.
 *
 * The result is read as a stream, line by line; nothing holds more than a page and one pending parent.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { failure, networkCode, wait } from '../kit/index.js';
import { ConnectorError } from '../types.js';

/** The connector's GraphQL call: `data` of the reply, or a ConnectorError of the kit's four kinds. */
export type Gql = (query: string, variables?: Record<string, unknown>, signal?: AbortSignal) => Promise<unknown>;

/** Opens a result URL as bytes; throws `UrlExpired` when the URL is no longer good. */
export type FetchUrl = (url: string, signal?: AbortSignal) => Promise<AsyncIterable<Uint8Array>>;

export type BulkNode = Record<string, unknown>;

export interface BulkPosition {
  /** The operation's gid. */
  id: string;
  /** JSONL lines the pages so far hold. */
  line: number;
  /** When the operation was created (ISO-8601): a first sync continues incrementally from just before it. */
  createdAt?: string;
  /** True after the last page. */
  done?: boolean;
  /** Operations started anew in this read (failed intermittently, or their result expired). */
  restarts?: number;
}

export interface BulkCursor {
  bulk: BulkPosition;
}

export interface BulkReadRequest {
  /** The bulk query: one top-level connection, `edges { node { … } }`, nested connections allowed. */
  query: string;
  cursor: unknown;
  limit: number;
  signal?: AbortSignal;
}

export interface BulkPage {
  nodes: BulkNode[];
  cursor: BulkCursor;
  more: boolean;
}

export interface BulkOptions {
  /** A child line's gid type (or its `__typename`, for nodes without an id) → the connection field of its parent it
   * belongs to (`{ LineItem: 'lineItems', DiscountCodeApplication: 'discountApplications' }`). */
  children?: Record<string, string>;
  /** The first wait between polls (ms, default 1000); it doubles up to `pollMaxMs`. */
  pollMs?: number;
  pollMaxMs?: number;
  /** How long one read waits for the operation before it returns an empty page to be called again (ms). */
  pollBudgetMs?: number;
  /**
   * Ask for the children grouped under their parents (`groupObjects: true`): the argument exists from API version
   * 2025-10 and defaults to false from 2026-01, when children may come anywhere after their parent — which a reader
   * that streams cannot put back. Undefined: the argument is not sent (the versions before it always grouped).
   */
  groupObjects?: boolean;
  /** New operations started after intermittent failures or an expired result (counted in the cursor) before the
   * failure goes to the pipeline. */
  maxRestarts?: number;
}

export interface BulkStats {
  started: number;
  polls: number;
  /** Operations started anew: failed intermittently, or their result expired. */
  restarts: number;
  /** Fresh URLs asked for after a download was refused. */
  urlRefreshes: number;
  /** Downloads opened (one per operation unless a worker resumed it or its URL was refreshed). */
  downloads: number;
  lines: number;
  nodes: number;
}

/** A result URL that is no longer good (expired signature, or gone). */
export class UrlExpired extends Error {
  constructor(readonly status: number) {
    super(`the bulk result URL was refused (HTTP ${status})`);
    this.name = 'UrlExpired';
  }
}

const RUN = `mutation rsyncBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status createdAt } userErrors { field message code } }
}`;
const RUN_GROUPED = `mutation rsyncBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) { bulkOperation { id status createdAt } userErrors { field message code } }
}`;
const POLL = `query rsyncBulkPoll($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl createdAt completedAt } }
}`;

interface Operation {
  id: string;
  status: string;
  errorCode?: string | null;
  url?: string | null;
  createdAt?: string;
  objectCount?: string | number;
}

/** The download as a Web fetch: no credentials (the URL is signed), the body streamed. */
export const fetchResult: FetchUrl = async (url, signal) => {
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw failure.transient(`downloading a Shopify bulk result failed: ${networkCode(e)}`);
  }
  if (res.status === 400 || res.status === 403 || res.status === 404 || res.status === 410) {
    await res.body?.cancel();
    throw new UrlExpired(res.status);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new ConnectorError(
      `downloading a Shopify bulk result: HTTP ${res.status}`,
      res.status >= 500,
      undefined,
      res.status,
    );
  }
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
};

/** The gid's type: "gid://shopify/LineItem/1" → "LineItem". */
export function gidType(gid: unknown): string | undefined {
  return typeof gid === 'string' ? /^gid:\/\/shopify\/([^/]+)\//.exec(gid)?.[1] : undefined;
}

export function asBulkCursor(c: unknown): BulkCursor | null {
  const b = (c as BulkCursor | null)?.bulk;
  return b && typeof b.id === 'string' && Number.isInteger(b.line) ? { bulk: { ...b } } : null;
}

/** A download in progress: where it is, so that the next page of the same read goes on from it. */
interface Live {
  id: string;
  url: string;
  /** Lines consumed into emitted pages. */
  line: number;
  lines: AsyncIterator<string>;
  /** A top-level node read, its children still coming, and how many lines it and they span. */
  pending: { node: BulkNode; lines: number } | null;
  close(): void;
}

export function bulkReader(gql: Gql, fetchUrl: FetchUrl = fetchResult, o: BulkOptions = {}) {
  const children = o.children ?? {};
  const pollMs = o.pollMs ?? 1000;
  const pollMaxMs = o.pollMaxMs ?? 10_000;
  const budget = o.pollBudgetMs ?? 30_000;
  const maxRestarts = o.maxRestarts ?? 3;
  const stats: BulkStats = { started: 0, polls: 0, restarts: 0, urlRefreshes: 0, downloads: 0, lines: 0, nodes: 0 };
  const live = new Map<string, Live>();

  async function start(query: string, signal?: AbortSignal): Promise<Operation> {
    const data = (await gql(o.groupObjects ? RUN_GROUPED : RUN, { query }, signal)) as {
      bulkOperationRunQuery?: { bulkOperation?: Operation | null; userErrors?: { message: string; code?: string }[] };
    };
    const r = data?.bulkOperationRunQuery;
    const errs = r?.userErrors ?? [];
    if (errs.length || !r?.bulkOperation) {
      const msg = errs.map((e) => e.message).join('; ') || 'no operation returned';
      if (errs.some((e) => e.code === 'OPERATION_IN_PROGRESS' || /already in progress/i.test(e.message)))
        throw failure.throttled(`Shopify is running as many bulk queries as it allows on this shop: ${msg}`, 30_000);
      throw failure.permanent(`Shopify refused the bulk query: ${msg}`);
    }
    stats.started++;
    return r.bulkOperation;
  }

  async function poll(id: string, signal?: AbortSignal): Promise<Operation> {
    stats.polls++;
    const data = (await gql(POLL, { id }, signal)) as { node?: Operation | null };
    if (!data?.node?.status) throw failure.permanent(`Shopify does not know the bulk operation ${id}`);
    return data.node;
  }

  /** Polls until the operation has a result (or the budget is spent: null). */
  async function settle(op: Operation, signal?: AbortSignal): Promise<Operation | null> {
    const until = Date.now() + budget;
    let delay = pollMs;
    for (;;) {
      if (op.status === 'COMPLETED' || op.status === 'FAILED' || op.status === 'CANCELED' || op.status === 'EXPIRED')
        return op;
      if (Date.now() + delay > until) return null;
      await wait(delay, signal);
      delay = Math.min(pollMaxMs, delay * 2);
      op = await poll(op.id, signal);
    }
  }

  function failed(op: Operation): ConnectorError {
    const what = `the Shopify bulk operation ${op.id} ${op.status === 'CANCELED' ? 'was canceled' : `failed (${op.errorCode ?? 'no error code'})`}`;
    if (op.errorCode === 'ACCESS_DENIED')
      return failure.auth(`${what}: the app lacks a scope the query needs; run the query without bulk to see which`);
    if (op.status === 'CANCELED') return failure.permanent(`${what}; start the backfill again to read anew`);
    return failure.transient(what);
  }

  async function open(id: string, url: string, skip: number, signal?: AbortSignal): Promise<Live> {
    const bytes = await fetchUrl(url, signal);
    stats.downloads++;
    const rl = createInterface({ input: Readable.from(bytes), crlfDelay: Number.POSITIVE_INFINITY });
    const lines = rl[Symbol.asyncIterator]();
    for (let i = 0; i < skip; i++) if ((await lines.next()).done) break;
    return {
      id,
      url,
      line: skip,
      lines,
      pending: null,
      close: () => rl.close(),
    };
  }

  function attach(parent: BulkNode, child: BulkNode): boolean {
    const field =
      children[gidType(child.id) ?? String(child.__typename)] ?? children[String(child.__typename)] ?? 'children';
    const { __parentId: _, ...rest } = child;
    const conn = (parent[field] ??= { nodes: [] }) as { nodes: BulkNode[] };
    conn.nodes.push(rest);
    return true;
  }

  /** Up to `limit` whole parents from the live download. */
  async function page(l: Live, limit: number): Promise<{ nodes: BulkNode[]; done: boolean }> {
    const nodes: BulkNode[] = [];
    for (;;) {
      const next = await l.lines.next();
      if (next.done) {
        if (l.pending) {
          nodes.push(l.pending.node);
          l.line += l.pending.lines;
          l.pending = null;
        }
        return { nodes, done: true };
      }
      const text = next.value.trim();
      stats.lines++;
      if (!text) {
        if (l.pending) l.pending.lines++;
        else l.line++;
        continue;
      }
      const obj = JSON.parse(text) as BulkNode;
      if (typeof obj.__parentId === 'string') {
        if (!l.pending)
          throw failure.permanent(
            `the Shopify bulk result of ${l.id} has a child line (${String(obj.id)}) before any parent, at line ${l.line + 1}`,
          );
        if (!attachTo(l.pending.node, obj))
          throw failure.permanent(
            `the Shopify bulk result of ${l.id} lists ${String(obj.id)} after a parent other than ${String(obj.__parentId)}: its parent was already emitted`,
          );
        l.pending.lines++;
        continue;
      }
      if (l.pending) {
        nodes.push(l.pending.node);
        l.line += l.pending.lines;
      }
      l.pending = { node: obj, lines: 1 };
      if (nodes.length >= limit) return { nodes, done: false };
    }
  }

  /** Attaches a child to the pending parent, or to one of its own children (a connection nested two deep). */
  function attachTo(parent: BulkNode, child: BulkNode): boolean {
    if (parent.id === child.__parentId) return attach(parent, child);
    for (const v of Object.values(parent)) {
      const nodes = (v as { nodes?: BulkNode[] } | null)?.nodes;
      if (!Array.isArray(nodes)) continue;
      for (let i = nodes.length - 1; i >= 0; i--) if (attachTo(nodes[i], child)) return true;
    }
    return false;
  }

  async function read(q: BulkReadRequest): Promise<BulkPage> {
    const at = asBulkCursor(q.cursor);
    if (at?.bulk.done) return { nodes: [], cursor: at, more: false };
    if (!at) {
      const op = await start(q.query, q.signal);
      // The first page holds only the operation's id: committed, it is what a restarted worker resumes.
      return { nodes: [], cursor: { bulk: { id: op.id, line: 0, createdAt: op.createdAt } }, more: true };
    }
    let pos = at.bulk;
    let l = live.get(pos.id);
    if (!l || l.line !== pos.line) {
      l?.close();
      live.delete(pos.id);
      l = undefined;
      for (let refreshed = false; !l; ) {
        const op = await settle(await poll(pos.id, q.signal), q.signal);
        if (!op) return { nodes: [], cursor: { bulk: pos }, more: true }; // still running: called again
        const empty = op.status === 'COMPLETED' && !op.url && Number(op.objectCount ?? 0) === 0;
        if (empty) return { nodes: [], cursor: { bulk: { ...pos, done: true } }, more: false };
        const gone = op.status === 'EXPIRED' || (op.status === 'COMPLETED' && !op.url);
        if (op.status === 'FAILED' || op.status === 'CANCELED' || gone) {
          const err = gone
            ? failure.transient(`the result of the Shopify bulk operation ${op.id} expired`)
            : failed(op);
          const restarts = pos.restarts ?? 0;
          if (!err.transient || restarts >= maxRestarts) throw err;
          stats.restarts++;
          const fresh = await start(q.query, q.signal);
          // From line 0 of the new result: what the old one held is read again, and the ledger skips it.
          pos = { id: fresh.id, line: 0, createdAt: fresh.createdAt, restarts: restarts + 1 };
          return { nodes: [], cursor: { bulk: pos }, more: true };
        }
        try {
          l = await open(op.id, op.url as string, pos.line, q.signal);
          live.set(op.id, l);
        } catch (e) {
          if (!(e instanceof UrlExpired) || refreshed) throw e instanceof UrlExpired ? failure.transient(e.message) : e;
          refreshed = true;
          stats.urlRefreshes++;
        }
      }
    }
    const { nodes, done } = await page(l, q.limit);
    stats.nodes += nodes.length;
    const cursor: BulkCursor = { bulk: { ...pos, line: l.line, ...(done ? { done } : {}) } };
    if (done) {
      l.close();
      live.delete(pos.id);
    }
    return { nodes, cursor, more: !done };
  }

  return {
    read,
    stats,
    close(): void {
      for (const l of live.values()) l.close();
      live.clear();
    },
  };
}

export type BulkReader = ReturnType<typeof bulkReader>;
