/**
 * The apply log, read for history: who applied which commit to which environment, when, with what result.
 *
 * History is read-only and must work without a database, so it finds one the gentle way: DATABASE_URL when set;
 * else the workspace's embedded PostgreSQL, started if stopped (about a second) — but never created: a workspace
 * that never had one has never been applied from, so there is no log to show, and `rsync history` should not
 * leave a new database behind. It runs no migrations either: a database without the rsync schema has no log.
 * Any of these cases gives Git history only, with a note saying why.
 */
import pg from 'pg';
import { redactUrl } from '../state/db.js';
import { embeddedStatus, ensureEmbedded } from '../state/embedded.js';

export interface ApplyLogEntry {
  /** The apply log entry's number. */
  n: number;
  env: string;
  action: string;
  actor: string;
  commit: string | null;
  ref: string | null;
  /** ISO 8601, UTC. */
  at: string;
  /** What the action recorded: for an apply, the counts (applied, waiting, live, driftHealed) and the changes. */
  detail: Record<string, unknown>;
}

export interface ApplyLogRead {
  available: boolean;
  /** Where it was read from, without the password. */
  database?: string;
  /** Why it was not read, when it was not. */
  note?: string;
  /** Matching entries, newest first. */
  entries: ApplyLogEntry[];
  /** True when more matching entries exist beyond `limit`. */
  more: boolean;
}

export interface ReadApplyLogOptions {
  /** The database; default DATABASE_URL, else the workspace's embedded database when it exists. */
  url?: string;
  env?: string;
  /** Which entries to keep (the env filter is applied in SQL). */
  match?: (e: ApplyLogEntry) => boolean;
  limit: number;
  log?: (line: string) => void;
}

async function databaseUrl(root: string, opts: ReadApplyLogOptions): Promise<{ url?: string; note?: string }> {
  const explicit = opts.url ?? process.env.DATABASE_URL;
  if (explicit) return { url: explicit };
  const status = await embeddedStatus(root);
  if (!status.initialised) {
    return {
      note: 'No apply log: DATABASE_URL is not set and this workspace has no embedded database (nothing was applied from it yet).',
    };
  }
  try {
    return { url: (await ensureEmbedded(root, opts.log)).url };
  } catch (e) {
    return {
      note: `No apply log: the embedded database could not be started (${(e as Error).message.split('\n')[0]}).`,
    };
  }
}

export async function readApplyLog(root: string, opts: ReadApplyLogOptions): Promise<ApplyLogRead> {
  const found = await databaseUrl(root, opts);
  if (!found.url) return { available: false, note: found.note, entries: [], more: false };
  const database = redactUrl(found.url);
  const client = new pg.Client({
    connectionString: found.url,
    application_name: 'rsync history',
    connectionTimeoutMillis: 5000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    return {
      available: false,
      database,
      note: `No apply log: cannot connect to PostgreSQL at ${database} (${(e as Error).message}).`,
      entries: [],
      more: false,
    };
  }
  try {
    const exists = await client.query<{ ok: boolean }>(`SELECT to_regclass('rsync.apply_log') IS NOT NULL AS ok`);
    if (!exists.rows[0].ok) {
      return {
        available: false,
        database,
        note: `No apply log: the database at ${database} has no rsync state yet (nothing was applied).`,
        entries: [],
        more: false,
      };
    }
    const entries: ApplyLogEntry[] = [];
    const page = 500;
    let below: number | null = null;
    for (;;) {
      const { rows }: { rows: Record<string, unknown>[] } = await client.query(
        `SELECT n, env, action, actor, commit, ref, at, detail FROM rsync.apply_log
          WHERE ($1::text IS NULL OR env = $1) AND ($2::bigint IS NULL OR n < $2)
          ORDER BY n DESC LIMIT ${page}`,
        [opts.env ?? null, below],
      );
      for (const r of rows) {
        const e: ApplyLogEntry = {
          n: Number(r.n),
          env: String(r.env),
          action: String(r.action),
          actor: String(r.actor),
          commit: (r.commit as string | null) ?? null,
          ref: (r.ref as string | null) ?? null,
          at: (r.at as Date).toISOString(),
          detail: (r.detail as Record<string, unknown> | null) ?? {},
        };
        if (opts.match && !opts.match(e)) continue;
        if (entries.length === opts.limit) return { available: true, database, entries, more: true };
        entries.push(e);
      }
      if (rows.length < page) return { available: true, database, entries, more: false };
      below = Number(rows[rows.length - 1].n);
    }
  } finally {
    await client.end().catch(() => {});
  }
}
