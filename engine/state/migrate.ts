/**
 * Numbered migrations of the `rsync` schema (engine/state/migrations/NNN-name.sql), applied in order, each once,
 * in a transaction, under an advisory lock so that concurrent commands and workers migrate one at a time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { projectRoot } from '../util/paths.js';
import { withTransaction } from './tx.js';

/** An arbitrary constant: the advisory lock key for migrations. */
const MIGRATION_LOCK = 7_275_001;

function migrationsDir(): string {
  // From source the .sql files sit beside this file; from the build (.build/engine/state) they stay in engine/.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'migrations');
  try {
    if (readdirSync(beside).some((f) => f.endsWith('.sql'))) return beside;
  } catch {
    /* fall through */
  }
  return path.join(projectRoot(), 'engine', 'state', 'migrations');
}

export function migrationFiles(): { id: number; name: string; sql: string }[] {
  const dir = migrationsDir();
  return readdirSync(dir)
    .filter((f) => /^\d{3}-[a-z0-9-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      id: Number(f.slice(0, 3)),
      name: f.replace(/\.sql$/, ''),
      sql: readFileSync(path.join(dir, f), 'utf8'),
    }));
}

export async function migrate(pool: pg.Pool): Promise<number> {
  const files = migrationFiles();
  const client = await pool.connect();
  try {
    // Fast path: nothing to do (the common case for every command after the first).
    // By count as well as by the newest: a database migrated by a branch with 012 before 010 and 011 were merged
    // still has those to apply.
    const have = await client
      .query<{ max: number | null; n: number }>(`SELECT max(id) AS max, count(*)::int AS n FROM rsync.migrations`)
      .then((r) => r.rows[0])
      .catch(() => ({ max: 0, n: 0 }));
    if ((have.max ?? 0) >= files[files.length - 1].id && have.n >= files.length) return 0;
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS rsync`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS rsync.migrations (id int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await client.query<{ id: number }>('SELECT id FROM rsync.migrations')).rows.map((r) => r.id),
      );
      let applied = 0;
      for (const m of files) {
        if (done.has(m.id)) continue;
        await withTransaction(client, async (tx) => {
          await tx.query(m.sql);
          await tx.query('INSERT INTO rsync.migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
        }).catch((e) => {
          throw new Error(`migration ${m.name} failed: ${(e as Error).message}`);
        });
        applied++;
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
