/**
 * Shopify's bulk query operations, faked for the bulk reader's tests (bulk.test.ts), the connector's fake
 * (mount `graphqlHook` and `routeHook` on startFakeShopify) and the benchmark. It follows what Shopify documents:
 *
 * - `bulkOperationRunQuery(query:, groupObjects:)` → `{ bulkOperation { id status … }, userErrors { field message
 *   code } }` — https://shopify.dev/docs/api/admin-graphql/latest/mutations/bulkOperationRunQuery. Results "remain
 *   available for seven days after completion".
 * - Concurrency: one bulk query per app and shop before API 2026-01, five from 2026-01 —
 *   https://shopify.dev/docs/api/usage/bulk-operations/queries. Past it the mutation returns no operation and the
 *   userError OPERATION_IN_PROGRESS (https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationUserErrorCode)
 *   with the message "A bulk query operation for this app and shop is already in progress: gid://shopify/BulkOperation/…."
 *   (the wording Airbyte's source-shopify and other clients match). A CANCELING operation still counts.
 * - `node(id:)` and `currentBulkOperation(type: QUERY)` ("the current app's most recent BulkOperation") answer the
 *   BulkOperation: id status errorCode objectCount rootObjectCount fileSize url partialDataUrl createdAt completedAt
 *   query type — https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation,
 *   https://shopify.dev/docs/api/admin-graphql/latest/queries/currentBulkOperation. Status goes CREATED → RUNNING →
 *   COMPLETED (or FAILED with an errorCode ACCESS_DENIED | INTERNAL_SERVER_ERROR | TIMEOUT, or EXPIRED when the result
 *   is gone) — https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationStatus and
 *   …/enums/BulkOperationErrorCode. Here each poll of the operation moves it on (`pollsToRun`, `pollsToComplete`).
 * - The result is JSONL: one object per line; a nested connection's nodes are lines of their own with `__parentId`
 *   naming their parent, and with groupObjects: true each parent's children come directly below it —
 *   https://shopify.dev/docs/api/usage/bulk-operations/queries,
 *   https://shopify.dev/changelog/posts/bulk-operations-group-objects-default-changed-to-false (since 2025-07 the
 *   default is false: children are not grouped; here they then all come after every parent).
 * - `url` is a signed storage link (Google Cloud Storage V4 style: X-Goog-Date, X-Goog-Expires, X-Goog-Signature —
 *   https://cloud.google.com/storage/docs/access-control/signed-urls). A request after its expiry is refused with
 *   HTTP 400 and `<Code>ExpiredToken</Code>` (as Cloud Storage does: floci-io/floci-gcp#33, fog/fog-google#264:
 *   "The provided token has expired."), a wrong signature with 403 SignatureDoesNotMatch; `expiredStatus: 403`
 *   answers an expired link with 403 instead (S3 and R2 style). Every node query signs a fresh link.
 *
 * The JSONL is written lazily: `rows(query)` is iterated as the download is read, with back-pressure, so 100,000
 * orders are never built in memory. `flattenForJsonl` turns GraphQL-shaped nodes (children as `{ nodes: [...] }`)
 * into those lines. Production code (the demo may mount it): no test framework here. Only `variables.query` and
 * `variables.id` are read: the reader sends its arguments as variables.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FakeShopify, type FakeStore, type ShopifyFakeOptions, startFakeShopify } from './fake.js';
import { BULK_CHILDREN, bulkChildFields } from './first-sync.js';

// biome-ignore lint/suspicious/noExplicitAny: Shopify's nodes, read field by field
type Obj = Record<string, any>;

export type BulkErrorCode = 'ACCESS_DENIED' | 'INTERNAL_SERVER_ERROR' | 'TIMEOUT';

export interface BulkFakeOptions {
  /** The flat JSONL objects of a query's result (parents, and children with `__parentId`), generated on demand. */
  rows(query: string): Iterable<Obj>;
  /** Where routeHook is mounted (http://127.0.0.1:port): the origin of the signed links. */
  origin: string;
  /** The API version the shop is called with (default 2026-07): decides the concurrency limit. */
  apiVersion?: string;
  /** Polls answered CREATED, then RUNNING, before COMPLETED (defaults 1 and 1). */
  pollsToRun?: number;
  pollsToComplete?: number;
  /** The next operations fail with this errorCode instead of completing. */
  failWith?: BulkErrorCode;
  /** objectCount when complete; by default the rows are counted (iterated once more, not kept). */
  objectCount?: number;
  /** How long a signed link lives (default 7 days, as the result). */
  urlTtlMs?: number;
  /** The status of an expired link (default 400, Cloud Storage's ExpiredToken). */
  expiredStatus?: 400 | 403;
  now?: () => number;
}

