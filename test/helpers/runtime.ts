/**
 * Runtime tests' workspaces: a small partner workspace in a temp folder (not a Git repository: plan and apply read
 * the folder) with one customer, "acme", whose flows and connections each test chooses — sandbox systems, http
 * targets on a local fake API, postgres tables — applied with the built CLI to a fresh database.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { generate } from '../../engine/connectors/sandbox/connector.js';
import { awaitBackfill, createBackfill } from '../../engine/runtime/backfill.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { RsyncWorker, type WorkerOptions } from '../../engine/runtime/worker.js';
import { runCli, show, type Run } from './cli.js';

export const ACTOR = 'ops-bot <ops@acme.example>';
export const ENV = 'staging';

export interface FlowSpec {
  name: string;
  source: { connection: string; stream: string };
  target: { connection: string; entity: string };
  trigger?: string; // YAML of the trigger, default { manual: true }
  mapping: string;
  canonical: string;
  key: string;
  batchSize?: number;
  concurrency?: number;
  policy?: string;
}

export interface WorkspaceSpec {
  connections: { name: string; connector: string; settings: Record<string, unknown> }[];
  flows: FlowSpec[];
  /** Retry settings of the workspace's default policy. */
  retry?: string;
  pii?: string[];
  /** The secrets folder rsync.yaml declares (`spec.secrets.folder`), for `file:` secrets. */
  secretsFolder?: string;
  /** More of rsync.yaml's `spec.secrets` (a secret manager's settings, cacheTtl, scopes). */
  secrets?: Record<string, unknown>;
}

const secretsLine = (folder?: string, more?: Record<string, unknown>) =>
  folder || more ? `\n  secrets: ${JSON.stringify({ ...(folder ? { folder } : {}), ...more })}` : '';

const WORKSPACE = (retry: string, pii: string[], secrets: string) => `apiVersion: rsync/v1
kind: Workspace
metadata: { name: runtime-test }
spec:
  partner: { name: Acme Retail Integrations }
  environments:
    staging: { ref: main }${secrets}
  defaults: { timezone: America/Chicago, policy: standard, sla: silver }
---
apiVersion: rsync/v1
kind: Policy
metadata: { name: standard }
spec:
  retry: ${retry}
  pii: { fields: ${JSON.stringify(pii)}, mask: true }
---
apiVersion: rsync/v1
kind: SLA
metadata: { name: silver }
spec: { freshness: 1h, successRate: "99%" }
`;

export function writeWorkspace(dir: string, spec: WorkspaceSpec): void {
  const c = path.join(dir, 'integrations', 'acme');
  mkdirSync(path.join(c, 'flows'), { recursive: true });
  mkdirSync(path.join(c, 'mappings'), { recursive: true });
  writeFileSync(
    path.join(dir, 'rsync.yaml'),
    WORKSPACE(
      spec.retry ?? '{ maxAttempts: 4, backoff: exponential, initial: 1s, max: 5s }',
      spec.pii ?? ['customer.email'],
      secretsLine(spec.secretsFolder, spec.secrets),
    ),
  );
  writeFileSync(
    path.join(c, 'customer.yaml'),
    `apiVersion: rsync/v1\nkind: Customer\nmetadata: { name: acme }\nspec:\n  displayName: Acme Stores\n  timezone: America/Chicago\n`,
  );
  writeFileSync(
    path.join(c, 'connections.yaml'),
    spec.connections
      .map(
        (k) =>
          `apiVersion: rsync/v1\nkind: Connection\nmetadata: { name: ${k.name} }\nspec:\n  connector: ${k.connector}\n  settings: ${JSON.stringify(k.settings)}\n`,
      )
      .join('---\n'),
  );
  for (const f of spec.flows) {
    writeFileSync(path.join(c, 'mappings', `${f.name}.jsonata`), f.mapping);
    writeFileSync(
      path.join(c, 'flows', `${f.name}.yaml`),
      [
        'apiVersion: rsync/v1',
        'kind: Flow',
        `metadata: { name: ${f.name} }`,
        'spec:',
        `  source: ${JSON.stringify(f.source)}`,
        `  trigger: ${f.trigger ?? '{ manual: true }'}`,
        `  mapping: ../mappings/${f.name}.jsonata`,
        `  canonical: ${f.canonical}`,
        `  target: ${JSON.stringify(f.target)}`,
        `  key: ${JSON.stringify(f.key)}`,
        ...(f.batchSize ? [`  batchSize: ${f.batchSize}`] : []),
        ...(f.concurrency ? [`  concurrency: ${f.concurrency}`] : []),
        ...(f.policy ? [`  policy: ${f.policy}`] : []),
        '',
      ].join('\n'),
    );
  }
}

export function runtimeWorkspace(prefix: string, spec: WorkspaceSpec): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  writeWorkspace(dir, spec);
  return dir;
}

