/**
 * A plan's blast radius (issue 19): which customers, flows and target systems its changes touch, grouped by the
 * template version that produced each flow and by the connector type of the flow's target. Pure: the plan's changes
 * and the resources of both sides (a flow's target connection is looked up in what Git says, else in what is deployed).
 */
import type { DeployedRow } from '../state/deployments.js';
import { isObject } from '../util/merge.js';
import type { Change, DeployableResource } from './types.js';

/** One group of the radius: how many customers, flows and target systems it touches. */
export interface RadiusGroup {
  customers: number;
  flows: number;
  targets: number;
}

export interface BlastRadius {
  /** Every customer with a change, by name (partner-wide changes are not a customer's). */
  customers: string[];
  /** Flows created, updated or deleted. */
  flows: number;
  /** The target systems of those flows, as `<customer>/<connection>`. */
  targets: string[];
  /** By the flow's template as `name@version` ("(no template)": a customer's own flows). */
  byTemplate: Record<string, RadiusGroup>;
  /** By the connector type of the flow's target connection (netsuite, postgres…). */
  byConnectionType: Record<string, RadiusGroup>;
}

export const NO_TEMPLATE = '(no template)';

type Spec = Record<string, unknown>;
const inner = (spec: Spec | undefined): Spec => (spec && isObject(spec.spec) ? spec.spec : {});

export function blastRadius(
  changes: readonly Change[],
  desired: readonly DeployableResource[],
  deployed: readonly DeployedRow[],
): BlastRadius {
  const specs = new Map<string, Spec>();
  for (const d of deployed) specs.set(d.address, d.spec);
  for (const r of desired) specs.set(r.address, r.spec);
  const customers = new Set<string>();
  const targets = new Set<string>();
  const groups = { byTemplate: new Map<string, Sets>(), byConnectionType: new Map<string, Sets>() };
  let flows = 0;
  for (const c of changes) {
    if (c.customer) customers.add(c.customer);
    if (c.kind !== 'flow' || !c.customer) continue;
    flows++;
    const spec = c.after?.spec ?? specs.get(c.address);
    const target = inner(spec).target;
    const connection = isObject(target) && typeof target.connection === 'string' ? target.connection : undefined;
    const system = connection ? `${c.customer}/${connection}` : undefined;
    const type = connection ? inner(specs.get(`${c.customer}/connection/${connection}`)).connector : undefined;
    if (system) targets.add(system);
    add(groups.byTemplate, c.template ?? NO_TEMPLATE, c.customer, system);
    add(groups.byConnectionType, typeof type === 'string' ? type : 'unknown', c.customer, system);
  }
  return {
    customers: [...customers].sort(),
    flows,
    targets: [...targets].sort(),
    byTemplate: counted(groups.byTemplate),
    byConnectionType: counted(groups.byConnectionType),
  };
}

interface Sets {
  customers: Set<string>;
  flows: number;
  targets: Set<string>;
}

function add(m: Map<string, Sets>, key: string, customer: string, system: string | undefined): void {
  let g = m.get(key);
  if (!g) m.set(key, (g = { customers: new Set(), flows: 0, targets: new Set() }));
  g.customers.add(customer);
  g.flows++;
  if (system) g.targets.add(system);
}

function counted(m: Map<string, Sets>): Record<string, RadiusGroup> {
  const out: Record<string, RadiusGroup> = {};
  for (const [k, g] of [...m].sort((a, b) => b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1)))
    out[k] = { customers: g.customers.size, flows: g.flows, targets: g.targets.size };
  return out;
}

const n = (x: number, one: string, many = `${one}s`) => `${x.toLocaleString('en-US')} ${x === 1 ? one : many}`;

/** One group as a line: `template shopify-netsuite@2 → 3 customers (12 flows), 3 target systems`. */
export function groupLine(what: string, name: string, g: RadiusGroup): string {
  return `${what} ${name} → ${n(g.customers, 'customer')} (${n(g.flows, 'flow')}), ${n(g.targets, 'target system')}`;
}

/** The radius as lines: the totals, then one line per template version and per target connector type. */
export function radiusLines(r: BlastRadius): string[] {
  if (!r.customers.length && !r.flows) return [];
  const out = [
    `Blast radius: ${n(r.customers.length, 'customer')}, ${n(r.flows, 'flow')}, ${n(r.targets.length, 'target system')}`,
  ];
  for (const [k, g] of Object.entries(r.byTemplate)) if (k !== NO_TEMPLATE) out.push(groupLine('template', k, g));
  const own = r.byTemplate[NO_TEMPLATE];
  if (own) out.push(groupLine('', 'no template', own).trimStart());
  for (const [k, g] of Object.entries(r.byConnectionType)) out.push(groupLine('target type', k, g));
  return out;
}
