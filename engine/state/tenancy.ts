/**
 * Queries made on behalf of one customer — the console's customer viewer, a customer's monthly report — run under
 * PostgreSQL's row-level security (migration 023): each in a read-only transaction that takes the role
 * `rsync_tenant` (SET LOCAL ROLE) and names the customer in the setting `rsync.customer`, so the policies show that
 * customer's rows only. The SQL filters of those queries stay; this is the second wall, there so that a query that
 * forgets its filter, or is given another customer's id, still reads nothing of another tenant.
 *
 * What it guards against is a query's mistake (a filter forgotten, another tenant's id passed on), not SQL written by
 * an attacker: the customer is a setting of the transaction, which a statement of its own could change. The queries
 * through it are rsync's own, parameterised, one statement each (the extended protocol: no second statement rides
 * along).
 *
 * Where the role could not be created or granted (a PostgreSQL whose rsync user may not create roles), the scoped
 * queryable runs the queries as they are, on their SQL filters alone, and `tenantIsolation` says why: the console
 * prints it when it starts.
 */
import type pg from 'pg';
import { withClient } from './tx.js';

export const TENANT_ROLE = 'rsync_tenant';

type Queryable = Pick<pg.Pool, 'query'>;

export interface TenantIsolation {
  /** Whether customer-scoped queries run under row-level security. */
  enforced: boolean;
  /** Why not, in words, when they do not. */
  reason?: string;
}

const known = new WeakMap<pg.Pool, Promise<TenantIsolation>>();

/** The tables a customer's queries may read (each with its row-level security policies, migration 023). */
const TENANT_TABLES = [
  'resources',
  'revisions',
  'blobs',
  'runs',
  'cursors',
  'ledger',
  'dead_letters',
  'deliveries',
  'backfills',
  'backfill_windows',
  'sla_events',
  'run_totals',
  'flow_pauses',
  'apply_log',
  'quota_usage',
];

/**
 * Whether this database's customer-scoped queries can run as `rsync_tenant` (asked once per pool). A role created
 * by an administrator after migration 023 ran (rsync's user could not create it) is given its grants here.
 */
export function tenantIsolation(pool: pg.Pool): Promise<TenantIsolation> {
  let p = known.get(pool);
  if (!p) {
    p = check(pool).catch((e: Error) => ({ enforced: false, reason: e.message }));
    known.set(pool, p);
  }
  return p;
}

async function check(pool: pg.Pool): Promise<TenantIsolation> {
  const {
    rows: [r],
  } = await pool.query<{ exists: boolean; member: boolean | null; granted: boolean | null; policies: number }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists,
            CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                 THEN pg_has_role(current_user, $1, 'MEMBER') END AS member,
            CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                 THEN has_table_privilege($1, 'rsync.runs', 'SELECT') END AS granted,
            (SELECT count(*)::int FROM pg_policy WHERE polname = 'tenant') AS policies`,
    [TENANT_ROLE],
  );
  const create = `create it as an administrator: \`CREATE ROLE ${TENANT_ROLE} NOLOGIN; GRANT ${TENANT_ROLE} TO <rsync's user>\``;
  if (!r.exists) return { enforced: false, reason: `the role ${TENANT_ROLE} does not exist (${create})` };
  if (!r.member)
    return { enforced: false, reason: `rsync's database user may not take the role ${TENANT_ROLE} (${create})` };
  if (!r.policies) return { enforced: false, reason: 'the row-level security policies are missing (migration 023)' };
  if (!r.granted) {
    await pool.query(`GRANT USAGE ON SCHEMA rsync TO ${TENANT_ROLE}`);
    await pool.query(`GRANT SELECT ON ${TENANT_TABLES.map((t) => `rsync.${t}`).join(', ')} TO ${TENANT_ROLE}`);
  }
  return { enforced: true };
}

/**
 * Run `fn` with a connection whose queries see only `customer`'s rows: a read-only transaction as `rsync_tenant`.
 * Everything `fn` does happens in that transaction; it is rolled back afterwards (nothing is written through it).
 */
export async function asCustomer<T>(
  pool: pg.Pool,
  customer: string,
  fn: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const iso = await tenantIsolation(pool);
  return withClient(pool, async (client) => {
    await client.query('BEGIN READ ONLY');
    try {
      await client.query(`SELECT set_config('rsync.customer', $1, true)`, [customer]);
      if (iso.enforced) await client.query(`SET LOCAL ROLE ${TENANT_ROLE}`);
      return await fn(client);
    } finally {
      await client.query('ROLLBACK').catch(() => {});
    }
  });
}

/**
 * A queryable for code written against a pool (the console's pages, a report's figures): each query runs on its
 * own as `customer` (asCustomer). Queries may run concurrently: each takes its own connection.
 */
export function customerQueryable(pool: pg.Pool, customer: string): Queryable {
  // The extended protocol, always (pg sends a query without parameters as a simple query, which may hold several
  // statements): one statement per query, so no text can end the role and go on as rsync's own user.
  const query = (text: unknown, values?: unknown) =>
    asCustomer(pool, customer, (c) =>
      // queryMode is pg's (8.11+), not yet in its types.
      c.query({
        text: text as string,
        values: (values as unknown[] | undefined) ?? [],
        queryMode: 'extended',
      } as pg.QueryConfig),
    );
  return { query } as unknown as Queryable;
}
