/**
 * Name resolution shared by the validator, the mapping tests and the planner: which Policy, SLA, Connection or
 * mapping file a flow means, following the defaults chain flow → customer → workspace.
 */
import path from 'node:path';
import type { CustomerModel, Resource, Workspace } from './workspace.js';
import { isObject } from '../util/merge.js';

export function customerOf(ws: Workspace, r: Resource): CustomerModel | undefined {
  return r.customer ? ws.customers.get(r.customer) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function defaults(ws: Workspace): Record<string, unknown> {
  const d = ws.settings?.spec.defaults;
  return isObject(d) ? d : {};
}

/** The policy name a flow runs under, and where that name came from. */
export function policyNameOf(
  ws: Workspace,
  flow: Resource,
): { name?: string; from: 'flow' | 'customer' | 'workspace' | 'none' } {
  const own = str(flow.spec.policy);
  if (own) return { name: own, from: 'flow' };
  const c = customerOf(ws, flow)?.resource;
  const viaCustomer = c ? str(c.spec.policy) : undefined;
  if (viaCustomer) return { name: viaCustomer, from: 'customer' };
  const viaWs = str(defaults(ws).policy);
  return viaWs ? { name: viaWs, from: 'workspace' } : { from: 'none' };
}

export function slaNameOf(
  ws: Workspace,
  flow: Resource,
): { name?: string; from: 'flow' | 'customer' | 'workspace' | 'none' } {
  const own = str(flow.spec.sla);
  if (own) return { name: own, from: 'flow' };
  const c = customerOf(ws, flow)?.resource;
  const viaCustomer = c ? str(c.spec.sla) : undefined;
  if (viaCustomer) return { name: viaCustomer, from: 'customer' };
  const viaWs = str(defaults(ws).sla);
  return viaWs ? { name: viaWs, from: 'workspace' } : { from: 'none' };
}

/** A customer's own Policy, else the partner-wide one of that name. */
export function lookupPolicy(ws: Workspace, customer: string | undefined, name: string): Resource | undefined {
  return (customer ? ws.customers.get(customer)?.policies.get(name) : undefined) ?? ws.policies.get(name);
}

export function lookupSla(ws: Workspace, customer: string | undefined, name: string): Resource | undefined {
  return (customer ? ws.customers.get(customer)?.slas.get(name) : undefined) ?? ws.slas.get(name);
}

/** The time zone a flow's schedule runs in: its own, else the customer's, else the workspace default, else UTC. */
export function timezoneOf(ws: Workspace, flow: Resource): string {
  const trig = isObject(flow.spec.trigger) ? flow.spec.trigger : {};
  const sched = isObject(trig.schedule) ? trig.schedule : {};
  return (
    str(sched.timezone) ?? str(customerOf(ws, flow)?.resource?.spec.timezone) ?? str(defaults(ws).timezone) ?? 'UTC'
  );
}

/** A path written in a file of folder `dir`, as a workspace-relative path; undefined when it leaves the workspace. */
export function resolveRelative(dir: string, rel: string): string | undefined {
  const joined = path.posix.normalize(path.posix.join(dir, rel));
  if (joined.startsWith('../') || joined === '..' || path.posix.isAbsolute(rel)) return undefined;
  return joined;
}

/** The system a connection is: its own name and its connector type (ownership and PII rules may name either). */
export function systemNames(ws: Workspace, customer: string | undefined, connection: string): string[] {
  const conn = customer ? ws.customers.get(customer)?.connections.get(connection) : undefined;
  const type = conn && typeof conn.spec.connector === 'string' ? conn.spec.connector : undefined;
  return type && type !== connection ? [connection, type] : [connection];
}
