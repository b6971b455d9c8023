/**
 * Each secret backend end to end, with a real worker (`rsync worker` in a child process) and a real database: an http
 * target's bearer token is a secret of the backend, planted with a value of every awkward character. The target
 * echoes the token it was sent in its 400 (every record of the first run dead-lettered); then the secret is rotated
 * in the backend, and the next run of the same worker, never restarted, sends the new value and is accepted.
 * Neither value, in any encoding an API might echo it in, may appear in the CLI's output (run, dlq, runs, status,
 * plan --json and the saved plan), the worker's log, or any text column of any table of the rsync and pgboss
 * schemas.
 *
 * One entry of BACKENDS per backend (vault, aws, gcp): its fake, its settings, its rotation.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAwsSettings, startFakeAwsSecrets } from '../../engine/connectors/secret-managers/aws-fake.js';
import { fakeGcpSettings, startFakeGcpSecrets } from '../../engine/connectors/secret-managers/gcp-fake.js';
import { startFakeVault } from '../../engine/connectors/secret-managers/vault-fake.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  cli,
  ENV,
  runtimeWorkspace,
  seed,
  stockRecords,
  stockToHttp,
  withWorker,
} from '../helpers/runtime.js';

/** A backend as the test uses it: where the planted secret is, how rsync.yaml names the backend, how to rotate. */
interface Backend {
  /** The connection's `{ secretRef }` of the planted secret (the customer is acme). */
  ref: string;
  /** rsync.yaml's `spec.secrets.<scheme>` settings, and any other spec.secrets keys. */
  secrets: Record<string, unknown>;
  /** Environment variables the worker and the CLI need (the backend's own credentials). */
  env: Record<string, string>;
  /** Write a new value of the planted secret. */
  rotate(value: string): Promise<void>;
  close(): Promise<void>;
}

interface BackendCase {
  scheme: string;
  start(value: string): Promise<Backend>;
}

const BACKENDS: BackendCase[] = [
  {
    scheme: 'vault',
    async start(value) {
      const token = 'hvs.leak-test-root-token';
      const vault = await startFakeVault({ tokens: { [token]: ['customers/acme/'] } });
      vault.put('customers/acme/stockapi', { token: value });
      return {
        ref: 'vault:customers/acme/stockapi#token',
        secrets: {
          vault: { address: vault.url, token: { secretRef: 'env:RSYNC_LEAK_VAULT_TOKEN' } },
          scopes: { customer: { vault: 'customers/{customer}/', env: '{CUSTOMER}_*' } },
        },
        env: { RSYNC_LEAK_VAULT_TOKEN: token },
        rotate: async (v) => void vault.put('customers/acme/stockapi', { token: v }),
        close: () => vault.close(),
      };
    },
  },
  {
    scheme: 'aws',
    async start(value) {
      const keys = { accessKeyId: 'AKIALEAKTEST00000001', secretAccessKey: 'leak-test-aws-secret-access-key-0001' };
      const aws = await startFakeAwsSecrets({ region: 'eu-west-1', ...keys });
      aws.put('acme/stockapi', value);
      return {
        ref: 'aws:acme/stockapi',
        secrets: { aws: fakeAwsSettings(aws), scopes: { customer: { aws: '{customer}/', env: '{CUSTOMER}_*' } } },
        env: { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey },
        rotate: async (v) => void aws.rotate('acme/stockapi', v),
        close: () => aws.close(),
      };
    },
  },
  {
    scheme: 'gcp',
    async start(value) {
      // The access token from the fake's metadata server (as on GCE, GKE or Cloud Run).
      const gcp = await startFakeGcpSecrets({ project: 'acme-leak-test' });
      gcp.add('acme-stockapi', value);
      return {
        ref: 'gcp:acme-stockapi',
        secrets: { gcp: fakeGcpSettings(gcp), scopes: { customer: { gcp: '{customer}-*', env: '{CUSTOMER}_*' } } },
        env: { GCE_METADATA_HOST: new URL(gcp.url).host },
        rotate: async (v) => void gcp.add('acme-stockapi', v),
        close: () => gcp.close(),
      };
    },
  },
];

/** Every character an encoding treats on its own: space, +, /, &, =, a quote, a backslash, non-ASCII. */
const planted = (scheme: string, n: number) => `${scheme}-Pl4nted+/ q&="x\\é!${n}`;

const b64 = (s: string) => Buffer.from(s).toString('base64');
function encodings(secret: string): Record<string, string> {
  return {
    raw: secret,
    'URL-encoded': encodeURIComponent(secret),
    'form-encoded': new URLSearchParams({ s: secret }).toString().slice(2),
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    base64: b64(secret),
    base64url: Buffer.from(secret).toString('base64url'),
  };
}

/** A target that echoes the bearer token in a 400 until told which token to accept. */
function echoingTarget() {
  const seen: string[] = [];
  let accept: string | undefined;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? '');
      seen.push(auth);
      if (accept !== undefined && auth === `Bearer ${accept}`)
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"ok"}');
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'invalid_token', got: auth, b64: b64(auth.slice(7)) }));
    });
  });
  return { server, seen, acceptOnly: (t: string) => (accept = t) };
}

