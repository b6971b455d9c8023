/**
 * The samples a run stores for `rsync plan --impact` (state/samples.ts, runtime/samples.ts): a real run of a sandbox
 * flow by a worker process writes up to 100 records of each page, PII masked by the policy, the last 200 of the flow
 * kept in place; the impact plan of a mapping change then runs over them. Real PostgreSQL, the built CLI.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spread } from '../../engine/runtime/samples.js';
import { readSamples, SAMPLE_CAP } from '../../engine/state/samples.js';
import type { Plan } from '../../engine/plan/types.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  cli,
  ENV,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  seed,
  stockFlow,
  stockRecords,
  withWorker,
  writeWorkspace,
} from '../helpers/runtime.js';

describe('spread', () => {
  it('takes every record of a small page, and of a large one 100 spread over it, the first and last included', () => {
    expect(spread(3)).toEqual([0, 1, 2]);
    const s = spread(500);
    expect(s).toHaveLength(100);
    expect(s[0]).toBe(0);
    expect(s[99]).toBe(499);
    expect(new Set(s).size).toBe(100);
    expect(s.every((x, i) => i === 0 || x > s[i - 1])).toBe(true);
  });
});

describe('samples stored by a run, read by plan --impact', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  const records = stockRecords(1200).map((r) => ({ ...r, email: `buyer${r.id}@example.com` }));

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/worker.ts', 'cli/commands/run.ts', 'cli/commands/plan.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_samples');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test samples' });
    dir = runtimeWorkspace('rsync-samples-', {
      connections: SANDBOX_SYSTEMS,
      flows: [stockFlow()],
      pii: ['customer.email'],
    });
    await applyWorkspace(dir, db.url);
    await seed(pool, 'acme/erp', 'inventory', records);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('before any run, the impact plan says there is no sample', async () => {
    writeWorkspace(dir, {
      connections: SANDBOX_SYSTEMS,
      flows: [stockFlow({ mapping: STOCK_V2 })],
      pii: ['customer.email'],
    });
    const r = await cli(dir, db.url, 'plan', '--env', ENV, '--impact');
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain(
      '? acme/flow/stock (mapping changed): no sample: run the flow once (rsync run acme/flow/stock)',
    );
    expect(r.stdout).not.toContain('write every sampled record as today');
    writeWorkspace(dir, { connections: SANDBOX_SYSTEMS, flows: [stockFlow()], pii: ['customer.email'] });
  });

  it('a run of three pages keeps the last 200 of its 300 samples, masked, and plan --impact runs over them', async () => {
    await withWorker(dir, db.url, pool, async (w) => {
      const run = await cli(dir, db.url, 'run', 'acme/stock', '--env', ENV, '--wait');
      expect(run.status, show(run) + w.output).toBe(0);
    });
    const rows = (
      await pool.query<{ n: string; max: string; min: string }>(
        `SELECT count(*) AS n, max(seq) AS max, min(seq) AS min FROM rsync.record_samples WHERE env = $1 AND address = 'acme/flow/stock'`,
        [ENV],
      )
    ).rows[0];
    // Pages of 500, 500 and 200 records: 100 samples each, seq 0..299; the first 100 were replaced in place.
    expect({ n: Number(rows.n), min: Number(rows.min), max: Number(rows.max) }).toEqual({
      n: SAMPLE_CAP,
      min: 100,
      max: 299,
    });
    const stored = (await readSamples(pool, ENV, ['acme/flow/stock'])).get('acme/flow/stock')!;
    expect(stored.records).toHaveLength(SAMPLE_CAP);
    // Which records a page samples depends on the order the sandbox pages them (same-time records by key), and
    // pages commit in their own transactions: the test asserts what holds whatever the order — 200 distinct records
    // of the seeded ones, each with its own sku, every e-mail masked.
    const kept = stored.records as Record<string, unknown>[];
    expect(new Set(kept.map((r) => r.id)).size).toBe(SAMPLE_CAP);
    const seeded = new Map((records as Record<string, unknown>[]).map((r) => [r.id, r]));
    expect(kept.every((r) => seeded.get(r.id as number)?.sku === r.sku)).toBe(true);
    expect(kept.every((r) => r.email === '***')).toBe(true);
    expect(JSON.stringify(stored.records)).not.toContain('@example.com');

    // The mapping changes the quantity of every record at an odd location.
    writeWorkspace(dir, {
      connections: SANDBOX_SYSTEMS,
      flows: [stockFlow({ mapping: STOCK_V2 })],
      pii: ['customer.email'],
    });
    const r = await cli(dir, db.url, 'plan', '--env', ENV, '--impact', '--sample', '150', '--json');
    expect(r.status, show(r)).toBe(0);
    const impact = (JSON.parse(r.stdout) as Plan).impact!;
    const [f] = impact.flows;
    const sampled = stored.records.slice(0, 150) as { location: number; qty: string }[];
    const odd = sampled.filter((x) => x.location % 2 === 1 && Number(x.qty) !== 0).length;
    expect(f).toMatchObject({ address: 'acme/flow/stock', sampled: true, changed: ['mapping'] });
    expect(f.counts).toMatchObject({ sampled: 150, different: odd, unchanged: 150 - odd, newlyDead: 0 });
    expect(impact.sample).toBe(150);
  });
});

/** The stock mapping with the quantity doubled at odd locations. */
const STOCK_V2 = `{
  "sku": sku,
  "locationId": $string(location),
  "available": location % 2 = 1 ? $number(qty) * 2 : $number(qty),
  "updatedAt": updated_at
}`;
