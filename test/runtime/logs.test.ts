/**
 * The worker's structured log (cli/log.ts), end to end: `rsync worker` in a child process (standard error not a
 * terminal: JSON), a flow into an http target whose bearer token is an `env:` secret reference, and a target that
 * echoes what it was sent — the Authorization header, the URL (whose key holds a customer's e-mail address, a PII
 * field of the policy) and the body — in a 503 (retried: a warn line) and then a 422 (every record dead-lettered).
 * Every line must be one JSON object with a level, a time and a message; every line about the run must carry the
 * flow's address, the run's id and the run's trace (the one its log in rsync.runs starts with); and neither the
 * secret (in any encoding) nor the e-mail address may appear in any line. `rsync run` logs the same way.
 */
import http from 'node:http';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLog } from '../../cli/log.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  cli,
  ENV,
  listenLocal,
  runtimeWorkspace,
  seed,
  spawnWorker,
  until,
} from '../helpers/runtime.js';

const TOKEN = 'tok-9f3K+/z=planted';
const EMAIL = 'dana.planted@example.com';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const FORBIDDEN: Record<string, string> = {
  secret: TOKEN,
  'secret, URL-encoded': encodeURIComponent(TOKEN),
  'secret, base64': b64(TOKEN),
  'PII e-mail': EMAIL,
  'PII e-mail, URL-encoded': encodeURIComponent(EMAIL),
};
const leaks = (text: string) =>
  Object.entries(FORBIDDEN)
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);

/** A target that echoes everything it was sent: 503 the first time a key comes, 422 after. */
function echoingTarget() {
  const seen = new Map<string, number>();
  const auth: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      auth.push(String(req.headers.authorization));
      const n = (seen.get(req.url ?? '') ?? 0) + 1;
      seen.set(req.url ?? '', n);
      const echo = JSON.stringify({ error: 'rejected', url: req.url, auth: req.headers.authorization, body });
      res.writeHead(n === 1 ? 503 : 422, { 'content-type': 'application/json', 'retry-after': '0' }).end(echo);
    });
  });
  return { server, auth };
}

