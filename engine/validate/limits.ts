/**
 * Checks of the fair-share settings beyond their schema (customer.yaml's and rsync.yaml's `limits`,
 * model/limits.ts): a flow that asks for more backfill windows at once than its customer may run at all is told
 * that its customer's limit is what holds.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Path } from '../load/yaml.js';
import { customerLimitsOf } from '../model/limits.js';
import type { CustomerModel, Resource, Workspace } from '../model/workspace.js';
import { isObject } from '../util/merge.js';

export interface LimitProblem {
  r: Resource;
  path: Path;
  d: Omit<Diagnostic, 'range' | 'address'>;
}

/** The problems of one customer's limits as its flows meet them. */
export function limitProblems(ws: Workspace, c: CustomerModel): LimitProblem[] {
  const limit = customerLimitsOf(ws, c.name)?.concurrency;
  if (!limit) return [];
  const own = isObject(c.resource?.spec.limits) && typeof c.resource.spec.limits.concurrency === 'number';
  const from = own ? `integrations/${c.name}/customer.yaml` : "rsync.yaml's spec.defaults.limits";
  const out: LimitProblem[] = [];
  for (const f of c.flows.values()) {
    const n = f.spec.concurrency;
    if (typeof n !== 'number' || n <= limit) continue;
    out.push({
      r: f,
      path: ['spec', 'concurrency'],
      d: {
        severity: 'warning',
        code: 'limits-flow-concurrency',
        summary: `Flow "${f.name}" asks for ${n} backfill windows at once, but customer "${c.name}" runs at most ${limit} runs at once`,
        detail: `The customer's concurrency limit (${limit}, from ${from}) holds across all its flows and workers, so at most ${limit} of these windows run at once. Lower concurrency to ${limit}, or raise the customer's limits.concurrency.`,
      },
    });
  }
  return out;
}
