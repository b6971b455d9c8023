/**
 * Shopify bulk operations for backfills and first syncs: start a bulk query, poll it, stream its JSONL result in
 * pages of GraphQL-shaped nodes, and resume after a crash from the operation id and line stored in the cursor.
 *
 *   const bulk = bulkReader(gql, defaultFetchUrl(), { children: { LineItem: 'lineItems' } });
 *   const page = await bulk.read({ query: '{ orders { edges { node { id lineItems { edges { node { id } } } } } } }',
 *                                  cursor, limit: 250, signal });
 *   // page.cursor = { bulk: { id, line, createdAt, completedAt, done } }: persist it with the page
 *
 * What Shopify documents, and what is done about it:
 * - Start: `bulkOperationRunQuery(query:, groupObjects:)` returns `bulkOperation { id status }` and `userErrors
 *   { field message code }` (BulkOperationUserErrorCode INVALID, LIMIT_REACHED, OPERATION_IN_PROGRESS) —
 *   https://shopify.dev/docs/api/admin-graphql/latest/mutations/bulkOperationRunQuery,
 *   https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationUserErrorCode. `groupObjects: true` is sent:
 *   since 2025-07 it defaults to false, and only grouped output "places child objects directly below their
 *   corresponding parent objects" (https://shopify.dev/changelog/posts/bulk-operations-group-objects-default-changed-to-false,
 *   https://shopify.dev/changelog/posts/optional-groupobjects-argument-in-bulk-operations-mutations-that-offers-faster-and-more-reliable-job-execution),
 *   which is what lets a parent be emitted as soon as the next top-level line is seen. A child whose parent is not
 *   the open one (ungrouped output) is a permanent failure, never a silently misplaced child.
 * - One bulk query at a time per shop before 2026-01, five from 2026-01 —
 *   https://shopify.dev/docs/api/usage/bulk-operations/queries. Refused with OPERATION_IN_PROGRESS ("A bulk query
 *   operation for this app and shop is already in progress: gid://shopify/BulkOperation/…", as Airbyte's
 *   source-shopify matches it), the running operation (the gid in the message, else `currentBulkOperation`) is
 *   adopted when its `query` is ours — a worker that died before storing its cursor picks its own operation up again
 *   — and otherwise the read is throttled (retried later), never a second operation fighting the first.
 * - Poll: `node(id:) { ... on BulkOperation { … } }` with back-off; statuses CREATED, RUNNING, COMPLETED, CANCELING,
 *   CANCELED, FAILED, EXPIRED (https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationStatus); a
 *   FAILED one has an errorCode (https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationErrorCode):
 *   ACCESS_DENIED (missing scopes) → auth; INTERNAL_SERVER_ERROR and TIMEOUT ("might be intermittent") → transient.
 *   partialDataUrl is not read: a partial backfill would look complete.
 * - `url` is a signed link that "expires after seven days", and so does the result
 *   (https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation). A download refused (400/401/403/404,
 *   as Google Cloud Storage answers an expired signature: 400 ExpiredToken, or a bad one: 403) re-queries the node
 *   for a fresh url; an operation whose result EXPIRED (or was CANCELED) is started again from line 0 — records
 *   are re-read, which the ledger makes harmless — and `stats.restarted` says so.
 * - An operation with no results has `url: null` (nothing to download).
 *
 * The JSONL is streamed line by line (never the whole file in memory); only the open parent and its children are
 * buffered. Lines with `__parentId` are attached to their parent as `{ nodes: [...] }` under the connection field
 * `children` names for their gid type, so the nodes come out as a paginated GraphQL read returns them. Within one
 * process the download stays open between pages; a reader restarted from a cursor downloads again and skips the
 * lines already consumed (counting newlines, not parsing them).
 */
import { redact } from '../secrets.js';
import { ConnectorError } from '../types.js';
import { failure, networkCode, statusKind } from '../kit/errors.js';
import { DEFAULT_OVERLAP_MS, utc } from '../kit/cursor.js';
import { wait } from '../kit/limiter.js';

// biome-ignore lint/suspicious/noExplicitAny: Shopify's nodes, read field by field
type Obj = Record<string, any>;

