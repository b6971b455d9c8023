/**
 * state/ owns rsync's tables in PostgreSQL (schema `rsync`): one module per table, each with that table's SQL
 * (deployments, apply-log, runs, cursors, ledger, dead-letters, deliveries, backfills, workers, rate-limits,
 * locks), the one transaction helper (tx.ts), the migrations and the embedded server. It imports nothing from
 * plan/, apply/ or runtime/, and never touches pg-boss's schema (live/ does).
 *
 * The database connection every stateful command uses: DATABASE_URL when set (any PostgreSQL 13+), else the
 * workspace's embedded PostgreSQL (started on first use and reused). Migrations run on connect.
 */
import pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { ensureEmbedded } from './embedded.js';
import { migrate } from './migrate.js';

export interface Database {
  pool: pg.Pool;
  /** The connection URL (for the few things that need a session of their own, like the apply lock). */
  url: string;
  /** Where it is, without the password: for messages. */
  describe: string;
  embedded: boolean;
  close(): Promise<void>;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export async function connect(
  workspace: string,
  opts: { log?: (line: string) => void; url?: string } = {},
): Promise<Database> {
  const explicit = opts.url ?? process.env.DATABASE_URL;
  let url: string;
  let embedded = false;
  if (explicit) url = explicit;
  else {
    url = (await ensureEmbedded(workspace, opts.log)).url;
    embedded = true;
  }
  const pool = new pg.Pool({ connectionString: url, max: 8, application_name: 'rsync' });
  pool.on('error', () => {}); // idle-client errors surface on the next query
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new RsyncError(
      `Cannot connect to PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`,
      ExitCode.UNAVAILABLE,
      explicit
        ? 'Check DATABASE_URL, or unset it to use the embedded database.'
        : 'Run `rsync db status`; `rsync db stop` then retry.',
    );
  }
  await migrate(pool);
  return {
    pool,
    url,
    describe: embedded ? `embedded PostgreSQL (${redactUrl(url)})` : redactUrl(url),
    embedded,
    close: () => pool.end(),
  };
}
