/**
 * A fresh PostgreSQL database per test file, on real PostgreSQL: the server in DATABASE_URL when set (any
 * PostgreSQL 13+), else an embedded one shared by the test run (started once under the OS temp folder).
 * Drop it in afterAll with `await db.drop()`.
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
  drop(): Promise<void>;
}

/** The folder whose .rsync/ holds the embedded server the tests share. */
export const TEST_PG_HOME = path.join(os.tmpdir(), 'rsync-test-pg');

async function serverUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const { mkdirSync } = await import('node:fs');
  mkdirSync(TEST_PG_HOME, { recursive: true });
  return (await ensureEmbedded(TEST_PG_HOME)).url;
}

export async function testDatabase(label = 'test'): Promise<TestDatabase> {
  const admin = await serverUrl();
  const name = `rsync_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
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
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        // A pool's end() resolves once its clients are told to end, before their sockets close: terminated meanwhile,
        // such a client gets FATAL 57P01 with no listener left, an uncaught error that fails the whole test run.
        // Its connection goes by itself within milliseconds, so wait for that (2 s at most) before terminating.
        const others = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;
        for (let t = 0; t < 40 && (await c.query<{ n: number }>(others, [name])).rows[0].n > 0; t++)
          await new Promise((r) => setTimeout(r, 50));
        await c.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [name],
        );
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}
