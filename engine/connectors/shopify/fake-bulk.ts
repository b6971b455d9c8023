/**
 * Shopify's bulk query operations, faked for the connector's tests, the demo and the benchmark. It mounts on the
 * fake Admin API through two hooks — `graphqlHook(query, variables)` answers the bulk mutation and the polls,
 * `routeHook(req, res)` serves the result downloads — or stands alone on 127.0.0.1 (`serveBulkFake`).
 * Production code: no test-only imports.
 *
 * What it follows, and where Shopify says so:
 * - `bulkOperationRunQuery(query:)` answers `{ bulkOperation { id status createdAt }, userErrors }`; an app may run
 *   five bulk queries at a time on a shop from API version 2026-01, one before, and a further start is refused with
 *   a user error (code OPERATION_IN_PROGRESS) — https://shopify.dev/docs/api/usage/bulk-operations/queries,
 *   https://shopify.dev/docs/api/admin-graphql/latest/mutations/bulkOperationRunQuery
 * - An operation goes CREATED → RUNNING → COMPLETED (or FAILED with an `errorCode`: ACCESS_DENIED,
 *   INTERNAL_SERVER_ERROR, TIMEOUT; CANCELING → CANCELED after `bulkOperationCancel`; EXPIRED once its result is
 *   gone), and is polled with `node(id:)` or `currentBulkOperation` —
 *   https://shopify.dev/docs/api/admin-graphql/latest/enums/bulkoperationstatus,
 *   https://shopify.dev/docs/api/admin-graphql/latest/enums/bulkoperationerrorcode,
 *   https://shopify.dev/docs/api/admin-graphql/latest/queries/currentBulkOperation
 * - A completed operation has `objectCount` (an UnsignedInt64, as a string), and `url` to its JSONL result, null when
 *   the result is empty; the url expires (seven days; `expireUrls()` here) —
 *   https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation
 * - The JSONL: one object a line; a nested connection's nodes are lines of their own after their parent, with
 *   `__parentId` (`flattenForJsonl`) — https://shopify.dev/docs/api/usage/bulk-operations/queries. Right after it
 *   only with `groupObjects: true`, the default before 2026-01; without, the fake lists every parent first and the
 *   children after them all — https://shopify.dev/docs/api/admin-graphql/2026-01/payloads/BulkOperationRunQueryPayload
 * - The url is a signed Google Cloud Storage link (`Expires`, `Signature`); past its expiry it answers 400
 *   `<Error><Code>ExpiredToken</Code>…`, a wrong signature 403 —
 *   https://cloud.google.com/storage/docs/access-control/signed-urls
 *
 * The rows are generated on the fly for every download (`rows(query)` is an iterable, written with back-pressure):
 * a 100,000-order result is never held in memory.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type Row = Record<string, unknown>;

export interface BulkFakeOptions {
  /** The flat JSONL objects of a bulk query's result (see `flattenForJsonl`), generated afresh each download. */
  rows(query: string): Iterable<Row>;
  /** Where routeHook is served (the fake's base URL), or a function giving it once the server listens. */
  origin: string | (() => string);
  /** The pinned API version: five concurrent bulk queries from 2026-01, one before (default 2026-07). */
  apiVersion?: string;
  /** Polls an operation answers CREATED, then RUNNING, before COMPLETED (default 1 and 1). */
  pollsCreated?: number;
  pollsRunning?: number;
  /** How long a signed URL is good for (ms, default seven days). */
  urlTtlMs?: number;
  now?: () => number;
}

export interface FakeOperation {
  id: string;
  query: string;
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELING' | 'CANCELED' | 'EXPIRED';
  errorCode: string | null;
  createdAt: string;
  completedAt: string | null;
  objectCount: number;
  polls: number;
  /** Downloads of its result, and the first line each started streaming from (a resumed reader skips). */
  downloads: number;
  /** The children follow their parent (groupObjects). */
  grouped: boolean;
  /** Set by `failNext`: the operation fails with this code instead of completing. */
  failWith?: string;
}

const PATH = '/bulk-results/';

/** GraphQL-shaped nodes (children as `{ nodes }` or `{ edges: [{ node }] }`) as Shopify's flat JSONL lines. */
export function* flattenForJsonl(nodes: Iterable<Row>, childFields: readonly string[]): Generator<Row> {
  for (const node of nodes) yield* flattenOne(node, childFields, undefined);
}