/** The connector's GraphQL call: the `data` of the response, or a ConnectorError. */
export type Gql = (query: string, variables?: Record<string, unknown>, signal?: AbortSignal) => Promise<Obj>;
/** Downloads a result URL; fails with a ConnectorError carrying the HTTP status. */
export type FetchUrl = (
  url: string,
  signal?: AbortSignal,
) => Promise<ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>>;

export interface BulkPosition {
  /** The operation's gid. */
  id: string;
  /** JSONL lines consumed: those of the nodes already returned. */
  line: number;
  createdAt?: string;
  completedAt?: string | null;
  /** The last page was returned. */
  done?: boolean;
}
export interface BulkCursor {
  bulk: BulkPosition;
}

export interface BulkOptions {
  /**
   * The connection field of each child gid type: `{ LineItem: 'lineItems' }` attaches a LineItem to the top-level
   * node; `{ RefundLineItem: 'Refund.refundLineItems' }` to a child of type Refund. Every node gets `{ nodes: [] }`
   * for the fields that can hang under it, as a paginated read returns an empty connection.
   */
  children?: Record<string, string>;
  /** First wait between polls (default 500 ms), doubled up to `pollMaxMs` (default 10 s). */
  pollMs?: number;
  pollMaxMs?: number;
  /** Polls in one read before it returns an empty page holding the operation id (default 120), to be persisted. */
  maxPolls?: number;
  /** How a wait is made (tests pass a short one). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  name?: string;
}

export interface BulkRead {
  query: string;
  cursor?: unknown;
  limit: number;
  signal?: AbortSignal;
}
export interface BulkPage {
  nodes: Obj[];
  cursor: BulkCursor;
  more: boolean;
}

export interface BulkStats {
  /** Operations started by this reader. */
  started: number;
  /** Running operations of ours adopted after OPERATION_IN_PROGRESS. */
  adopted: number;
  /** Operations started again because the stored one's result expired or was canceled. */
  restarted: number;
  /** Stored operations resumed (from a cursor, by a reader that had no open download). */
  resumed: number;
  polls: number;
  /** Fresh URLs asked for after a download was refused. */
  urlRefreshes: number;
  /** Downloads opened. */
  downloads: number;
  /** JSONL lines read, skipped ones included. */
  lines: number;
  /** Lines skipped to reach a stored position. */
  skipped: number;
  /** The most lines buffered at once for one open parent (memory stays bounded by the largest parent). */
  maxBuffered: number;
  /** Why the last operation was restarted, when it was. */
  lastRestart?: string;
}

const OPERATION_FIELDS =
  'id status errorCode objectCount rootObjectCount url partialDataUrl createdAt completedAt query';
export const RUN_QUERY = `mutation bulkRun($query: String!, $groupObjects: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}`;
export const NODE_QUERY = `query bulkNode($id: ID!) { node(id: $id) { ... on BulkOperation { ${OPERATION_FIELDS} } } }`;
export const CURRENT_QUERY = `query bulkCurrent { currentBulkOperation(type: QUERY) { ${OPERATION_FIELDS} } }`;

interface Operation {
  id: string;
  status: string;
  errorCode?: string | null;
  objectCount?: string | number;
  url?: string | null;
  createdAt?: string;
  completedAt?: string | null;
  query?: string;
}

/**
 * Where an incremental read continues after a finished backfill: the operation's creation time less the overlap
 * (what changed while it ran is read again, and the ledger skips what was delivered). Null before the last page.
 */
export function bulkSince(cursor: unknown, overlapMs = DEFAULT_OVERLAP_MS): string | null {
  const b = (cursor as BulkCursor | null)?.bulk;
  if (!b?.done || !b.createdAt) return null;
  return utc(Date.parse(b.createdAt) - overlapMs);
}

/** The gid's type: gid://shopify/LineItem/1 → LineItem. */
export const gidType = (id: unknown): string => (typeof id === 'string' ? (id.split('/')[3] ?? '') : '');

/** Queries compared as Shopify stores them, whitespace aside. */
const sameQuery = (a: string | undefined, b: string) =>
  !!a && a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();

/**
 * The default download: plain fetch (the signed URL is the credential, so nothing is added), errors without the URL.
 * The timeout and the caller's signal bound the wait for the response only, not the body: the reader keeps one
 * download open across pages (while the pipeline writes each page) and closes it itself.
 */
