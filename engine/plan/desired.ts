/**
 * Desired state: the deployable resources of a validated workspace, each with a content hash. A flow carries
 * what decides how it runs — its resolved spec, its mapping (by content hash), its effective policy, SLA, time
 * zone and schedule — so a change to any of them is an update of that flow.
 */
import { locate } from '../load/locate.js';
import { lookupPolicy, lookupSla, policyNameOf, resolveRelative, slaNameOf, timezoneOf } from '../model/resolve.js';
import { addressOf, type Resource, type Workspace } from '../model/workspace.js';
import { hashOf, sha256 } from '../util/hash.js';
import { isObject } from '../util/merge.js';
import type { DeployableResource } from './types.js';

export interface DesiredState {
  resources: DeployableResource[];
  /** Mapping texts by sha256. */
  blobs: Map<string, string>;
}

function source(r: Resource): string {
  const at = locate(r, ['metadata', 'name']);
  return `${at.file}:${at.start.line}`;
}

function base(r: Resource): Record<string, unknown> {
  const labels = r.metadata.labels;
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: { name: r.name, ...(isObject(labels) && Object.keys(labels).length ? { labels } : {}) },
    spec: r.spec,
  };
}

function deployable(r: Resource, value: Record<string, unknown>): DeployableResource {
  return {
    address: addressOf(r),
    customer: r.customer ?? null,
    kind: r.kind.toLowerCase(),
    name: r.name,
    spec: value,
    hash: hashOf(value),
    template: r.template ? `${r.template.template}@${r.template.version}` : null,
    source: source(r),
  };
}

/** Deployable resources of the customers asked for (all when `customers` is undefined). */
export function desiredState(ws: Workspace, customers?: Set<string>): DesiredState {
  const resources: DeployableResource[] = [];
  const blobs = new Map<string, string>();
  const wanted = (c: string) => !customers || customers.has(c);
  for (const p of ws.policies.values()) resources.push(deployable(p, base(p)));
  for (const s of ws.slas.values()) resources.push(deployable(s, base(s)));
  for (const c of ws.customers.values()) {
    if (!wanted(c.name)) continue;
    if (c.resource) resources.push(deployable(c.resource, base(c.resource)));
    for (const r of c.connections.values()) resources.push(deployable(r, base(r)));
    for (const r of c.policies.values()) resources.push(deployable(r, base(r)));
    for (const r of c.slas.values()) resources.push(deployable(r, base(r)));
    for (const f of c.flows.values()) {
      const value = base(f);
      const file = typeof f.spec.mapping === 'string' ? resolveRelative(f.dir, f.spec.mapping) : undefined;
      const text = file ? ws.files.get(file) : undefined;
      if (file && text !== undefined) {
        const h = sha256(text);
        blobs.set(h, text);
        value.mapping = { file, sha256: h };
      }
      const policyName = policyNameOf(ws, f).name;
      const policy = policyName ? lookupPolicy(ws, c.name, policyName) : undefined;
      const slaName = slaNameOf(ws, f).name;
      const sla = slaName ? lookupSla(ws, c.name, slaName) : undefined;
      const trigger = isObject(f.spec.trigger) ? f.spec.trigger : {};
      const timezone = timezoneOf(ws, f);
      value.effective = {
        policy: policy ? addressOf(policy) : null,
        sla: sla ? addressOf(sla) : null,
        timezone,
        trigger: typeof trigger.event === 'string' ? 'event' : isObject(trigger.schedule) ? 'schedule' : 'manual',
        ...(isObject(trigger.schedule) && typeof trigger.schedule.cron === 'string'
          ? { schedule: { cron: trigger.schedule.cron, timezone } }
          : {}),
      };
      if (f.template) value.template = { name: f.template.template, version: f.template.version, with: f.template.params };
      resources.push(deployable(f, value));
    }
  }
  resources.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { resources, blobs };
}
