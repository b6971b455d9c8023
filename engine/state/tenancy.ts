/**
 * Queries made on behalf of one customer — the console's customer viewer, a customer's monthly report — run under
 * PostgreSQL's row-level security (migration 023): each in a read-only transaction that takes the role
 * `rsync_tenant` (SET LOCAL ROLE) and names the customer in the setting `rsync.customer`, so the policies show that
 * customer's rows only. The SQL filters of those queries stay; this is the second wall, there so that a query that
 * forgets its filter, or is given another customer's id, still reads nothing of another tenant.
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

/** Whether this database's customer-scoped queries can run as `rsync_tenant` (asked once per pool). */
export function tenantIsolation(pool: pg.Pool): Promise<TenantIsolation> {
  let p = known.get(pool);
  if (!p) {
    p = pool
      .query<{ exists: boolean; member: boolean | null; policies: number }>(
        `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists,
                CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                     THEN pg_has_role(current_user, $1, 'USAGE') OR pg_has_role(current_user, $1, 'MEMBER') END AS member,
                (SELECT count(*)::int FROM pg_policy WHERE polname = 'tenant') AS policies`,
        [TENANT_ROLE],
      )
      .then(({ rows: [r] }): TenantIsolation => {
        if (!r.exists)
          return {
            enforced: false,
            reason: `the role ${TENANT_ROLE} does not exist (the database user that ran rsync's migrations may not create roles: create it with \`CREATE ROLE ${TENANT_ROLE} NOLOGIN\` and \`GRANT ${TENANT_ROLE} TO <rsync's user>\`, then run \`rsync db migrate\`)`,
          };
        if (!r.member)
          return {
            enforced: false,
            reason: `the database user may not take the role ${TENANT_ROLE}: \`GRANT ${TENANT_ROLE} TO <rsync's user>\``,
          };
        if (!r.policies)
          return { enforced: false, reason: 'the row-level security policies are missing (migration 023)' };
        return { enforced: true };
      })
      .catch((e: Error) => ({ enforced: false, reason: e.message }));
    known.set(pool, p);
  }
  return p;
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
  const query = (text: unknown, values?: unknown) =>
    asCustomer(pool, customer, (c) => c.query(text as string, values as unknown[]));
  return { query } as unknown as Queryable;
}