describe('structured logs: JSON lines with address, run and trace; no secret, no PII', { timeout: 120_000 }, () => {
  const target = echoingTarget();
  let db: TestDatabase;
  let dir: string;
  let pool: pg.Pool;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/worker.ts', 'cli/commands/run.ts', 'cli/log.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_logs');
    const port = await listenLocal(target.server);
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test runtime-logs' });
    dir = runtimeWorkspace('rsync-logs-', {
      retry: '{ maxAttempts: 2, backoff: fixed, initial: 1s, max: 1s }',
      pii: ['customer.email'],
      connections: [
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
        {
          name: 'stockapi',
          connector: 'http',
          settings: {
            baseUrl: `http://127.0.0.1:${port}/api`,
            auth: { type: 'bearer', token: { secretRef: 'env:LOGS_TEST_TOKEN' } },
            entities: { level: { accepts: ['inventoryLevel'], path: '/levels', method: 'PUT' } },
          },
        },
      ],
      flows: [
        {
          name: 'levels',
          source: { connection: 'erp', stream: 'inventory' },
          target: { connection: 'stockapi', entity: 'level' },
          mapping: `{ "sku": sku, "locationId": $string(location), "available": $number(qty), "updatedAt": updated_at }`,
          canonical: 'inventoryLevel',
          // The key carries the e-mail address: the target's URL, and so its echo, holds it.
          key: "'stock-' & email",
          batchSize: 10,
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    await seed(pool, 'acme/erp', 'inventory', [
      { id: 1, sku: 'A-1', location: 1, qty: '5', email: EMAIL, updated_at: '2026-11-01T00:00:00Z' },
    ]);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    target.server.close();
  });

  it('logs the run as JSON lines that carry its address, id and trace, with the planted values scrubbed', async () => {
    process.env.LOGS_TEST_TOKEN = TOKEN; // the worker's environment (spawnWorker passes this process's on)
    const w = spawnWorker(dir, db.url, '--threads', '1', '--log-level', 'debug');
    let queued: Awaited<ReturnType<typeof cli>>;
    try {
      await until('the worker', async () =>
        (await pool.query(`SELECT 1 FROM rsync.workers`)).rowCount ? true : undefined,
      );
      queued = await cli(dir, db.url, 'run', 'acme/levels', '--env', ENV, '--wait');
      expect(queued.status, show(queued) + w.output).toBe(1); // every record dead-lettered
    } finally {
      w.kill('SIGTERM');
      await w.exited;
    }
    // The secret was resolved and sent (the scrubbing is what keeps it out), the e-mail address was in the URL.
    expect(target.auth).toContain(`Bearer ${TOKEN}`);

    const lines = w.output.trimEnd().split('\n');
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not one JSON object: ${l}`);
      }
    });
    for (const l of parsed) {
      expect(l).toMatchObject({ level: expect.any(String), time: expect.any(String), message: expect.any(String) });
      expect(['debug', 'info', 'warn', 'error']).toContain(l.level);
    }
    const run = (await pool.query(`SELECT id::int, log FROM rsync.runs WHERE address = 'acme/flow/levels'`)).rows[0];
    const trace = (run.log as { event: string; trace?: string }[])[0];
    expect(trace).toMatchObject({ event: 'start', trace: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const about = parsed.filter((l) => l.run !== undefined);
    // The retry (warn) and the run's end (its summary), both about the run.
    expect(about.map((l) => l.level)).toEqual(expect.arrayContaining(['warn', 'info']));
    expect(about.some((l) => String(l.message).includes('retry 1/1'))).toBe(true);
    expect(about.some((l) => String(l.message).startsWith(`run ${run.id} acme/flow/levels@`))).toBe(true);
    for (const l of about) expect(l).toMatchObject({ address: 'acme/flow/levels', run: run.id, trace: trace.trace });
    expect(leaks(w.output), w.output).toEqual([]);
    // The dead letter's error quotes the echo too: masked the same way.
    const letters = (await pool.query(`SELECT error FROM rsync.dead_letters`)).rows;
    expect(letters).toHaveLength(1);
    expect(letters[0].error).toContain('HTTP 422');
    expect(leaks(letters[0].error), letters[0].error).toEqual([]);

    // `rsync run` (not a terminal either): its note is a JSON line too, and its output has neither value.
    const note = JSON.parse(queued!.stderr.trim().split('\n')[0]);
    expect(note).toMatchObject({ level: 'info', message: expect.stringContaining('queued a run of acme/flow/levels') });
    expect(leaks(queued!.stdout + queued!.stderr)).toEqual([]);
  });

  it('writes only the lines at or above --log-level', async () => {
    const w = spawnWorker(dir, db.url, '--threads', '1', '--log-level', 'warn', '--for', '1s');
    expect(await w.exited, w.output).toBe(0);
    // The start and stop notes are info: none is written.
    expect(w.output).toBe('');
  });

  it('is one readable line a message on a terminal, and JSON when asked, with credentials redacted either way', () => {
    const collect = () => {
      const chunks: string[] = [];
      const stream = new Writable({
        write(c, _e, done) {
          chunks.push(String(c));
          done();
        },
      });
      return { stream, text: () => chunks.join('') };
    };
    const fields = {
      level: 'warn' as const,
      address: 'acme/flow/stock',
      run: 7,
      trace: 'abcdef0123456789',
      token: 'x',
    };
    const tty = collect();
    const pretty = commandLog({ level: 'info', format: 'auto', json: false, tty: true, destination: tty.stream });
    pretty.write('acme/flow/stock: 2 record(s) failed; retry 1/3 in 1.0 s', fields);
    pretty.write('hidden', { level: 'debug' });
    // Colours (a terminal's escape sequences) aside.
    const line = tty.text().replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: acme\/flow\/stock: 2 record\(s\) failed; retry 1\/3 in 1\.0 s /);
    expect(line).toContain('"run":7');
    expect(line).toContain('"trace":"abcdef0123456789"');
    expect(line).toContain('"token":"***"');
    expect(line).not.toContain('hidden');
    expect(line.trimEnd().split('\n')).toHaveLength(1);

    const piped = collect();
    const json = commandLog({ level: 'info', format: 'auto', json: true, tty: true, destination: piped.stream });
    json.write('the same', fields);
    expect(JSON.parse(piped.text())).toMatchObject({ level: 'warn', run: 7, token: '***', message: 'the same' });
  });
});
