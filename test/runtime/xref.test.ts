/**
 * The ID cross-reference as state (issue 13, part 4), through the CLI as a partner uses it: refunds synced by a
 * real worker from a sandbox storefront into a sandbox ERP; `rsync xref` finds each by idempotency key, target id
 * and source id; `rsync xref verify --sandbox` reads the sample back and finds every record as rsync wrote it, until
 * someone changes one and deletes another in the ERP behind rsync's back — then it reports both as drift (exit 1,
 * 2 with --detailed-exitcode).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, backfillOnce, cli, ENV, runtimeWorkspace, seed } from '../helpers/runtime.js';

const N = 60;
const MAPPING = `{ "externalId": $string(id), "orderExternalId": $string(order_id), "createdAt": created_at,
  "currency": "EUR", "adjustment": amount, "total": amount, "reason": note }`;

describe('rsync xref', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/xref/index.ts', 'cli/commands/xref/verify.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_xref');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test xref' });
    dir = runtimeWorkspace('rsync-xref-', {
      connections: [
        { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
      ],
      flows: [
        {
          name: 'refunds',
          source: { connection: 'shop', stream: 'refunds' },
          target: { connection: 'erp', entity: 'creditMemo' },
          mapping: MAPPING,
          canonical: 'refund',
          key: "'refund-' & $string(id)",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const records = Array.from({ length: N }, (_, i) => ({
      id: 7000 + i,
      order_id: 9000 + i,
      created_at: '2026-11-01T10:00:00Z',
      amount: `${10 + i}.50`,
      note: `refund ${i}`,
    }));
    await seed(
      pool,
      'acme/shop',
      'refunds',
      records,
      new Date('2026-11-01T00:00:00Z'),
      new Date('2026-11-01T12:00:00Z'),
    );
    const worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: null, threads: 1, pollMs: 100, sandbox: true });
    await worker.start();
    try {
      const done = await backfillOnce(
        pool,
        'refunds',
        new Date('2026-11-01T00:00:00Z'),
        new Date('2026-11-02T00:00:00Z'),
      );
      expect(done).toMatchObject({ done: 1, read: N });
      const w = await pool.query(`SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE entity = 'creditMemo'`);
      expect(w.rows[0].n).toBe(N);
    } finally {
      await worker.stop(5_000);
    }
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const xref = async (...args: string[]) => {
    const r = await cli(dir, db.url, 'xref', ...args, '--env', ENV, '--json');
    return { ...r, out: r.stdout ? JSON.parse(r.stdout) : undefined };
  };

  it('finds a record by key, by target id and by source id, with its revision and when', async () => {
    const ledger = (
      await pool.query(`SELECT target_id FROM rsync_sandbox.writes WHERE key = 'refund-7005' AND entity = 'creditMemo'`)
    ).rows[0].target_id as string;
    const byKey = await xref('acme/refunds', '--key', 'refund-7005');
    expect(byKey.status, show(byKey)).toBe(0);
    expect(byKey.out.total).toBe(N);
    expect(byKey.out.entries).toHaveLength(1);
    expect(byKey.out.entries[0]).toMatchObject({
      key: 'refund-7005',
      sourceId: '7005',
      target: 'acme/erp',
      targetId: ledger,
      revision: 1,
      writes: 1,
    });
    expect(Date.parse(byKey.out.entries[0].writtenAt)).toBeGreaterThan(Date.now() - 600_000);
    const byTarget = await xref('acme/refunds', '--target-id', ledger);
    expect(byTarget.out.entries.map((e: { key: string }) => e.key)).toEqual(['refund-7005']);
    const bySource = await xref('acme/refunds', '--source-id', '7005');
    expect(bySource.out.entries.map((e: { targetId: string }) => e.targetId)).toEqual([ledger]);

    // Nothing matched: exit 1 with a hint, not an empty success.
    const none = await cli(dir, db.url, 'xref', 'acme/refunds', '--key', 'refund-1', '--env', ENV);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/has no record with key refund-1/);
    // A flow that is not deployed is named as such.
    const other = await cli(dir, db.url, 'xref', 'acme/nothing', '--env', ENV);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/no flow acme\/nothing is deployed.*\n.*acme\/refunds/s);
    // The text view is a table with the source id, key and target id.
    const text = await cli(dir, db.url, 'xref', 'acme/refunds', '-n', '3', '--env', ENV);
    expect(text.status, show(text)).toBe(0);
    expect(text.stdout).toMatch(/SOURCE ID\s+KEY\s+TARGET\s+TARGET ID\s+REV/);
    expect(text.stdout).toContain(`3 of ${N}, newest first`);
  });

  it('verify finds every record as written, then reports what the ERP changed or lost behind its back', async () => {
    const verify = (...more: string[]) =>
      cli(dir, db.url, 'xref', 'verify', 'acme/refunds', '--sandbox', '--env', ENV, ...more);
    const clean = await verify('--sample', String(N), '--json');
    expect(clean.status, show(clean)).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, checked: N, total: N, drift: [], compared: ['hash'] });

    // Behind rsync's back: one credit memo's total edited in the ERP, another deleted.
    const ids = (
      await pool.query<{ key: string; target_id: string }>(
        `SELECT key, target_id FROM rsync_sandbox.writes WHERE key IN ('refund-7010', 'refund-7020') ORDER BY key`,
      )
    ).rows;
    await pool.query(
      `UPDATE rsync_sandbox.writes SET record = jsonb_set(record, '{total}', '"1.00"') WHERE key = 'refund-7010'`,
    );
    await pool.query(`DELETE FROM rsync_sandbox.writes WHERE key = 'refund-7020'`);

    const drifted = await verify('--sample', '1000', '--json');
    expect(drifted.status, show(drifted)).toBe(1);
    const out = JSON.parse(drifted.stdout);
    expect(out.ok).toBe(false);
    expect(out.checked).toBe(N);
    const byKey = Object.fromEntries(out.drift.map((d: { entry: { key: string } }) => [d.entry.key, d]));
    expect(Object.keys(byKey).sort()).toEqual(['refund-7010', 'refund-7020']);
    expect(byKey['refund-7010']).toMatchObject({
      object: `creditMemo ${ids[0].target_id}`,
      type: 'record',
      problem: 'changed',
      addresses: ['acme/flow/refunds'],
    });
    expect(byKey['refund-7020']).toMatchObject({ problem: 'missing', object: `creditMemo ${ids[1].target_id}` });
    expect(byKey['refund-7020'].detail).toMatch(/no longer has creditMemo .* deleted or merged in the target/);

    const text = await verify('--sample', '1000', '--detailed-exitcode');
    expect(text.status).toBe(2);
    expect(text.stdout).toMatch(/DRIFT.*2 of 60/);
    expect(text.stdout).toMatch(/changed creditMemo .*key refund-7010/);
    expect(text.stdout).toMatch(/missing creditMemo .*key refund-7020/);
  });
});
