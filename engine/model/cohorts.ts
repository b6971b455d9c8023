/**
 * Which customers each cohort of a Rollout takes: a cohort's `customers` list, or the customers whose labels hold
 * all of its `selector` (as `rsync plan --selector` selects), or, with neither, every customer left. A customer
 * belongs to the first cohort that takes it. Pure: the validator and `rsync rollout start` both ask it.
 */
import type { RolloutSpec } from './generated/index.js';
import type { Workspace } from './workspace.js';

/** Each customer's labels (metadata.labels of its customer.yaml), in the workspace's order. */
export function customerLabels(ws: Workspace): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const c of ws.customers.values()) {
    const labels = c.resource?.metadata.labels;
    out.set(c.name, labels && typeof labels === 'object' ? labels : {});
  }
  return out;
}

export function assignCohorts(
  spec: Partial<RolloutSpec>,
  customers: ReadonlyMap<string, Record<string, string>>,
): { name: string; customers: string[] }[] {
  const left = new Set(customers.keys());
  const out: { name: string; customers: string[] }[] = [];
  for (const c of Array.isArray(spec.cohorts) ? spec.cohorts : []) {
    const takes = (name: string): boolean => {
      if (Array.isArray(c.customers)) return c.customers.includes(name);
      if (c.selector && typeof c.selector === 'object') {
        const labels = customers.get(name) ?? {};
        return Object.entries(c.selector).every(([k, v]) => k in labels && String(labels[k]) === String(v));
      }
      return true;
    };
    const taken = [...left].filter(takes).sort();
    for (const t of taken) left.delete(t);
    out.push({ name: String(c?.name), customers: taken });
  }
  return out;
}
