/**
 * The console tests' world: a partner workspace with two customers (acme and globex, the same sandbox flows),
 * applied to a fresh database with the built CLI; a real worker in this process serving the console on its port
 * (as `rsync worker --console --sandbox`); a run of each customer's stock flow that writes most records and
 * dead-letters one poison record each (its e-mail address is PII, masked); and a token of every role.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { submitForApproval } from '../../engine/apply/approvals.js';
import { createToken, type Role } from '../../engine/auth/tokens.js';
import { consoleListener } from '../../engine/console/serve.js';
import { planHash } from '../../engine/plan/file.js';
import { planEnvironment } from '../../engine/plan/index.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { connect } from '../../engine/state/db.js';
import { declaredApprovalsAt } from '../../engine/workspace/index.js';
import { buildProblem } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  ENV,
  HOOK_ORDERS,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  seed,
  stockFlow,
  stockRecords,
  until,
} from '../helpers/runtime.js';

export const PII = 'dana@example.com';

export interface ConsoleWorld {
  db: TestDatabase;
  pool: pg.Pool;
  dir: string;
  worker: RsyncWorker;
  base: string;
  tokens: Record<'admin' | 'operator' | 'viewer' | 'acmeViewer' | 'globexViewer', string>;
  /** Each customer's open dead letter: id and key. */
  letters: Record<'acme' | 'globex', { id: number; key: string }>;
  close(): Promise<void>;
}

/** Run a customer's stock flow over `records` and wait for its run to finish. */
export async function runStock(w: Pick<ConsoleWorld, 'pool' | 'worker'>, customer: string, records: unknown[]) {
  await seed(w.pool, `${customer}/erp`, 'inventory', records as Record<string, unknown>[]);
  const flow = (await loadFlows(w.pool, ENV)).get(`${customer}/flow/stock`)!;
  const before = Number((await w.pool.query('SELECT coalesce(max(id), 0) AS id FROM rsync.runs')).rows[0].id);
  await w.worker.runNow(flow);
  return until(`a run of ${customer}/stock`, async () => {
    const r = await w.pool.query(
      `SELECT id::int, status, read::int, written::int, dead::int FROM rsync.runs WHERE address = $1 AND id > $2 AND status <> 'running'`,
      [flow.address, before],
    );
    return r.rows[0];
  });
}

/**
 * Staging made to require 2 approvals (the world's rsync.yaml, which the console reads) and a plan awaiting them,
 * submitted by a local user as `rsync plan --out` does: its hash; `restore` puts rsync.yaml back.
 */
export async function planAwaitingApproval(
  w: Pick<ConsoleWorld, 'dir' | 'db'>,
): Promise<{ hash: string; restore(): Promise<void> }> {
  const ws = path.join(w.dir, 'rsync.yaml');
  const before = readFileSync(ws, 'utf8');
  if (!before.includes('    staging: { ref: main }')) throw new Error(`${ws} declares staging otherwise`);
  writeFileSync(
    ws,
    before.replace(
      '    staging: { ref: main }',
      '    staging: { ref: main, requiresApproval: true, approvals: { required: 2 } }',
    ),
  );
  const dbh = await connect(w.dir, { url: w.db.url });
  try {
    const author = 'Pat Author <pat@acme.example>';
    const made = await planEnvironment(dbh, { path: w.dir, env: ENV, actor: author });
    if (!made.ok) throw new Error(JSON.stringify(made.diagnostics));
    await submitForApproval(dbh, made.plan, await declaredApprovalsAt(w.dir, ENV), author);
    return { hash: planHash(made.plan), restore: async () => writeFileSync(ws, before) };
  } finally {
    await dbh.close();
  }
}

export async function consoleWorld(label: string): Promise<ConsoleWorld> {
  const problem = buildProblem(['cli/commands/apply.ts']);
  if (problem) throw new Error(problem);
  const db = await testDatabase(label);
  const dir = runtimeWorkspace(`rsync-${label}-`, {
    connections: SANDBOX_SYSTEMS,
    flows: [HOOK_ORDERS, stockFlow()],
    pii: ['customer.email'],
  });
  // globex: a second customer with the same integrations.
  cpSync(path.join(dir, 'integrations', 'acme'), path.join(dir, 'integrations', 'globex'), { recursive: true });
  const customer = path.join(dir, 'integrations', 'globex', 'customer.yaml');
  writeFileSync(
    customer,
    readFileSync(customer, 'utf8').replace('name: acme', 'name: globex').replace('Acme Stores', 'Globex Outfitters'),
  );
  const ws = path.join(dir, 'rsync.yaml');
  writeFileSync(
    ws,
    readFileSync(ws, 'utf8').replace(
      '  partner: { name: Acme Retail Integrations }',
      `  partner: { name: Acme Retail Integrations, support: support@acme.example }
  branding: { productName: Acme Connect, primaryColor: "#0B5FFF", footer: Managed by Acme Retail Integrations, supportUrl: https://acme.example/support }`,
    ),
  );
  await applyWorkspace(dir, db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 10, application_name: `test ${label}` });
  const worker = new RsyncWorker({
    pool,
    url: db.url,
    env: ENV,
    port: 0,
    sandbox: true,
    threads: 1,
    pollMs: 100,
    ticks: false,
    slaEveryMs: 0,
    alertIntervalMs: 0,
    otherPaths: (rt) => consoleListener({ pool, env: ENV, rt, root: dir }),
  });
  await worker.start();
  const w = { pool, worker };
  const letters = {} as ConsoleWorld['letters'];
  for (const [c, from] of [
    ['acme', 1000],
    ['globex', 2000],
  ] as const) {
    const records = stockRecords(5, from);
    Object.assign(records[2], { qty: 'not-a-number', customer: { email: PII } });
    const run = await runStock(w, c, records);
    if (run.dead !== 1 || run.written !== 4) throw new Error(`${c}/stock: ${JSON.stringify(run)}`);
    const l = await pool.query(`SELECT id::int, key FROM rsync.dead_letters WHERE customer = $1 AND status = 'open'`, [
      c,
    ]);
    letters[c] = l.rows[0];
  }
  const token = async (name: string, role: Role, customer?: string) =>
    (await createToken(pool, { name, role, customer, createdBy: 'test' })).token;
  const tokens = {
    admin: await token('ada', 'admin'),
    operator: await token('olga', 'operator'),
    viewer: await token('vic', 'viewer'),
    acmeViewer: await token('amy (acme)', 'customer-viewer', 'acme'),
    globexViewer: await token('gus (globex)', 'customer-viewer', 'globex'),
  };
  return {
    db,
    pool,
    dir,
    worker,
    base: `http://127.0.0.1:${worker.port}`,
    tokens,
    letters,
    async close() {
      await worker.stop(5_000);
      await pool.end();
      await db.drop();
    },
  };
}