/** Every text (and JSON) value of every table of the rsync and pgboss schemas, with where it is. */
async function everyTextColumn(pool: pg.Pool): Promise<{ where: string; text: string }[]> {
  const cols = (
    await pool.query<{ s: string; t: string; c: string }>(
      `SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c
         FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema IN ('rsync', 'pgboss') AND t.table_type = 'BASE TABLE'
          AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'bytea')`,
    )
  ).rows;
  const out: { where: string; text: string }[] = [];
  for (const { s, t, c } of cols) {
    const rows = await pool.query(
      `SELECT ${pg.escapeIdentifier(c)}::text AS v FROM ${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(t)}`,
    );
    const text = rows.rows.map((r) => r.v ?? '').join('\n');
    if (text) out.push({ where: `${s}.${t}.${c}`, text });
  }
  return out;
}

for (const backend of BACKENDS) {
  describe(`secret backend ${backend.scheme}: rotated without a restart, and written nowhere`, {
    timeout: 240_000,
  }, () => {
    let db: TestDatabase;
    let pool: pg.Pool;
    let dir: string;
    let b: Backend;
    const target = echoingTarget();
    const first = planted(backend.scheme, 1);
    const second = planted(backend.scheme, 2);
    const leaks = (text: string) =>
      [first, second].flatMap((s, i) =>
        Object.entries(encodings(s))
          .filter(([, v]) => text.includes(v))
          .map(([k]) => `value ${i + 1} ${k}`),
      );

    beforeAll(async () => {
      const problem = buildProblem(['cli/commands/worker.ts', 'cli/commands/plan.ts', 'cli/commands/runs.ts']);
      if (problem) throw new Error(problem);
      db = await testDatabase(`secret_backend_${backend.scheme}`);
      pool = new pg.Pool({
        connectionString: db.url,
        max: 4,
        application_name: `test secret-backend ${backend.scheme}`,
      });
      b = await backend.start(first);
      Object.assign(process.env, b.env); // the worker and the CLI inherit them
      await new Promise<void>((r) => target.server.listen(0, '127.0.0.1', r));
      const port = (target.server.address() as AddressInfo).port;
      dir = runtimeWorkspace(`rsync-secret-${backend.scheme}-`, {
        secrets: { cacheTtl: '1s', ...b.secrets },
        retry: '{ maxAttempts: 2, backoff: exponential, initial: 1s, max: 1s }',
        ...stockToHttp(port, { type: 'bearer', token: { secretRef: b.ref } }),
      });
      await applyWorkspace(dir, db.url);
      await seed(pool, 'acme/erp', 'inventory', stockRecords(3));
    });

    afterAll(async () => {
      await pool?.end();
      await db?.drop();
      await b?.close();
      target.server.close();
    });

    it('serves the rotated value to the running worker, and no output, log, plan or row holds either value', async () => {
      const shown: { what: string; text: string }[] = [];
      const output = await withWorker(dir, db.url, pool, async (w) => {
        const r1 = await cli(dir, db.url, 'run', 'acme/levels', '--env', ENV, '--wait');
        expect(r1.status, show(r1) + w.output).toBe(1); // every record dead-lettered
        expect(r1.stdout).toContain('dead-lettered 3');
        shown.push({ what: 'run 1', text: r1.stdout + r1.stderr });
        expect(target.seen).toContain(`Bearer ${first}`);

        await b.rotate(second);
        target.acceptOnly(second);
        await seed(pool, 'acme/erp', 'inventory', stockRecords(2, 100));
        // The worker keeps its value for the TTL (1s here): the next run after it sends the new version.
        await new Promise((r) => setTimeout(r, 1500));
        const r2 = await cli(dir, db.url, 'run', 'acme/levels', '--env', ENV, '--wait');
        expect(r2.status, show(r2) + w.output).toBe(0);
        expect(r2.stdout).toContain('written 2');
        shown.push({ what: 'run 2', text: r2.stdout + r2.stderr });
      });
      expect(target.seen.at(-1)).toBe(`Bearer ${second}`);
      expect(output).not.toContain('restart');
      shown.push({ what: "the worker's log", text: output });

      // The echo reached the dead letters scrubbed: the value was known to redaction.
      const letters = (await pool.query(`SELECT error FROM rsync.dead_letters`)).rows;
      expect(letters).toHaveLength(3);
      for (const l of letters) expect(l.error).toContain('***');

      const ids = (await pool.query(`SELECT id FROM rsync.dead_letters ORDER BY id`)).rows.map((x) => String(x.id));
      const planFile = path.join(dir, 'plan.json');
      for (const args of [
        ['dlq', 'list', '--env', ENV],
        ['dlq', 'show', ids[0], '--env', ENV, '--json'],
        ['runs', '--flow', 'acme/levels', '--env', ENV, '--log', '--json'],
        ['status', '--env', ENV, '--json'],
        ['plan', '--env', ENV, '--json'],
        ['plan', '--env', ENV, '--out', planFile],
        ['validate', '--json'],
      ]) {
        const c = await cli(dir, db.url, ...args);
        expect(c.status, show(c)).not.toBeNull();
        shown.push({ what: `rsync ${args.join(' ')}`, text: c.stdout + c.stderr });
      }
      shown.push({ what: 'the saved plan', text: readFileSync(planFile, 'utf8') });
      for (const col of await everyTextColumn(pool)) shown.push({ what: col.where, text: col.text });

      const found = shown.flatMap((s) => leaks(s.text).map((l) => `${s.what}: ${l}`));
      expect(found).toEqual([]);
      // The grep looked at something: the rows and outputs it read are not empty.
      expect(shown.find((s) => s.what === 'rsync.dead_letters.error')?.text).toContain('invalid_token');
      expect(shown.find((s) => s.what.startsWith('rsync plan --env staging --json'))?.text).toContain('"changes"');
    });
  });
}
