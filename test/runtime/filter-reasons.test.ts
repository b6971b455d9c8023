/**
 * Filter reasons: a mapping that says why it filters a record (`{ "$filter": "<reason>" }`) has its filtered records
 * counted per reason in the run (rsync.runs.filtered_by), shown by `rsync run --wait`, `rsync runs` (text and
 * JSON); a record filtered with no reason is counted as "(no reason given)"; a malformed marker dead-letters the
 * record. Real PostgreSQL, the built CLI, a worker process.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterOf } from '../../engine/mapping/filter.js';
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
  withWorker,
} from '../helpers/runtime.js';

/** Stock moves: location 9 is the returns cage (a rule, with its reason), qty "x" a bad marker, no sku no reason. */
const MAPPING = `(
  location = 9 ? { "$filter": "returns cage" } :
  location = 8 ? { "$filter": "location " & $string(location) & " closed" } :
  qty = 'x' ? { "$filter": "" } :
  sku ? {
    "sku": sku,
    "locationId": $string(location),
    "available": $number(qty),
    "updatedAt": updated_at
  }
)`;

describe('filter reasons', () => {
  it('filterOf: nothing, the marker with its reason, and malformed markers', () => {
    expect(filterOf(undefined)).toEqual({ filtered: true });
    expect(filterOf(null)).toEqual({ filtered: true });
    expect(filterOf({ $filter: '  test   order ' })).toEqual({ filtered: true, reason: 'test order' });
    expect(filterOf({ sku: 'A' })).toEqual({ filtered: false });
    expect(filterOf({ $filter: 'x'.repeat(200) })).toMatchObject({ filtered: true });
    expect((filterOf({ $filter: 'x'.repeat(200) }) as { reason: string }).reason).toHaveLength(120);
    expect(filterOf({ $filter: '' })).toMatchObject({
      filtered: false,
      malformed: expect.stringContaining('non-empty'),
    });
    expect(filterOf({ $filter: 'a', sku: 'A' })).toMatchObject({ malformed: expect.stringContaining('sku') });
  });
});

describe('filter reasons at run time', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/worker.ts', 'cli/commands/runs.ts', 'cli/commands/run.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_filter_reasons');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test filter-reasons' });
    dir = runtimeWorkspace('rsync-filter-reasons-', {
      connections: SANDBOX_SYSTEMS,
      flows: [stockFlow({ mapping: MAPPING, batchSize: 3 })],
    });
    await applyWorkspace(dir, db.url);
    const at = '2026-11-02T10:00:00Z';
    const rec = (id: number, location: number, more: Record<string, unknown> = {}) => ({
      id,
      sku: `SKU-${id}`,
      location,
      qty: '5',
      updated_at: at,
      ...more,
    });
    await seed(pool, 'acme/erp', 'inventory', [
      rec(1, 1),
      rec(2, 9),
      rec(3, 9),
      rec(4, 8),
      rec(5, 9),
      rec(6, 1, { sku: null }),
      rec(7, 2, { qty: 'x' }),
      rec(8, 2),
    ]);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('counts and shows each reason', async () => {
    let run = { status: null as number | null, stdout: '' };
    const output = await withWorker(dir, db.url, pool, async (w) => {
      run = await cli(dir, db.url, 'run', 'acme/stock', '--env', ENV, '--wait');
      expect(run.status, show(run as never) + w.output).toBe(0);
    });
    // Pages of 3: the reasons of every page are summed into the run.
    expect(run.stdout).toContain(
      'read 8, written 2, unchanged 0, filtered 5 (3 × returns cage, 1 × (no reason given), 1 × location 8 closed), dead-lettered 1',
    );
    expect(output).toContain('filtered 5 (3 × returns cage, 1 × (no reason given), 1 × location 8 closed)');

    const json = await cli(dir, db.url, 'runs', '--env', ENV, '--json');
    expect(json.status, show(json)).toBe(0);
    const [r] = JSON.parse(json.stdout).runs;
    expect(r).toMatchObject({ read: 8, written: 2, filtered: 5, dead: 1 });
    expect(r.filteredBy).toEqual({ 'returns cage': 3, 'location 8 closed': 1 });

    const text = await cli(dir, db.url, 'runs', '--env', ENV);
    expect(text.status, show(text)).toBe(0);
    expect(text.stdout).toContain("Filtered, by the mapping's reason:");
    const rows = text.stdout
      .split('\n')
      .filter((l) => l.includes('acme/stock') && /returns cage|closed|no reason/.test(l))
      .map((l) => l.trim().split(/\s{2,}/));
    expect(rows).toEqual([
      [String(r.id), 'acme/stock', '3', 'returns cage'],
      [String(r.id), 'acme/stock', '1', '(no reason given)'],
      [String(r.id), 'acme/stock', '1', 'location 8 closed'],
    ]);

    const dead = (await pool.query(`SELECT key, stage, error FROM rsync.dead_letters`)).rows;
    expect(dead).toEqual([
      {
        key: 'stock-7',
        stage: 'check',
        error: `the mapping's output is not a filter: the filter marker's "$filter" must be a non-empty string (the reason), not ""`,
      },
    ]);
  });
});