export const cli = (dir: string, url: string, ...args: string[]): Promise<Run> =>
  runCli(args, dir, { url, actor: ACTOR });

/** Apply the workspace to staging; fails the test with the CLI's output if it does not apply. */
export async function applyWorkspace(dir: string, url: string): Promise<void> {
  const r = await cli(dir, url, 'apply', '--env', ENV, '--auto-approve');
  if (r.status !== 0) throw new Error(`apply failed\n${show(r)}`);
}

/** Queue a backfill of `flow` over [since, until) in windows of `window` (`12h`); returns the CLI's run. */
export const queueBackfill = (dir: string, url: string, flow: string, since: Date, until: Date, window: string) =>
  cli(
    dir,
    url,
    'backfill',
    flow,
    '--env',
    ENV,
    '--since',
    since.toISOString(),
    '--until',
    until.toISOString(),
    '--window',
    window,
    '--json',
  );

/** Queue a backfill as queueBackfill does; fails the test if it is refused. */
export async function backfill(
  dir: string,
  url: string,
  flow: string,
  from: Date,
  to: Date,
  window: string,
): Promise<void> {
  const r = await queueBackfill(dir, url, flow, from, to, window);
  if (r.status !== 0) throw new Error(`backfill failed\n${show(r)}`);
}

/** The simple stock mapping most runtime tests use: a sandbox stock move → canonical inventory level. */
export const STOCK_MAPPING = `{
  "sku": sku,
  "locationId": $string(location),
  "available": $number(qty),
  "updatedAt": updated_at
}`;
export const STOCK_KEY = "'stock-' & $string(id)";

/**
 * A sandbox ERP's stock levels (acme/levels, batches of 10) into an http API at `port` (`/api/levels`, PUT) that
 * authenticates with `auth`: the connections and the flow of the secrets tests.
 */
export function stockToHttp(port: number, auth: Record<string, unknown>): Pick<WorkspaceSpec, 'connections' | 'flows'> {
  return {
    connections: [
      { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
      {
        name: 'stockapi',
        connector: 'http',
        settings: {
          baseUrl: `http://127.0.0.1:${port}/api`,
          auth,
          entities: { level: { accepts: ['inventoryLevel'], path: '/levels', method: 'PUT' } },
        },
      },
    ],
    flows: [
      {
        name: 'levels',
        source: { connection: 'erp', stream: 'inventory' },
        target: { connection: 'stockapi', entity: 'level' },
        mapping: STOCK_MAPPING,
        canonical: 'inventoryLevel',
        key: STOCK_KEY,
        batchSize: 10,
      },
    ],
  };
}

/** The two sandbox systems most runtime tests sync between: a storefront and an ERP. */
export const SANDBOX_SYSTEMS: WorkspaceSpec['connections'] = [
  { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
  { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
];

/** An event flow of the sandbox storefront's order webhooks (orders/create) into the ERP's sales orders. */
export const HOOK_ORDERS: FlowSpec = {
  name: 'orders',
  source: { connection: 'shop', stream: 'orders' },
  target: { connection: 'erp', entity: 'salesOrder' },
  trigger: '{ event: orders/create }',
  mapping: `{ "externalId": $string(id), "createdAt": created_at, "currency": currency, "total": total_price,
              "lines": [line_items.{ "sku": sku, "quantity": quantity, "unitPrice": price, "total": price }] }`,
  canonical: 'order',
  key: "'order-' & $string(id)",
};

/** The stock flow between them: the ERP's stock moves → the storefront's inventory levels (`more` overrides). */
export function stockFlow(more: Partial<FlowSpec> = {}): FlowSpec {
  return {
    name: 'stock',
    source: { connection: 'erp', stream: 'inventory' },
    target: { connection: 'shop', entity: 'inventoryLevel' },
    mapping: STOCK_MAPPING,
    canonical: 'inventoryLevel',
    key: STOCK_KEY,
    ...more,
  };
}

export function stockRecords(n: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i + 1,
    sku: `SKU-${(from + i + 1) % 997}`,
    location: (i % 7) + 1,
    qty: String((i * 13) % 100),
    updated_at: '2026-11-01T00:00:00Z',
  }));
}

/** Put records in a sandbox system's stream, updated_at spread over [from, to]. */
export async function seed(
  pool: pg.Pool,
  system: string,
  stream: string,
  records: Record<string, unknown>[],
  from?: Date,
  to?: Date,
): Promise<void> {
  // Each sample used once, ids kept (count = samples, start = 0 keeps ids unique by record).
  const rows = records.map((r, i) => ({ id: String(r.id ?? i), r }));
  const span = from && to ? to.getTime() - from.getTime() : 0;
  for (let i = 0; i < rows.length; i += 2000) {
    const part = rows.slice(i, i + 2000);
    await pool.query(
      `INSERT INTO rsync_sandbox.records (system, stream, id, updated_at, payload)
       SELECT $1, $2, id, at, p FROM unnest($3::text[], $4::timestamptz[], $5::jsonb[]) AS u(id, at, p)`,
      [
        system,
        stream,
        part.map((x) => x.id),
        part.map((_, j) =>
          new Date(
            (from?.getTime() ?? Date.now()) + (rows.length > 1 ? Math.floor((span * (i + j)) / (rows.length - 1)) : 0),
          ).toISOString(),
        ),
        part.map((x) => JSON.stringify(x.r)),
      ],
    );
  }
}

