/**
 * Secrets at run time, end to end: an http target whose oauth2 client secret is a `file:` reference in the secrets
 * folder rsync.yaml declares, and a token endpoint on 127.0.0.1 that echoes what it was sent — the form body in a
 * 503 (retried: the run's log keeps the reason), then the client secret base64-encoded, JSON-escaped and inside a
 * Basic credential in a 400 (every record dead-lettered). No encoding of the secret may reach the dead letters,
 * the run's row and log, the worker's output or what `rsync dlq` and `rsync runs` print.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/** Every character an encoding treats on its own: space, +, /, &, =, a quote, a backslash, non-ASCII. */
const SECRET = 'Zk8+/q w&="x\\é!93';
const CLIENT_ID = 'app';

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** What must appear nowhere: the secret in each encoding an API may echo it in. */
const ENCODINGS: Record<string, string> = {
  raw: SECRET,
  'URL-encoded': encodeURIComponent(SECRET),
  'URL-encoded, lower-case hex': encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  'form-encoded': new URLSearchParams({ s: SECRET }).toString().slice(2),
  'JSON-escaped': JSON.stringify(SECRET).slice(1, -1),
  base64: b64(SECRET),
  base64url: Buffer.from(SECRET).toString('base64url'),
  'Basic credential': b64(`${CLIENT_ID}:${SECRET}`),
};

function leaks(text: string): string[] {
  return Object.entries(ENCODINGS)
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);
}

/** A token endpoint that echoes its form body (503, then 400 for good), and a target it never lets anyone reach. */
function echoingApi() {
  const forms: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url !== '/oauth/token') return void res.writeHead(401).end();
      forms.push(body);
      const sent = new URLSearchParams(body).get('client_secret') ?? '';
      const reply =
        forms.length === 1
          ? { status: 503, body: JSON.stringify({ error: 'temporarily_unavailable', got: body }) }
          : {
              status: 400,
              body: JSON.stringify({
                error: 'invalid_client',
                b64: b64(sent),
                basic: b64(`${CLIENT_ID}:${sent}`),
                raw: sent,
              }),
            };
      res.writeHead(reply.status, { 'content-type': 'application/json', 'retry-after': '0' }).end(reply.body);
    });
  });
  return { server, forms };
}

describe('secrets at run time: a file: client secret, echoed back by the token endpoint', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  const api = echoingApi();

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/worker.ts', 'cli/commands/dlq/show.ts', 'cli/commands/runs.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_secrets');
    await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
    const port = (api.server.address() as AddressInfo).port;
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test runtime-secrets' });
    // The secrets folder: outside the workspace, declared in rsync.yaml.
    const folder = mkdtempSync(path.join(os.tmpdir(), 'rsync-secrets-folder-'));
    mkdirSync(path.join(folder, 'acme'));
    writeFileSync(path.join(folder, 'acme', 'stockapi-client-secret'), `${SECRET}\n`);
    dir = runtimeWorkspace('rsync-secrets-', {
      secretsFolder: folder,
      retry: '{ maxAttempts: 3, backoff: exponential, initial: 1s, max: 2s }',
      ...stockToHttp(port, {
        type: 'oauth2',
        tokenUrl: `http://127.0.0.1:${port}/oauth/token`,
        clientId: CLIENT_ID,
        clientSecret: { secretRef: 'file:acme/stockapi-client-secret' },
      }),
    });
    await applyWorkspace(dir, db.url);
    await seed(pool, 'acme/erp', 'inventory', stockRecords(3));
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    api.server.close();
  });

  it('dead-letters every record with the echo scrubbed, in every place a message is kept or shown', async () => {
    const output = await withWorker(dir, db.url, pool, async (w) => {
      const r = await cli(dir, db.url, 'run', 'acme/levels', '--env', ENV, '--wait');
      // Every record dead-lettered: run --wait exits 1 (issue 21), as for a failed run.
      expect(r.status, show(r) + w.output).toBe(1);
      expect(r.stdout).toContain('every record dead-lettered');
      expect(r.stdout).toContain('dead-lettered 3');
      expect(leaks(r.stdout + r.stderr)).toEqual([]);
    });

    // The file was read, and the endpoint did get the secret (and echoed it): the scrubbing is what kept it out.
    expect(api.forms.length).toBeGreaterThanOrEqual(2);
    expect(new URLSearchParams(api.forms[0]).get('client_secret')).toBe(SECRET);

    const letters = (await pool.query(`SELECT error, payload FROM rsync.dead_letters ORDER BY id`)).rows;
    expect(letters).toHaveLength(3);
    for (const l of letters) {
      expect(l.error).toContain('http: oauth2 token request: POST /oauth/token: HTTP 400 Bad Request');
      expect(l.error).toContain('"raw":"***"');
      expect(leaks(JSON.stringify(l)), l.error).toEqual([]);
    }

    const [run] = (await pool.query(`SELECT error, log FROM rsync.runs ORDER BY id DESC LIMIT 1`)).rows;
    const backoff = (run.log as { event: string; reason?: string }[]).find((e) => e.event === 'backoff');
    expect(backoff?.reason).toContain('HTTP 503 Service Unavailable');
    expect(backoff?.reason).toContain('client_secret=***');
    expect(leaks(JSON.stringify(run))).toEqual([]);

    expect(output).toContain('retry 1/2');
    expect(leaks(output), output).toEqual([]);

    const list = await cli(dir, db.url, 'dlq', 'list', '--env', ENV);
    const ids = (await pool.query(`SELECT id FROM rsync.dead_letters ORDER BY id`)).rows.map((x) => String(x.id));
    const shown = await cli(dir, db.url, 'dlq', 'show', ids[0], '--env', ENV);
    const shownJson = await cli(dir, db.url, 'dlq', 'show', ids[2], '--env', ENV, '--json');
    const runs = await cli(dir, db.url, 'runs', '--flow', 'acme/levels', '--env', ENV, '--log');
    const runsJson = await cli(dir, db.url, 'runs', '--flow', 'acme/levels', '--env', ENV, '--log', '--json');
    for (const c of [list, shown, shownJson, runs, runsJson]) {
      expect(c.status, show(c)).toBe(0);
      expect(leaks(c.stdout + c.stderr), show(c)).toEqual([]);
    }
    expect(shown.stdout).toContain('oauth2 token request');
    expect(runs.stdout).toContain('client_secret=***');
  });
});