export interface FakeBulkOperation {
  id: string;
  query: string;
  groupObjects: boolean;
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'CANCELING' | 'CANCELED' | 'FAILED' | 'EXPIRED';
  errorCode: BulkErrorCode | null;
  createdAt: string;
  completedAt: string | null;
  polls: number;
  objectCount: number;
  rootObjectCount: number;
  /** Downloads started, and lines written over all of them. */
  downloads: number;
  written: number;
}

export interface BulkFake {
  graphqlHook(query: string, variables?: Obj): unknown | undefined;
  routeHook(req: IncomingMessage, res: ServerResponse): boolean;
  operations: FakeBulkOperation[];
  /** Every link signed so far is expired (new node queries sign fresh ones). */
  expireUrls(): void;
  /** The next `n` links are signed already expired. */
  expireNextUrls(n: number): void;
  /** The operation's result is gone (status EXPIRED, url null), as after seven days. */
  expireResult(id: string): void;
  /** The next download drops its connection (socket destroyed) after writing `lines` lines. */
  dropNextDownloadAfter(lines: number): void;
  /** Which links were refused, by reason. */
  refused: { expired: number; signature: number };
  options: BulkFakeOptions;
}

const IN_PROGRESS = ['CREATED', 'RUNNING', 'CANCELING'];

/** GraphQL-shaped nodes as Shopify's JSONL lines: each `{ nodes: [...] }` child below its parent, with `__parentId`. */
export function* flattenForJsonl(nodes: Iterable<Obj>, childFields: readonly string[]): Generator<Obj> {
  function* walk(node: Obj, parentId?: string): Generator<Obj> {
    const line: Obj = {};
    const later: Obj[] = [];
    for (const [k, v] of Object.entries(node)) {
      if (childFields.includes(k) && v && Array.isArray(v.nodes)) later.push(...v.nodes);
      else line[k] = v;
    }
    if (parentId !== undefined) line.__parentId = parentId;
    yield line;
    for (const child of later) yield* walk(child, node.id);
  }
  for (const n of nodes) yield* walk(n);
}

/** API versions are YYYY-MM: five concurrent bulk queries from 2026-01 (or unstable), one before. */
const concurrencyOf = (v: string) => (v === 'unstable' || v >= '2026-01' ? 5 : 1);

