/**
 * The plan's target drift (plan/target-drift.ts): the schema guard's findings in the plan's scope, each said to be
 * fixed by the plan when the plan's new mapping of the flow stops writing what was dropped and writes what is now
 * required — and never for an ERP connector's own fields, which no mapping change reaches.
 */
import { describe, expect, it } from 'vitest';
import { targetDrift, targetDriftText } from '../../engine/plan/target-drift.js';
import type { Change, Plan } from '../../engine/plan/types.js';
import type { SchemaChange, SchemaGuardRow } from '../../engine/state/schema-guards.js';

const row = (address: string, changes: SchemaChange[], byMapping = true): SchemaGuardRow => ({
  env: 'staging',
  address,
  target: 'acme/warehouse order',
  revision: 1,
  writes: ['currency', 'total'],
  seen: { key: 'text', currency: 'text', total: 'text' },
  finding: {
    diagnostic: { severity: 'error', code: 'target-schema-changed', summary: 's', detail: 'd' },
    changes,
    byMapping,
    run: 7,
    at: '2026-12-03T15:00:00.000Z',
  },
  checkedAt: '2026-12-03T15:00:00.000Z',
});

const update = (address: string, sha: string) =>
  ({ address, action: 'update', after: { spec: { mapping: { sha256: sha } } } }) as unknown as Change;

const plan = (changes: Change[], blobs: Record<string, string>, customers: string[] | null = null) =>
  ({ customers, changes, blobs }) as Pick<Plan, 'customers' | 'selection' | 'changes' | 'blobs'>;

const DROPPED: SchemaChange[] = [{ field: 'total', change: 'dropped', before: 'text' }];

describe('target drift in a plan', () => {
  it('lists the findings in scope, with the field and what changed', () => {
    const rows = [row('acme/flow/orders', DROPPED), row('globex/flow/orders', DROPPED)];
    const found = targetDrift(rows, plan([], {}, ['acme']));
    expect(found.map((d) => d.address)).toEqual(['acme/flow/orders']);
    expect(targetDriftText(found[0])).toBe(
      'acme/flow/orders: target schema changed — acme/warehouse order: total dropped (was text) (found by run 7; the flow is paused)',
    );
  });

  it('is fixed by a plan whose new mapping no longer writes the dropped field and writes the required one', () => {
    const changes: SchemaChange[] = [...DROPPED, { field: 'region', change: 'required', after: 'text' }];
    const fits = '{ "currency": currency, "region": "eu" }';
    const still = '{ "currency": currency, "total": total_price, "region": "eu" }';
    const [fixed] = targetDrift(
      [row('acme/flow/orders', changes)],
      plan([update('acme/flow/orders', 'a')], { a: fits }),
    );
    expect(fixed.fixedByPlan).toBe(true);
    expect(targetDriftText(fixed)).toMatch(/this plan changes the mapping to fit: apply it, then rsync resume\)$/);
    const [notYet] = targetDrift(
      [row('acme/flow/orders', changes)],
      plan([update('acme/flow/orders', 'b')], { b: still }),
    );
    expect(notYet.fixedByPlan).toBeUndefined();
    // An ERP connector's own fields: no change of the mapping reaches them.
    const [erp] = targetDrift(
      [row('acme/flow/orders', [{ field: 'custbody_channel', change: 'required', after: 'string' }], false)],
      plan([update('acme/flow/orders', 'c')], { c: '{ "custbody_channel": "web" }' }),
    );
    expect(erp.fixedByPlan).toBeUndefined();
  });
});
