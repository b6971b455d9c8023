/**
 * pg-boss on rsync's own pool: one set of connections for both, and pg-boss's SQL can run inside rsync's
 * transactions. Maintenance and the cron timekeeper run only in workers (`rsync worker`), not in plan or apply.
 */
import PgBoss from 'pg-boss';
import type pg from 'pg';

export const BOSS_SCHEMA = 'pgboss';

export async function openBoss(pool: pg.Pool, opts: { worker?: boolean } = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values as unknown[]) },
    schema: BOSS_SCHEMA,
    migrate: true,
    supervise: opts.worker ?? false,
    schedule: opts.worker ?? false,
  });
  boss.on('error', () => {}); // surfaced by the calls that fail
  await boss.start();
  return boss;
}