export function createBulkFake(opts: BulkFakeOptions): BulkFake {
  const now = opts.now ?? Date.now;
  const key = randomBytes(32);
  const operations: FakeBulkOperation[] = [];
  const refused = { expired: 0, signature: 0 };
  let nextId = 4_046_676_525_245; // the magnitude of real BulkOperation ids
  let expiredBefore = 0; // links signed at a sequence ≤ this are expired
  let seq = 0;
  let preExpired = 0;
  let dropAfter: number | undefined;
  const ttl = opts.urlTtlMs ?? 7 * 86_400_000;

  const sign = (path: string, date: number, expires: number, s: number) =>
    createHmac('sha256', key).update(`${path}\n${date}\n${expires}\n${s}`).digest('hex');

  function link(op: FakeBulkOperation): string {
    const s = ++seq;
    const date = now();
    let expires = Math.ceil(ttl / 1000);
    if (preExpired > 0) {
      preExpired--;
      expires = -1; // already past
    }
    const path = `/bulk-results/${op.id.split('/').pop()}.jsonl`;
    const q = new URLSearchParams({
      'X-Goog-Algorithm': 'GOOG4-HMAC-SHA256',
      'X-Goog-Date': String(date),
      'X-Goog-Expires': String(expires),
      'X-Goog-Seq': String(s),
      'X-Goog-Signature': sign(path, date, expires, s),
    });
    return `${opts.origin}${path}?${q}`;
  }

  function count(query: string): { all: number; root: number } {
    let all = 0;
    let root = 0;
    for (const row of opts.rows(query)) {
      all++;
      if (row.__parentId === undefined) root++;
    }
    return { all, root };
  }

  function advance(op: FakeBulkOperation): void {
    if (!IN_PROGRESS.includes(op.status)) return;
    op.polls++;
    const run = opts.pollsToRun ?? 1;
    const complete = run + (opts.pollsToComplete ?? 1);
    if (op.status === 'CREATED' && op.polls >= run) op.status = 'RUNNING';
    if (op.status === 'RUNNING' && op.polls >= complete) {
      if (opts.failWith) {
        op.status = 'FAILED';
        op.errorCode = opts.failWith;
        return;
      }
      const c = opts.objectCount !== undefined ? { all: opts.objectCount, root: opts.objectCount } : count(op.query);
      op.objectCount = c.all;
      op.rootObjectCount = c.root;
      op.status = 'COMPLETED';
      op.completedAt = new Date(now()).toISOString();
    }
  }

  function view(op: FakeBulkOperation): Obj {
    const done = op.status === 'COMPLETED';
    return {
      __typename: 'BulkOperation',
      id: op.id,
      status: op.status,
      errorCode: op.errorCode,
      type: 'QUERY',
      query: op.query,
      createdAt: op.createdAt,
      completedAt: op.completedAt,
      objectCount: String(op.objectCount),
      rootObjectCount: String(op.rootObjectCount),
      fileSize: null,
      // An operation that found nothing has no file.
      url: done && op.objectCount > 0 ? link(op) : null,
      partialDataUrl: null,
    };
  }

  function run(variables: Obj): Obj {
    const query = variables.query;
    if (typeof query !== 'string' || !/\{/.test(query)) {
      return {
        bulkOperationRunQuery: {
          bulkOperation: null,
          userErrors: [{ field: ['query'], message: 'Invalid bulk query: the query is empty', code: 'INVALID' }],
        },
      };
    }
    const running = operations.filter((o) => IN_PROGRESS.includes(o.status));
    if (running.length >= concurrencyOf(opts.apiVersion ?? '2026-07')) {
      return {
        bulkOperationRunQuery: {
          bulkOperation: null,
          userErrors: [
            {
              field: null,
              message: `A bulk query operation for this app and shop is already in progress: ${running[0].id}.`,
              code: 'OPERATION_IN_PROGRESS',
            },
          ],
        },
      };
    }
    const op: FakeBulkOperation = {
      id: `gid://shopify/BulkOperation/${nextId++}`,
      query,
      groupObjects: variables.groupObjects === true,
      status: 'CREATED',
      errorCode: null,
      createdAt: new Date(now()).toISOString(),
      completedAt: null,
      polls: 0,
      objectCount: 0,
      rootObjectCount: 0,
      downloads: 0,
      written: 0,
    };
    operations.push(op);
    return { bulkOperationRunQuery: { bulkOperation: view(op), userErrors: [] } };
  }

  function graphqlHook(query: string, variables: Obj = {}): unknown | undefined {
    if (/\bbulkOperationRunQuery\b/.test(query)) return run(variables);
    if (/\bcurrentBulkOperation\b/.test(query)) {
      const op = operations.at(-1);
      if (op) advance(op);
      return { currentBulkOperation: op ? view(op) : null };
    }
    if (/\bnode\s*\(/.test(query) && typeof variables.id === 'string' && variables.id.includes('/BulkOperation/')) {
      const op = operations.find((o) => o.id === variables.id);
      if (op) advance(op);
      return { node: op ? view(op) : null };
    }
    return undefined;
  }

  /** The rows in file order: grouped (children below their parent) or, ungrouped, every parent first. */
  function* fileRows(op: FakeBulkOperation): Generator<Obj> {
    if (op.groupObjects) {
      yield* opts.rows(op.query);
      return;
    }
    for (const r of opts.rows(op.query)) if (r.__parentId === undefined) yield r;
    for (const r of opts.rows(op.query)) if (r.__parentId !== undefined) yield r;
  }

  function storageError(res: ServerResponse, status: number, code: string, message: string): true {
    res.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8' });
    res.end(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    return true;
  }

  function routeHook(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', opts.origin);
    const m = url.pathname.match(/^\/bulk-results\/(\d+)\.jsonl$/);
    if (!m || req.method !== 'GET') return false;
    const p = url.searchParams;
    const date = Number(p.get('X-Goog-Date'));
    const expires = Number(p.get('X-Goog-Expires'));
    const s = Number(p.get('X-Goog-Seq'));
    const signature = p.get('X-Goog-Signature') ?? '';
    if (signature !== sign(url.pathname, date, expires, s)) {
      refused.signature++;
      return storageError(
        res,
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
    }
    const op = operations.find((o) => o.id.endsWith(`/${m[1]}`));
    if (s <= expiredBefore || now() > date + expires * 1000 || !op || op.status === 'EXPIRED') {
      refused.expired++;
      return storageError(res, opts.expiredStatus ?? 400, 'ExpiredToken', 'The provided token has expired.');
    }
    op.downloads++;
    const drop = dropAfter;
    dropAfter = undefined;
    let sent = 0;
    res.writeHead(200, { 'content-type': 'application/jsonl' });
    const rows = fileRows(op)[Symbol.iterator]();
    let stopped = false;
    res.on('close', () => {
      stopped = true;
      rows.return?.(undefined);
    });
    const pump = () => {
      while (!stopped) {
        const r = rows.next();
        if (r.done) {
          res.end();
          return;
        }
        if (drop !== undefined && sent >= drop) {
          stopped = true;
          res.socket?.destroy();
          return;
        }
        op.written++;
        sent++;
        if (!res.write(`${JSON.stringify(r.value)}\n`)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
    return true;
  }

  return {
    graphqlHook,
    routeHook,
    operations,
    refused,
    options: opts,
    expireUrls: () => {
      expiredBefore = seq;
    },
    dropNextDownloadAfter: (lines) => {
      dropAfter = lines;
    },
    expireNextUrls: (n) => {
      preExpired += n;
    },
    expireResult: (id) => {
      const op = operations.find((o) => o.id === id);
      if (op) op.status = 'EXPIRED';
    },
  };
}

export interface ServedBulkFake {
  url: string;
  /** GraphQL requests answered. */
  calls: { query: string; variables: Obj }[];
  close(): Promise<void>;
}

/**
 * A tiny 127.0.0.1 server for the hooks: POST …/graphql.json to `graphqlHook` (`{ data }`, or a GraphQL error for a
 * query it does not answer), everything else to `routeHook`. The connector's fake mounts the same hooks instead.
 * The fake's origin is known only once listening: `make(origin)` builds it.
 */
export async function serveBulkFake(make: (origin: string) => BulkFake): Promise<ServedBulkFake & { fake: BulkFake }> {
  let fake: BulkFake | undefined;
  const calls: ServedBulkFake['calls'] = [];
  const server = createServer((req, res) => {
    if (req.method === 'POST' && /\/graphql\.json$/.test(new URL(req.url ?? '/', 'http://x').pathname)) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        calls.push({ query: body.query, variables: body.variables ?? {} });
        const data = fake?.graphqlHook(body.query ?? '', body.variables ?? {});
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(data === undefined ? { errors: [{ message: 'not answered by the bulk fake' }] } : { data }),
        );
      });
      return;
    }
    if (!fake?.routeHook(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":"Not Found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake = make(url);
  return {
    url,
    fake,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The rows of a bulk query over the fake Admin API's store: its root connection's nodes whose updatedAt is in the
 * query's `updated_at:>='…'` / `updated_at:<'…'` window, in (updatedAt, id) order, flattened as Shopify writes them.
 */
export function* storeRows(store: FakeStore, query: string): Generator<Obj> {
  const m = /^\s*(?:query\s*)?\{\s*(\w+)\s*(?:\(((?:[^()"]|"(?:[^"\\]|\\.)*")*)\))?/.exec(query);
  const root = m?.[1] ?? '';
  const nodes = (store as unknown as Record<string, Obj[] | undefined>)[root];
  if (!nodes || !(root in BULK_CHILDREN)) return;
  const search = /query\s*:\s*("(?:[^"\\]|\\.)*")/.exec(m?.[2] ?? '')?.[1];
  const text = search ? (JSON.parse(search) as string) : '';
  const from = /updated_at:>=\s*'([^']+)'/.exec(text)?.[1];
  const to = /updated_at:<\s*'([^']+)'/.exec(text)?.[1];
  const lo = from ? Date.parse(from) : Number.NEGATIVE_INFINITY;
  const hi = to ? Date.parse(to) : Number.POSITIVE_INFINITY;
  const picked = nodes
    .map((n) => ({ n, t: Date.parse(n.updatedAt) }))
    .filter(({ t }) => t >= lo && t < hi)
    .sort((a, b) => a.t - b.t || (a.n.id < b.n.id ? -1 : a.n.id > b.n.id ? 1 : 0))
    .map(({ n }) => n);
  yield* flattenForJsonl(picked, bulkChildFields(root));
}

/**
 * The fake Admin API with the bulk fake mounted on its hooks, answering bulk queries from its store: what a test of
 * first syncs, the demo and the benchmark start. `rows` replaces the store's (a benchmark's generated orders).
 */
export async function startFakeShopifyWithBulk(
  o: ShopifyFakeOptions = {},
  b: Partial<Omit<BulkFakeOptions, 'origin'>> = {},
): Promise<{ shop: FakeShopify; bulk: BulkFake }> {
  let bulk: BulkFake | undefined;
  const shop = await startFakeShopify({
    ...o,
    graphqlHook: (q, v) => bulk?.graphqlHook(q, v),
    routeHook: (req, res) => bulk?.routeHook(req, res) ?? false,
  });
  bulk = createBulkFake({ rows: (q) => storeRows(shop.store, q), origin: shop.url, ...b });
  return { shop, bulk };
}
