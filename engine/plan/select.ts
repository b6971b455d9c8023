/**
 * Partial plans (`--target`, `--exclude`, `--selector`): which of a plan's changes a partner asked for. Pure, like
 * the planner: it reads the paired resources, never the database.
 *
 * - `--target <address>` (repeatable) takes that resource and what it depends on: a flow's source and target
 *   connections, its policy and SLA (the addresses its effective value names). Its mapping is part of the flow's own
 *   value (by content hash), so it comes with it.
 * - `--selector key=value` (repeatable, all must hold) takes every resource of the customers whose customer.yaml
 *   carries those labels, and what their flows depend on (a partner-wide policy or SLA).
 * - Both given: the resources both take. `--exclude <address>` (repeatable) then leaves an address out, even a
 *   dependency.
 *
 * What is left out is counted and listed (the plan's `selection.leftOut`), so a partial plan never hides a change.
 */
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { suggest } from '../load/loader.js';
import { isObject } from '../util/merge.js';
import type { Action, Change } from './types.js';

/** What the partner asked for (the flags as given). */
export interface SelectionRequest {
  targets?: string[];
  excludes?: string[];
  /** `key=value` each. */
  selectors?: string[];
}

/** A plan's selection, as saved in the plan: apply touches only `included`'s live objects. */
export interface PlanSelection {
  targets: string[];
  excludes: string[];
  selector: Record<string, string>;
  /** Every address the selection takes (with dependencies, without the excluded), changed or not. */
  included: string[];
  /** The changes the plan would have without the selection and leaves out. */
  leftOut: { count: number; create: number; update: number; delete: number; addresses: string[] };
}

/** What selection needs of a resource: its address, customer, kind and resolved value. */
export interface Selectable {
  address: string;
  customer: string | null;
  kind: string;
  spec: Record<string, unknown>;
}

export const hasSelection = (r: SelectionRequest | undefined): boolean =>
  Boolean(r?.targets?.length || r?.excludes?.length || r?.selectors?.length);

/** `key=value` flags as one map, or a usage error naming the bad one. */
export function parseSelectors(selectors: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of selectors) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=(.*)$/.exec(s);
    if (!m)
      throw new RsyncError(
        `--selector "${s}" is not key=value.`,
        ExitCode.USAGE,
        "Select customers by a label of their customer.yaml's metadata.labels, e.g. --selector tier=gold.",
      );
    out[m[1]] = m[2];
  }
  return out;
}

/** An address as the partner may write it: `<customer>/<kind>/<name>`, with or without the environment in front. */
function normalise(env: string, given: string, known: ReadonlySet<string>, flag: string): string {
  const parts = given.split('/');
  const address = parts.length === 4 && parts[0] === env ? parts.slice(1).join('/') : given;
  if (known.has(address)) return address;
  const near = suggest(address, known);
  throw new RsyncError(
    `${flag} ${given}: no resource of ${env} has that address.`,
    ExitCode.USAGE,
    `Give an address as the plan shows it, <customer>/<kind>/<name> (e.g. northwind/flow/orders-to-erp).${near}`,
  );
}

/** The addresses a resource depends on: a flow's connections, policy and SLA; a reconciliation's connections. */
export function dependenciesOf(r: Selectable): string[] {
  if ((r.kind !== 'flow' && r.kind !== 'reconciliation') || !r.customer) return [];
  const spec = isObject(r.spec.spec) ? r.spec.spec : {};
  const out: string[] = [];
  for (const end of r.kind === 'flow' ? ['source', 'target'] : ['left', 'right']) {
    const side = spec[end];
    if (isObject(side) && typeof side.connection === 'string') out.push(`${r.customer}/connection/${side.connection}`);
  }
  const effective = isObject(r.spec.effective) ? r.spec.effective : {};
  for (const k of ['policy', 'sla']) if (typeof effective[k] === 'string') out.push(effective[k] as string);
  return out;
}

function labelsOf(r: Selectable | undefined): Record<string, unknown> {
  const metadata = r && isObject(r.spec.metadata) ? r.spec.metadata : {};
  return isObject(metadata.labels) ? metadata.labels : {};
}

/**
 * The selection of `changes`: the changes kept and the plan's record of it. `desired` and `deployed` are every
 * resource on either side (a target may be unchanged, or only deployed: a delete).
 */
export function selectChanges(
  env: string,
  request: SelectionRequest,
  changes: readonly Change[],
  desired: readonly Selectable[],
  deployed: readonly Selectable[],
): { kept: Change[]; selection: PlanSelection } {
  const byAddress = new Map<string, Selectable>();
  for (const r of deployed) byAddress.set(r.address, r);
  for (const r of desired) byAddress.set(r.address, r); // what Git says decides a resource's dependencies
  const known = new Set(byAddress.keys());
  const targets = (request.targets ?? []).map((t) => normalise(env, t, known, '--target'));
  const excludes = (request.excludes ?? []).map((t) => normalise(env, t, known, '--exclude'));
  const selector = parseSelectors(request.selectors ?? []);

  const withDependencies = (start: Iterable<string>): Set<string> => {
    const out = new Set<string>();
    const todo = [...start];
    while (todo.length) {
      const a = todo.pop()!;
      if (out.has(a)) continue;
      out.add(a);
      const r = byAddress.get(a);
      if (r) for (const d of dependenciesOf(r)) if (known.has(d)) todo.push(d);
    }
    return out;
  };

  let included: Set<string> | null = targets.length ? withDependencies(targets) : null;
  if (Object.keys(selector).length) {
    const customers = new Set<string>();
    for (const r of byAddress.values()) {
      if (r.kind !== 'customer' || !r.customer) continue;
      const labels = labelsOf(r);
      if (Object.entries(selector).every(([k, v]) => k in labels && String(labels[k]) === v)) customers.add(r.customer);
    }
    const matched = withDependencies(
      [...byAddress.values()].filter((r) => r.customer && customers.has(r.customer)).map((r) => r.address),
    );
    included = included ? new Set([...included].filter((a) => matched.has(a))) : matched;
  }
  included ??= new Set(known);
  for (const e of excludes) included.delete(e);

  const kept: Change[] = [];
  const leftOut: PlanSelection['leftOut'] = { count: 0, create: 0, update: 0, delete: 0, addresses: [] };
  for (const c of changes) {
    if (included.has(c.address)) kept.push(c);
    else {
      leftOut.count++;
      leftOut[c.action as Action]++;
      leftOut.addresses.push(c.address);
    }
  }
  return { kept, selection: { targets, excludes, selector, included: [...included].sort(), leftOut } };
}