export function defaultFetchUrl(name = 'shopify', timeoutMs = 60_000): FetchUrl {
  return async (url, signal) => {
    const connecting = new AbortController();
    const timer = setTimeout(() => connecting.abort(new Error('timeout')), timeoutMs);
    const onAbort = () => connecting.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let res: Response;
    try {
      res = await fetch(url, { signal: connecting.signal });
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      const what = connecting.signal.aborted
        ? `no response within ${Math.round(timeoutMs / 1000)} s`
        : `network error (${networkCode(e)})`;
      throw failure.transient(`${name}: bulk result download: ${what}`);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (!res.ok || !res.body) {
      const code = (await res.text().catch(() => '')).match(/<Code>([A-Za-z]+)<\/Code>/)?.[1];
      // Never the URL: its query string is the signature.
      const message = `${name}: bulk result download: HTTP ${res.status}${code ? ` ${code}` : ''}`;
      throw new ConnectorError(redact(message), statusKind(res.status) === 'transient', undefined, res.status);
    }
    return res.body;
  };
}

/** The lines of a byte stream, one at a time, with only the unfinished last line kept between chunks. */
async function* lines(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    let at = rest.indexOf('\n');
    let from = 0;
    while (at !== -1) {
      yield rest.slice(from, at);
      from = at + 1;
      at = rest.indexOf('\n', from);
    }
    rest = rest.slice(from);
  }
  rest += decoder.decode();
  if (rest) yield rest;
}

/** An open download: where it is, and the top-level node read ahead (the line that closed the previous node). */
interface Session {
  id: string;
  line: number;
  it: AsyncGenerator<string>;
  /** The open parent and the lines it took, or null before the first. */
  open: { node: Obj; index: Map<string, Obj>; lines: number } | null;
  ended: boolean;
  createdAt?: string;
  completedAt?: string | null;
}