export { generate };

/**
 * An in-process worker of the test environment on sandbox systems (one mapping thread, a 100 ms poll, no clock
 * ticks, a free port), started; `more` overrides any option.
 */
export async function startSandboxWorker(
  pool: pg.Pool,
  url: string,
  more: Partial<WorkerOptions> = {},
): Promise<RsyncWorker> {
  const worker = new RsyncWorker({
    pool,
    url,
    env: ENV,
    port: 0,
    sandbox: true,
    threads: 1,
    pollMs: 100,
    ticks: false,
    ...more,
  });
  await worker.start();
  return worker;
}

/** Listen on a free port of 127.0.0.1; resolves with the port. */
export async function listenLocal(server: import('node:http').Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as import('node:net').AddressInfo).port;
}

/** Poll `check` until it returns a value (not undefined), or fail after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A manual run of a deployed flow (its address) through `worker`, waited for to its end: its rsync.runs row. */
export async function runToEnd(pool: pg.Pool, worker: RsyncWorker, address: string) {
  const flow = (await loadFlows(pool, ENV)).get(address)!;
  const before = Number((await pool.query(`SELECT coalesce(max(id), 0) AS id FROM rsync.runs`)).rows[0].id);
  await worker.runNow(flow);
  return until(
    `a run of ${address}`,
    async () =>
      (
        await pool.query(`SELECT * FROM rsync.runs WHERE address = $1 AND id > $2 AND status <> 'running'`, [
          address,
          before,
        ])
      ).rows[0],
  );
}

import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli.js';
import { track } from './db.js';

/**
 * `rsync worker` in a child process (real signals: SIGTERM drains, SIGKILL kills). Its output is kept in `output`.
 * The test database's drop() fails the test if it is still running then.
 */
export function spawnWorker(
  dir: string,
  url: string,
  ...args: string[]
): ChildProcess & { output: string; exited: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', RSYNC_ACTOR: ACTOR, DATABASE_URL: url };
  delete env.DEBUG;
  const child = spawn(process.execPath, [CLI, 'worker', '--env', ENV, '--port', '0', ...args], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & {
    output: string;
    exited: Promise<number | null>;
  };
  child.output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (child.output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (child.output += c));
  child.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  track({
    what: `rsync worker ${args.join(' ')}`.trim(),
    pid: child.pid,
    running: () => child.exitCode === null && child.signalCode === null,
    kill: async () => {
      child.kill('SIGKILL');
      await child.exited;
    },
  });
  return child;
}

/**
 * Run `fn` while a worker (`rsync worker --threads 1`) is up — registered in rsync.workers, so a queued run is
 * taken — then stop it with SIGTERM and wait for it to exit, whatever `fn` did. Returns everything the worker
 * printed, to its exit.
 */
export async function withWorker(
  dir: string,
  url: string,
  pool: pg.Pool,
  fn: (w: ReturnType<typeof spawnWorker>) => Promise<void>,
): Promise<string> {
  const w = spawnWorker(dir, url, '--threads', '1');
  try {
    await until(
      'the worker',
      async () => ((await pool.query(`SELECT 1 FROM rsync.workers`)).rowCount ? true : undefined),
      30_000,
    );
    await fn(w);
  } finally {
    w.kill('SIGTERM');
    await w.exited;
  }
  return w.output;
}

/** A one-window backfill of `acme/flow/<flow>` over [from, to), run by whichever worker is up, awaited. */
export async function backfillOnce(pool: pg.Pool, flow: string, from: Date, to: Date) {
  const f = (await loadFlows(pool, ENV)).get(`acme/flow/${flow}`)!;
  const b = await createBackfill(pool, f, from, to, to.getTime() - from.getTime(), ACTOR);
  return awaitBackfill(pool, b.id);
}

/**
 * A started worker in this process on sandbox systems, polling every 100 ms, taking no tick jobs (the test ticks
 * itself), evaluating no SLAs or alerts; `more` overrides. Stop it in afterAll.
 */
export async function inProcessWorker(pool: pg.Pool, url: string, more: Partial<WorkerOptions> = {}) {
  const w = new RsyncWorker({
    pool,
    url,
    env: ENV,
    port: 0,
    sandbox: true,
    threads: 1,
    pollMs: 100,
    ticks: false,
    slaEveryMs: 0,
    alertIntervalMs: 0,
    ...more,
  });
  await w.start();
  return w;
}