function* flattenOne(node: Row, fields: readonly string[], parent: string | undefined): Generator<Row> {
  const own: Row = {};
  const kids: Row[] = [];
  for (const [k, v] of Object.entries(node)) {
    const conn = v as { nodes?: Row[]; edges?: { node: Row }[] } | null;
    if (fields.includes(k) && conn && (Array.isArray(conn.nodes) || Array.isArray(conn.edges)))
      kids.push(...(conn.nodes ?? conn.edges?.map((e) => e.node) ?? []));
    else own[k] = v;
  }
  yield parent ? { ...own, __parentId: parent } : own;
  for (const k of kids) yield* flattenOne(k, fields, String(node.id));
}

export function createBulkFake(o: BulkFakeOptions) {
  const now = o.now ?? Date.now;
  const secret = randomBytes(16).toString('hex');
  const ttl = o.urlTtlMs ?? 7 * 24 * 3600_000;
  const maxRunning = (o.apiVersion ?? '2026-07') >= '2026-01' ? 5 : 1;
  const operations = new Map<string, FakeOperation>();
  let seq = 7_000_000;
  let failNext: string | null = null;
  /** Signed URLs carry the generation they were issued in; those of a generation before `validFrom` are expired. */
  let generation = 0;
  let validFrom = 0;
  const origin = () => (typeof o.origin === 'function' ? o.origin() : o.origin);
  const sign = (id: string, expires: number, gen: number) =>
    createHmac('sha256', secret).update(`${id}\n${expires}\n${gen}`).digest('hex');

  function signedUrl(op: FakeOperation): string {
    const expires = Math.floor((now() + ttl) / 1000);
    const n = op.id.split('/').pop();
    return `${origin()}${PATH}${n}.jsonl?Expires=${expires}&Gen=${generation}&Signature=${sign(op.id, expires, generation)}`;
  }

  function count(query: string): number {
    let n = 0;
    for (const r of o.rows(query)) if (!('__parentId' in r)) n++;
    return n;
  }

  function advance(op: FakeOperation): void {
    op.polls++;
    if (op.status === 'CANCELING') {
      op.status = 'CANCELED';
      return;
    }
    if (op.status !== 'CREATED' && op.status !== 'RUNNING') return;
    const created = o.pollsCreated ?? 1;
    const running = o.pollsRunning ?? 1;
    if (op.polls <= created) op.status = 'CREATED';
    else if (op.polls <= created + running) op.status = 'RUNNING';
    else if (op.failWith) {
      op.status = 'FAILED';
      op.errorCode = op.failWith;
    } else {
      op.status = 'COMPLETED';
      op.completedAt = new Date(now()).toISOString();
      op.objectCount = count(op.query);
    }
  }

  function view(op: FakeOperation): Row {
    return {
      __typename: 'BulkOperation',
      id: op.id,
      status: op.status,
      errorCode: op.errorCode,
      createdAt: op.createdAt,
      completedAt: op.completedAt,
      objectCount: String(op.objectCount),
      rootObjectCount: String(op.objectCount),
      query: op.query,
      type: 'QUERY',
      url: op.status === 'COMPLETED' && op.objectCount > 0 ? signedUrl(op) : null,
      partialDataUrl: null,
    };
  }

  function run(query: unknown, groupObjects: boolean | undefined): Row {
    const refuse = (message: string, code: string) => ({
      bulkOperationRunQuery: { bulkOperation: null, userErrors: [{ field: ['query'], message, code }] },
    });
    if (typeof query !== 'string' || !/\b\w+\s*(\([^)]*\))?\s*\{\s*(edges|nodes)\b/.test(query))
      return refuse('Bulk queries must contain at least one connection.', 'INVALID');
    const running = [...operations.values()].filter((x) => x.status === 'CREATED' || x.status === 'RUNNING');
    if (running.length >= maxRunning)
      return refuse(
        `A bulk query operation for this app and shop is already in progress: ${running[0].id}.`,
        'OPERATION_IN_PROGRESS',
      );
    const op: FakeOperation = {
      id: `gid://shopify/BulkOperation/${++seq}`,
      query,
      status: 'CREATED',
      errorCode: null,
      createdAt: new Date(now()).toISOString(),
      completedAt: null,
      objectCount: 0,
      polls: 0,
      downloads: 0,
      failWith: failNext ?? undefined,
      grouped: groupObjects ?? (o.apiVersion ?? '2026-07') < '2026-01',
    };
    failNext = null;
    operations.set(op.id, op);
    return { bulkOperationRunQuery: { bulkOperation: view(op), userErrors: [] } };
  }

  /** The `data` of a bulk operation request, or undefined: not one of ours. */
  function graphqlHook(query: string, variables: Record<string, unknown> = {}): unknown {
    if (/\bbulkOperationRunQuery\b/.test(query)) {
      const inline = /bulkOperationRunQuery\s*\(\s*query\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(query);
      const group = /groupObjects\s*:\s*(true|false)/.exec(query)?.[1];
      return run(
        variables.query ?? (inline ? JSON.parse(`"${inline[1]}"`) : undefined),
        group ? group === 'true' : undefined,
      );
    }
    if (/\bbulkOperationCancel\b/.test(query)) {
      const op = operations.get(String(variables.id));
      if (op && (op.status === 'CREATED' || op.status === 'RUNNING')) op.status = 'CANCELING';
      return { bulkOperationCancel: { bulkOperation: op ? view(op) : null, userErrors: [] } };
    }
    if (/\bcurrentBulkOperation\b/.test(query)) {
      const op = [...operations.values()].pop();
      if (op) advance(op);
      return { currentBulkOperation: op ? view(op) : null };
    }
    const id = variables.id;
    if (/\bnode\s*\(/.test(query) && typeof id === 'string' && id.startsWith('gid://shopify/BulkOperation/')) {
      const op = operations.get(id);
      if (op) advance(op);
      return { node: op ? view(op) : null };
    }
    return undefined;
  }

  /** Serves a result download; false: not a bulk result path. */
  function routeHook(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' || !url.pathname.startsWith(PATH)) return false;
    const id = `gid://shopify/BulkOperation/${url.pathname.slice(PATH.length).replace(/\.jsonl$/, '')}`;
    const op = operations.get(id);
    const expires = Number(url.searchParams.get('Expires'));
    const gen = Number(url.searchParams.get('Gen'));
    const xml = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8' });
      res.end(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
      return true;
    };
    if (!op || url.searchParams.get('Signature') !== sign(id, expires, gen))
      return xml(403, 'SignatureDoesNotMatch', 'Access denied.');
    if (expires * 1000 < now() || gen < validFrom || op.status === 'EXPIRED')
      return xml(400, 'ExpiredToken', 'Invalid argument.');
    op.downloads++;
    res.writeHead(200, { 'content-type': 'application/jsonl' });
    const lines = (function* () {
      let chunk = '';
      // Ungrouped: every parent, then every child (two passes over the generated rows).
      const passes = op.grouped ? [() => true] : [(r: Row) => !('__parentId' in r), (r: Row) => '__parentId' in r];
      for (const keep of passes)
        for (const r of o.rows(op.query)) {
          if (!keep(r)) continue;
          chunk += `${JSON.stringify(r)}\n`;
          if (chunk.length > 64 * 1024) {
            yield chunk;
            chunk = '';
          }
        }
      if (chunk) yield chunk;
    })();
    pipeline(Readable.from(lines), res).catch(() => res.destroy());
    return true;
  }

  return {
    graphqlHook,
    routeHook,
    operations,
    /** The next operation started fails with this error code once it has run. */
    failNext(code: string): void {
      failNext = code;
    },
    /** Every URL handed out so far is expired; a new poll hands out a good one. */
    expireUrls(): void {
      validFrom = ++generation;
    },
    /** The operation's result is gone: status EXPIRED, no url. */
    expire(id: string): void {
      const op = operations.get(id);
      if (op) op.status = 'EXPIRED';
    },
  };
}

export type BulkFake = ReturnType<typeof createBulkFake>;

/**
 * The bulk fake alone on 127.0.0.1: POST …/graphql.json goes to graphqlHook (with the `X-Shopify-Access-Token` it is
 * given checked), other routes to routeHook. For the bulk reader's own tests; the connector's mount it on the fake
 * Admin API.
 */
export async function serveBulkFake(
  make: (origin: () => string) => BulkFake,
  token = 'shpat_bulk_fake',
): Promise<{ url: string; fake: BulkFake; graphqlCalls: number; close(): Promise<void> }> {
  let base = '';
  const fake = make(() => base);
  const state = { graphqlCalls: 0 };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && /\/admin\/api\/[^/]+\/graphql\.json$/.test(req.url ?? '')) {
      state.graphqlCalls++;
      if (req.headers['x-shopify-access-token'] !== token) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }),
        );
        return;
      }
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const { query, variables } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
        const data = fake.graphqlHook(query, variables ?? {});
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            data === undefined
              ? { errors: [{ message: 'not a bulk operation request', extensions: { code: 'BAD_REQUEST' } }] }
              : { data },
          ),
        );
      });
      return;
    }
    if (!fake.routeHook(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    fake,
    get graphqlCalls() {
      return state.graphqlCalls;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
