/**
 * A customer's limits (its share of the engine: runs in flight, records per day), each setting from its
 * customer.yaml's `spec.limits`, else from rsync.yaml's `spec.defaults.limits`, else none. The planner writes them
 * into each of the customer's flows (`effective.limits`), so the worker, which has no workspace, enforces what was
 * applied, and a change of a limit is an update of the customer's flows in the plan.
 */
import type { CustomerLimits } from './generated/index.js';
import { isObject } from '../util/merge.js';
import { workspaceDefaults } from './resolve.js';
import type { Workspace } from './workspace.js';

const KEYS = ['concurrency', 'recordsPerDay'] as const satisfies readonly (keyof CustomerLimits)[];

/** The effective limits of a customer; undefined when none is set (the deployed value then has no `limits`). */
export function customerLimitsOf(ws: Workspace, customer: string): CustomerLimits | undefined {
  const own = ws.customers.get(customer)?.resource?.spec.limits;
  const partner = workspaceDefaults(ws).limits;
  const out: CustomerLimits = {};
  for (const k of KEYS) {
    const v = isObject(own) && typeof own[k] === 'number' ? own[k] : isObject(partner) ? partner[k] : undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}
