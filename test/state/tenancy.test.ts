/**
 * Row-level security for queries made on behalf of one customer (engine/state/tenancy.ts, migration 023), on real
 * PostgreSQL with two customers (acme and globex) that each ran a flow and have a dead letter: a query scoped to
 * acme that names globex's rows — by a forged customer id, by globex's addresses, by the id of globex's run —
 * returns nothing; the console's reads, called as if their own customer filter had been forgotten (a scope of
 * "every customer") but through acme's scoped queryable, still show acme's rows only; nothing can be written
 * through it; and the engine's own queries (the owner's) still see every row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterList, FlowCache, overview, runPage } from '../../engine/console/data.js';
import { asCustomer, customerQueryable, tenantIsolation } from '../../engine/state/tenancy.js';
import { ENV } from '../helpers/runtime.js';
import { type ConsoleWorld, consoleWorld } from '../console/setup.js';

let w: ConsoleWorld;
/** A scope that forgets its customer: what a bug in a console query would amount to. */
const FORGOT = { customer: null, payloads: true };

beforeAll(async () => {
  w = await consoleWorld('tenancy');
}, 180_000);

afterAll(async () => {
  await w?.close();
});

describe('row-level security for a customer', () => {
  it('is enforced on this database (the role exists and rsync may take it)', async () => {
    expect(await tenantIsolation(w.pool)).toEqual({ enforced: true });
  });

  it('returns nothing of another customer to a query that asks for it by a forged id', async () => {
    const globexRun = await w.pool.query<{ id: number }>(
      `SELECT id::int FROM rsync.runs WHERE address LIKE 'globex/%' ORDER BY id LIMIT 1`,
    );
    expect(globexRun.rows.length).toBe(1);
    await asCustomer(w.pool, 'acme', async (db) => {
      const q = async (sql: string, values: unknown[] = []) => (await db.query(sql, values)).rows;
      expect(await q(`SELECT * FROM rsync.dead_letters WHERE customer = 'globex'`)).toEqual([]);
      expect(await q(`SELECT * FROM rsync.runs WHERE address LIKE 'globex/%'`)).toEqual([]);
      expect(await q(`SELECT * FROM rsync.runs WHERE id = $1`, [globexRun.rows[0].id])).toEqual([]);
      expect(await q(`SELECT * FROM rsync.ledger WHERE address LIKE 'globex/%'`)).toEqual([]);
      expect(await q(`SELECT * FROM rsync.resources WHERE customer = 'globex'`)).toEqual([]);
      expect(await q(`SELECT * FROM rsync.cursors WHERE address LIKE 'globex/%'`)).toEqual([]);
      // Without a filter at all: only acme's rows (and the partner's own resources).
      const letters = await q(`SELECT DISTINCT customer FROM rsync.dead_letters`);
      expect(letters).toEqual([{ customer: 'acme' }]);
      const owners = await q(`SELECT DISTINCT split_part(address, '/', 1) AS c FROM rsync.runs`);
      expect(owners).toEqual([{ c: 'acme' }]);
      const resources = await q(`SELECT DISTINCT coalesce(customer, '(partner)') AS c FROM rsync.resources ORDER BY 1`);
      expect(resources.map((r) => r.c)).toEqual(['(partner)', 'acme']);
      // Tables a customer has no business reading are not granted at all.
      await expect(db.query(`SELECT * FROM rsync.tokens`)).rejects.toThrow(/permission denied/);
    });
    // The engine (the tables' owner) still sees both.
    const all = await w.pool.query(`SELECT DISTINCT customer FROM rsync.dead_letters ORDER BY 1`);
    expect(all.rows).toEqual([{ customer: 'acme' }, { customer: 'globex' }]);
  });

  it('reads nothing for a customer with no rows, and runs one statement per query (no role reset riding along)', async () => {
    const nobody = customerQueryable(w.pool, 'nobody');
    expect((await nobody.query(`SELECT * FROM rsync.dead_letters`)).rows).toEqual([]);
    expect((await nobody.query(`SELECT * FROM rsync.runs`)).rows).toEqual([]);
    const acme = customerQueryable(w.pool, 'acme');
    await expect(acme.query(`RESET ROLE; SELECT * FROM rsync.dead_letters`)).rejects.toThrow(
      /cannot insert multiple commands into a prepared statement/,
    );
  });

  it("shows the console's reads only the customer's rows even when their own filter is forgotten", async () => {
    const acme = customerQueryable(w.pool, 'acme');
    const globexRun = await w.pool.query<{ id: number }>(
      `SELECT id::int FROM rsync.runs WHERE address LIKE 'globex/%' ORDER BY id LIMIT 1`,
    );
    expect(await runPage(acme, ENV, FORGOT, globexRun.rows[0].id)).toBeNull();
    const acmeRun = await w.pool.query<{ id: number }>(
      `SELECT id::int FROM rsync.runs WHERE address LIKE 'acme/%' ORDER BY id LIMIT 1`,
    );
    expect((await runPage(acme, ENV, FORGOT, acmeRun.rows[0].id))?.id).toBe(acmeRun.rows[0].id);
    const letters = await deadLetterList(acme, ENV, FORGOT, { status: 'all' });
    expect(letters.letters.map((l) => l.customer)).toEqual(['acme']);
    const view = await overview(acme, new FlowCache(acme, ENV), FORGOT);
    expect(view.customers).toEqual(['acme']);
    expect(view.flows.every((f) => f.customer === 'acme')).toBe(true);
    expect(view.flows.length).toBeGreaterThan(0);
  });

  it('writes nothing through a customer scope', async () => {
    const acme = customerQueryable(w.pool, 'acme');
    await expect(acme.query(`UPDATE rsync.dead_letters SET error = 'x' WHERE customer = 'acme'`)).rejects.toThrow(
      /read-only transaction|permission denied/,
    );
    const still = await w.pool.query(`SELECT count(*)::int AS n FROM rsync.dead_letters WHERE error = 'x'`);
    expect(still.rows[0].n).toBe(0);
  });
});
