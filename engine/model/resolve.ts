/**
 * Name resolution shared by the validator, the mapping tests and the planner: which Policy, SLA, Connection or
 * mapping file a flow means, following the defaults chain flow → customer → workspace.
 */
import path from 'node:path';
import { DEFAULTS } from './generated/defaults.js';
import type { FlowTrigger, Schedule, WorkspaceDefaults } from './generated/index.js';
import { fields, named, text } from './guards.js';
import type { CustomerModel, Resource, Unchecked, Workspace } from './workspace.js';

export function customerOf(ws: Workspace, r: Resource): CustomerModel | undefined {
  return r.customer ? ws.customers.get(r.customer) : undefined;
}

/** rsync.yaml's `defaults:` (time zone, policy, SLA for every customer and flow that names none). */
export function workspaceDefaults(ws: Workspace): Unchecked<WorkspaceDefaults> {
  return fields<WorkspaceDefaults>(ws.settings?.spec.defaults);
}

/** The policy name a flow runs under, and where that name came from. */
export function policyNameOf(
  ws: Workspace,
  flow: Resource<'Flow'>,
): { name?: string; from: 'flow' | 'customer' | 'workspace' | 'none' } {
  const own = named(flow.spec.policy);
  if (own) return { name: own, from: 'flow' };
  const viaCustomer = named(customerOf(ws, flow)?.resource?.spec.policy);
  if (viaCustomer) return { name: viaCustomer, from: 'customer' };
  const viaWs = named(workspaceDefaults(ws).policy);
  return viaWs ? { name: viaWs, from: 'workspace' } : { from: 'none' };
}

export function slaNameOf(
  ws: Workspace,
  flow: Resource<'Flow'>,
): { name?: string; from: 'flow' | 'customer' | 'workspace' | 'none' } {
  const own = named(flow.spec.sla);
  if (own) return { name: own, from: 'flow' };
  const viaCustomer = named(customerOf(ws, flow)?.resource?.spec.sla);
  if (viaCustomer) return { name: viaCustomer, from: 'customer' };
  const viaWs = named(workspaceDefaults(ws).sla);
  return viaWs ? { name: viaWs, from: 'workspace' } : { from: 'none' };
}

/** A customer's own Policy, else the partner-wide one of that name. */
export function lookupPolicy(
  ws: Workspace,
  customer: string | undefined,
  name: string,
): Resource<'Policy'> | undefined {
  return (customer ? ws.customers.get(customer)?.policies.get(name) : undefined) ?? ws.policies.get(name);
}

export function lookupSla(ws: Workspace, customer: string | undefined, name: string): Resource<'SLA'> | undefined {
  return (customer ? ws.customers.get(customer)?.slas.get(name) : undefined) ?? ws.slas.get(name);
}

/** The schedule of a flow's trigger, if it has one. */
export function scheduleOf(flow: Resource<'Flow'>): Unchecked<Schedule> | undefined {
  const trigger = fields<FlowTrigger>(flow.spec.trigger);
  return trigger.schedule === undefined ? undefined : fields<Schedule>(trigger.schedule);
}

/** The time zone a flow's schedule runs in: its own, else the customer's, else the workspace's (schema default). */
export function timezoneOf(ws: Workspace, flow: Resource<'Flow'>): string {
  return (
    named(scheduleOf(flow)?.timezone) ??
    named(customerOf(ws, flow)?.resource?.spec.timezone) ??
    named(workspaceDefaults(ws).timezone) ??
    DEFAULTS.WorkspaceDefaults.timezone
  );
}

/** A path written in a file of folder `dir`, as a workspace-relative path; undefined when it leaves the workspace. */
export function resolveRelative(dir: string, rel: string): string | undefined {
  const joined = path.posix.normalize(path.posix.join(dir, rel));
  if (joined.startsWith('../') || joined === '..' || path.posix.isAbsolute(rel)) return undefined;
  return joined;
}

/** The workspace-relative mapping file a test is about, when its `mapping:` is a path inside the workspace. */
export function mappingFileOf(t: Resource<'MappingTest'>): string | undefined {
  const mapping = text(t.spec.mapping);
  return mapping === undefined ? undefined : resolveRelative(t.dir, mapping);
}

/** The system a connection is: its own name and its connector type (ownership and PII rules may name either). */
export function systemNames(ws: Workspace, customer: string | undefined, connection: string): string[] {
  const conn = customer ? ws.customers.get(customer)?.connections.get(connection) : undefined;
  const type = text(conn?.spec.connector);
  return type && type !== connection ? [connection, type] : [connection];
}
