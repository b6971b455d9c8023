/**
 * A fresh PostgreSQL database per test file, on real PostgreSQL: the server in DATABASE_URL when set (any
 * PostgreSQL 13+), else an embedded one shared by the test run (started once under the OS temp folder).
 * Drop it in afterAll with `await db.drop()`, after the test's own cleanup.
 *
 * drop() is also the leak check: it fails (throws, so the afterAll and the test file fail) when a worker this file
 * started is still running, or when connections to the database are still open — each named by its
 * application_name, state and last query, so give every pool a test opens an application_name. It cleans up after
 * reporting (kills the worker, terminates the connections, drops the database), so one leak fails one file only.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureEmbedded } from '../../engine/state/embedded.js';

export interface TestDatabase {
  /** Connection URL of the fresh database. */
  url: string;
  name: string;
  /** Drop the database; throws, naming them, if a worker or a connection of the test is still alive. */
  drop(): Promise<void>;
}

/** The folder whose .rsync/ holds the embedded server the tests share. */
export const TEST_PG_HOME = path.join(os.tmpdir(), 'rsync-test-pg');

/** The application_name of the helper's own connections, which the leak check leaves out. */
const HELPER_APP = 'rsync test helper';

/** A process a test started that must have exited by the time the database is dropped (a worker). */
export interface TrackedProcess {
  /** What it is, for the report: `rsync worker --threads 1`. */
  what: string;
  pid?: number;
  running(): boolean;
  kill(): Promise<void>;
}

const tracked = new Set<TrackedProcess>();

/** Have drop() fail if `p` is still running then (test/helpers/runtime.ts tracks every worker it spawns). */
export function track(p: TrackedProcess): void {
  tracked.add(p);
}

async function serverUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const { mkdirSync } = await import('node:fs');
  mkdirSync(TEST_PG_HOME, { recursive: true });
  return (await ensureEmbedded(TEST_PG_HOME)).url;
}

interface Connection {
  pid: number;
  application_name: string;
  state: string | null;
  query: string;
}

/** The workers still running, killed once listed. */
async function leakedProcesses(): Promise<string[]> {
  const out: string[] = [];
  for (const p of tracked) {
    tracked.delete(p);
    if (!p.running()) continue;
    out.push(`${p.what}${p.pid === undefined ? '' : ` (pid ${p.pid})`} is still running`);
    await p.kill();
  }
  return out;
}

/** What one leaked connection was doing, in a line. */
function describeConnection(c: Connection): string {
  const who = c.application_name
    ? c.application_name.startsWith('rsync-worker:')
      ? `"${c.application_name}" (an in-process worker's LISTEN connection: a worker not stopped)`
      : `"${c.application_name}"`
    : 'a connection with no application_name';
  const query = c.query.replace(/\s+/g, ' ').trim().slice(0, 120);
  return `${who}, ${c.state ?? 'no state'}${query ? `, last query: ${query}` : ''} (pid ${c.pid})`;
}

export async function testDatabase(label = 'test'): Promise<TestDatabase> {
  const admin = await serverUrl();
  const name = `rsync_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin, application_name: HELPER_APP });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const leaks = await leakedProcesses();
      const c = new pg.Client({ connectionString: admin, application_name: HELPER_APP });
      await c.connect();
      try {
        // A pool's end() resolves once its clients are told to end, before their sockets close: such a connection
        // goes by itself within milliseconds, so wait for that (2 s at most) before calling what is left a leak.
        // Client backends only: an autovacuum worker may be busy in the database, and is the server's, not a leak.
        const others = `SELECT pid, application_name, state, query FROM pg_stat_activity
                         WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                         ORDER BY application_name, pid`;
        let open = (await c.query<Connection>(others, [name])).rows;
        for (let t = 0; t < 40 && open.length > 0; t++) {
          await new Promise((r) => setTimeout(r, 50));
          open = (await c.query<Connection>(others, [name])).rows;
        }
        for (const conn of open) leaks.push(`connection ${describeConnection(conn)}`);
        // Reported below; terminated here so that the database can go and the leak fails this file only.
        await c.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [name],
        );
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
      if (leaks.length) {
        throw new Error(
          `The test left ${leaks.length} thing${leaks.length === 1 ? '' : 's'} open on database ${name} after its own cleanup (close each in afterAll before db.drop()):\n  ${leaks.join('\n  ')}`,
        );
      }
    },
  };
}