export function bulkReader(gql: Gql, fetchUrl: FetchUrl = defaultFetchUrl(), opts: BulkOptions = {}) {
  const name = opts.name ?? 'shopify';
  const sleep = opts.sleep ?? wait;
  const children = opts.children ?? {};
  const stats: BulkStats = {
    started: 0,
    adopted: 0,
    restarted: 0,
    resumed: 0,
    polls: 0,
    urlRefreshes: 0,
    downloads: 0,
    lines: 0,
    skipped: 0,
    maxBuffered: 0,
  };
  let session: Session | null = null;

  /** Parent type ('' for top level) → the connection fields that hang under it. */
  const fieldsUnder = new Map<string, string[]>();
  const childField = new Map<string, { under: string; field: string }>();
  for (const [type, spec] of Object.entries(children)) {
    const [under, field] = spec.includes('.') ? spec.split('.', 2) : ['', spec];
    childField.set(type, { under, field });
    fieldsUnder.set(under, [...(fieldsUnder.get(under) ?? []), field]);
  }
  const withEmpty = (node: Obj, under: string): Obj => {
    for (const f of fieldsUnder.get(under) ?? []) if (node[f] === undefined) node[f] = { nodes: [] };
    return node;
  };

  async function node(id: string, signal?: AbortSignal): Promise<Operation | null> {
    const data = await gql(NODE_QUERY, { id }, signal);
    const op = data?.node as Operation | null | undefined;
    return op?.id ? op : null;
  }

  async function start(query: string, signal?: AbortSignal): Promise<Operation> {
    const data = await gql(RUN_QUERY, { query, groupObjects: true }, signal);
    const payload = data?.bulkOperationRunQuery as
      | { bulkOperation?: Operation | null; userErrors?: { message: string; code?: string | null }[] }
      | undefined;
    const errors = payload?.userErrors ?? [];
    if (payload?.bulkOperation?.id && errors.length === 0) {
      stats.started++;
      return payload.bulkOperation;
    }
    const busy = errors.find(
      (e) => e.code === 'OPERATION_IN_PROGRESS' || e.code === 'LIMIT_REACHED' || /already in progress/i.test(e.message),
    );
    if (busy) {
      const gid = busy.message.match(/gid:\/\/shopify\/BulkOperation\/\d+/)?.[0];
      const running = gid
        ? await node(gid, signal)
        : ((await gql(CURRENT_QUERY, {}, signal))?.currentBulkOperation as Operation | null);
      if (running && sameQuery(running.query, query) && ['CREATED', 'RUNNING', 'COMPLETED'].includes(running.status)) {
        stats.adopted++;
        return running;
      }
      throw failure.throttled(
        `${name}: bulk query refused: another bulk query of this app is running on the shop${gid ? ` (${gid})` : ''}; retried later`,
        30_000,
      );
    }
    const text = errors.map((e) => `${e.code ?? 'ERROR'}: ${e.message}`).join('; ') || 'no operation returned';
    throw failure.permanent(`${name}: bulkOperationRunQuery refused: ${text}`);
  }

  function failed(op: Operation): ConnectorError {
    const msg = `${name}: bulk operation ${op.id} failed: ${op.errorCode ?? 'no errorCode'}`;
    if (op.errorCode === 'ACCESS_DENIED')
      return failure.auth(
        `${msg} (the token lacks a scope the query needs: run the query as a normal request to see which)`,
      );
    if (op.errorCode === 'INTERNAL_SERVER_ERROR' || op.errorCode === 'TIMEOUT') return failure.transient(msg);
    return failure.permanent(msg);
  }

  /**
   * Polls until COMPLETED (`done`); not done when the poll budget of this read is spent, and the caller persists the
   * operation's id. The operation returned may be a new one, when the polled one was canceled or its result expired.
   */
  async function settle(op: Operation, query: string, signal?: AbortSignal): Promise<{ op: Operation; done: boolean }> {
    let delay = opts.pollMs ?? 500;
    for (let n = 0; ; n++) {
      if (op.status === 'COMPLETED') return { op, done: true };
      if (op.status === 'FAILED') throw failed(op);
      if (op.status === 'EXPIRED' || op.status === 'CANCELED' || op.status === 'CANCELING') {
        stats.restarted++;
        stats.lastRestart = `operation ${op.id} was ${op.status}: started again`;
        op = await start(query, signal);
        continue;
      }
      if (n >= (opts.maxPolls ?? 120)) return { op, done: false };
      await sleep(delay, signal);
      delay = Math.min(delay * 2, opts.pollMaxMs ?? 10_000);
      stats.polls++;
      const next = await node(op.id, signal);
      if (!next) throw failure.transient(`${name}: bulk operation ${op.id} is not known to the shop`);
      op = next;
    }
  }

  /** A download of `op` positioned at `line`; a refused URL is asked for again once, an expired result restarts. */
  async function open(op: Operation, line: number, signal?: AbortSignal): Promise<Session | Operation> {
    for (let attempt = 0; ; attempt++) {
      if (!op.url) return { id: op.id, line: 0, it: (async function* () {})(), open: null, ended: true, ...when(op) };
      try {
        stats.downloads++;
        const body = await fetchUrl(op.url, signal);
        const it = lines(body);
        for (let skip = 0; skip < line; skip++) {
          const r = await pull(it, op.id, skip, signal);
          if (r.done) throw failure.permanent(`${name}: bulk result of ${op.id} has fewer than ${line} lines`);
          stats.lines++;
          stats.skipped++;
        }
        return { id: op.id, line, it, open: null, ended: false, ...when(op) };
      } catch (e) {
        const s = e instanceof ConnectorError ? e.status : undefined;
        if (s === undefined || ![400, 401, 403, 404].includes(s) || attempt >= 2) throw e;
        stats.urlRefreshes++;
        const fresh = await node(op.id, signal);
        if (!fresh || fresh.status === 'EXPIRED' || !fresh.url) return fresh ?? { ...op, status: 'EXPIRED' };
        op = fresh;
      }
    }
  }

  const when = (op: Operation) => ({ createdAt: op.createdAt, completedAt: op.completedAt ?? null });

  /** The next line; a connection that drops mid-file is a transient failure (the stored cursor resumes it). */
  async function pull(it: AsyncGenerator<string>, id: string, at: number, signal?: AbortSignal) {
    try {
      return await it.next();
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      if (e instanceof ConnectorError) throw e;
      throw failure.transient(
        `${name}: bulk result of ${id}: download interrupted after line ${at} (${networkCode(e)})`,
      );
    }
  }

  /** The next complete top-level node and the lines it took, or null at the end. */
  async function next(s: Session, signal?: AbortSignal): Promise<{ node: Obj; lines: number } | null> {
    while (!s.ended) {
      const r = await pull(s.it, s.id, s.line + (s.open?.lines ?? 0), signal);
      if (r.done) {
        s.ended = true;
        break;
      }
      stats.lines++;
      if (!r.value.trim()) {
        if (s.open) s.open.lines++;
        else s.line++;
        continue;
      }
      let obj: Obj;
      try {
        obj = JSON.parse(r.value);
      } catch {
        throw failure.permanent(
          `${name}: bulk result of ${s.id}: line ${s.line + (s.open?.lines ?? 0) + 1} is not JSON`,
        );
      }
      const parentId = obj.__parentId;
      if (parentId === undefined) {
        const done = s.open;
        s.open = { node: withEmpty(obj, ''), index: new Map([[obj.id, obj]]), lines: 1 };
        if (done) return { node: done.node, lines: done.lines };
        continue;
      }
      const parent = s.open?.index.get(parentId);
      if (!s.open || !parent) {
        throw failure.permanent(
          `${name}: bulk result of ${s.id}: a child of ${parentId} is not below its parent (the query must run with groupObjects: true)`,
        );
      }
      // A node without an id (a discount application) is known by its __typename.
      const type = gidType(obj.id) || (typeof obj.__typename === 'string' ? obj.__typename : '');
      const where = childField.get(type);
      if (!where)
        throw failure.permanent(
          `${name}: bulk result of ${s.id}: no connection field for child type ${type || '(no id)'}`,
        );
      delete obj.__parentId;
      const list = (parent[where.field] ??= { nodes: [] });
      list.nodes.push(withEmpty(obj, type));
      if (obj.id) s.open.index.set(obj.id, obj);
      s.open.lines++;
      stats.maxBuffered = Math.max(stats.maxBuffered, s.open.lines);
    }
    const last = s.open;
    s.open = null;
    return last ? { node: last.node, lines: last.lines } : null;
  }

  const position = (s: Session, done: boolean): BulkCursor => ({
    bulk: { id: s.id, line: s.line, createdAt: s.createdAt, completedAt: s.completedAt, ...(done ? { done } : {}) },
  });

  function stored(cursor: unknown): BulkPosition | null {
    const b = (cursor as BulkCursor | null)?.bulk;
    return b && typeof b.id === 'string' && Number.isInteger(b.line) && b.line >= 0 ? b : null;
  }

  async function read(r: BulkRead): Promise<BulkPage> {
    const at = stored(r.cursor);
    if (at?.done) return { nodes: [], cursor: { bulk: at }, more: false };
    let s = session && at && session.id === at.id && session.line === at.line ? session : null;
    if (!s) {
      await close();
      let op: Operation | null = null;
      let line = 0;
      if (at) {
        op = await node(at.id, r.signal);
        // A stored operation that failed for a passing reason (the pipeline retried the read) is run again.
        const passing =
          op?.status === 'FAILED' && (op.errorCode === 'INTERNAL_SERVER_ERROR' || op.errorCode === 'TIMEOUT');
        if (op && op.status !== 'EXPIRED' && op.status !== 'CANCELED' && !passing) {
          line = at.line;
          stats.resumed++;
        } else {
          stats.restarted++;
          stats.lastRestart = `operation ${at.id} ${op ? `is ${op.status}` : 'is unknown'}: started again from line 0`;
          op = null;
        }
      }
      op ??= await start(r.query, r.signal);
      for (;;) {
        const settled = await settle(op, r.query, r.signal);
        const done = settled.op;
        if (!settled.done) {
          return { nodes: [], cursor: { bulk: { id: done.id, line: 0, createdAt: done.createdAt } }, more: true };
        }
        if (done.id !== at?.id) line = 0;
        const opened = await open(done, line, r.signal);
        if ('it' in opened) {
          s = opened;
          break;
        }
        stats.restarted++;
        stats.lastRestart = `the result of ${done.id} expired: started again from line 0`;
        op = await start(r.query, r.signal);
      }
      session = s;
    }
    const nodes: Obj[] = [];
    try {
      while (nodes.length < r.limit) {
        r.signal?.throwIfAborted();
        const got = await next(s, r.signal);
        if (!got) break;
        nodes.push(got.node);
        s.line += got.lines;
      }
    } catch (e) {
      await close();
      throw e;
    }
    // More, unless the end was reached with nothing left open.
    const more = !(s.ended && !s.open);
    if (!more) await close();
    return { nodes, cursor: position(s, !more), more };
  }

  async function close(): Promise<void> {
    const s = session;
    session = null;
    await s?.it.return(undefined).catch(() => {});
  }

  return { read, stats, close };
}
