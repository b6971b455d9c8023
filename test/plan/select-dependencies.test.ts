/**
 * A partial plan (`--target`) takes what a resource depends on with it: a flow's connections, policy and SLA, and a
 * Reconciliation's two connections (without them the worker could not read either side).
 */
import { describe, expect, it } from 'vitest';
import { dependenciesOf } from '../../engine/plan/select.js';

describe('dependenciesOf', () => {
  it("a reconciliation depends on both sides' connections", () => {
    const spec = {
      spec: {
        left: { connection: 'shop', stream: 'orders', key: 'id', time: 'created_at' },
        right: { connection: 'erp', entity: 'salesOrder', key: 'externalId', time: 'createdAt' },
      },
    };
    expect(
      dependenciesOf({ address: 'acme/reconciliation/orders', customer: 'acme', kind: 'reconciliation', spec }),
    ).toEqual(['acme/connection/shop', 'acme/connection/erp']);
  });

  it("a flow's are its connections, policy and SLA", () => {
    const spec = {
      spec: { source: { connection: 'shop' }, target: { connection: 'erp' } },
      effective: { policy: 'policy/standard', sla: 'sla/silver' },
    };
    expect(dependenciesOf({ address: 'acme/flow/orders', customer: 'acme', kind: 'flow', spec })).toEqual([
      'acme/connection/shop',
      'acme/connection/erp',
      'policy/standard',
      'sla/silver',
    ]);
  });
});
