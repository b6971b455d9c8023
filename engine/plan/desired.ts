/**
 * Desired state: the deployable resources of a validated workspace, each with a content hash. A flow carries
 * what decides how it runs — its resolved spec, its mapping (by content hash), its effective policy, SLA, time
 * zone and schedule — so a change to any of them is an update of that flow.
 */
import { triggerEvents } from '../model/guards.js';
import { lookupPolicy, lookupSla, policyNameOf, resolveRelative, slaNameOf, timezoneOf } from '../model/resolve.js';
import { addressOf, type Resource, type Workspace } from '../model/workspace.js';
import { hashOf, sha256 } from '../util/hash.js';
import { queueSettings } from '../live/layout.js';
import { isObject } from '../util/merge.js';
import { alertBrandingOf, type AlertBranding } from '../workspace/branding.js';
import { customerLimitsOf } from '../model/limits.js';
import { ACKNOWLEDGE_ANNOTATION, type DeployableResource } from './types.js';

export interface DesiredState {
  resources: DeployableResource[];
  /** Mapping texts by sha256. */
  blobs: Map<string, string>;
}

/**
 * `file:line` of a resource's `name:`, found in the text (building the file's position tree for every resource
 * would cost a plan of 10,000 flows seconds); the file alone when the name is not written plainly.
 */
function source(ws: Workspace, r: Resource, lines: Map<string, Map<string, number>>): string {
  const file = r.origin.doc.file;
  let names = lines.get(file);
  if (!names) {
    names = nameLines(ws.files.get(file) ?? '');
    lines.set(file, names);
  }
  const line = names.get(r.template ? templateName(r) : r.name);
  return line ? `${file}:${line}` : file;
}

/** The line of the first `name: x` of each name in a file (one pass over the text). */
function nameLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = /(^|[\s{,])name:[ \t]*["']?([A-Za-z0-9_.${}-]+)["']?[ \t]*(?=[,}#\r\n]|$)/gm;
  let line = 1;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + m[1].length;
    for (; at < start; at++) if (text.charCodeAt(at) === 10) line++;
    if (!out.has(m[2])) out.set(m[2], line);
  }
  return out;
}

/** The name a template gives its flow (the customer's use may add a prefix). */
function templateName(r: Resource): string {
  const flows = Array.isArray(
    r.origin.doc.value && (r.origin.doc.value as { spec?: { flows?: unknown[] } }).spec?.flows,
  )
    ? (r.origin.doc.value as { spec: { flows: { metadata?: { name?: string } }[] } }).spec.flows
    : [];
  const i = Number(r.origin.base[2]);
  return flows[i]?.metadata?.name ?? r.name;
}

function base(r: Resource): Record<string, unknown> {
  const labels = r.metadata.labels;
  // The one annotation rsync reads (plan/impact.ts): deployed with the resource, so that the next change needs its own.
  const ack = isObject(r.metadata.annotations) ? r.metadata.annotations[ACKNOWLEDGE_ANNOTATION] : undefined;
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: {
      name: r.name,
      ...(isObject(labels) && Object.keys(labels).length ? { labels } : {}),
      ...(typeof ack === 'string' ? { annotations: { [ACKNOWLEDGE_ANNOTATION]: ack } } : {}),
    },
    spec: r.spec,
  };
}

/**
 * An alert carries the branding its messages are rendered with (the worker has no workspace, only what was applied):
 * a change of product name or support link is an update of each alert.
 */
function alertValue(a: Resource, branding: AlertBranding): Record<string, unknown> {
  return { ...base(a), effective: { branding } };
}

function deployable(
  ws: Workspace,
  r: Resource,
  value: Record<string, unknown>,
  lines: Map<string, Map<string, number>>,
): DeployableResource {
  return {
    address: addressOf(r),
    customer: r.customer ?? null,
    kind: r.kind.toLowerCase(),
    name: r.name,
    spec: value,
    hash: hashOf(value),
    template: r.template ? `${r.template.template}@${r.template.version}` : null,
    source: source(ws, r, lines),
  };
}

/** Deployable resources of the customers asked for (all when `customers` is undefined). */
export function desiredState(ws: Workspace, customers?: Set<string>): DesiredState {
  const resources: DeployableResource[] = [];
  const blobs = new Map<string, string>();
  const lines = new Map<string, Map<string, number>>();
  const mappingHashes = new Map<string, string>();
  const wanted = (c: string) => !customers || customers.has(c);
  const branding = alertBrandingOf(ws);
  for (const p of ws.policies.values()) resources.push(deployable(ws, p, base(p), lines));
  for (const s of ws.slas.values()) resources.push(deployable(ws, s, base(s), lines));
  for (const a of ws.alerts.values()) resources.push(deployable(ws, a, alertValue(a, branding), lines));
  for (const c of ws.customers.values()) {
    if (!wanted(c.name)) continue;
    if (c.resource) resources.push(deployable(ws, c.resource, base(c.resource), lines));
    for (const r of c.connections.values()) resources.push(deployable(ws, r, base(r), lines));
    for (const r of c.policies.values()) resources.push(deployable(ws, r, base(r), lines));
    for (const r of c.slas.values()) resources.push(deployable(ws, r, base(r), lines));
    for (const a of c.alerts.values()) resources.push(deployable(ws, a, alertValue(a, branding), lines));
    for (const r of c.reconciliations.values()) resources.push(deployable(ws, r, base(r), lines));
    const limits = customerLimitsOf(ws, c.name);
    for (const f of c.flows.values()) {
      const value = base(f);
      const file = typeof f.spec.mapping === 'string' ? resolveRelative(f.dir, f.spec.mapping) : undefined;
      const text = file ? ws.files.get(file) : undefined;
      if (file && text !== undefined) {
        let h = mappingHashes.get(file);
        if (h === undefined) mappingHashes.set(file, (h = sha256(text))); // a template's mapping serves hundreds of flows
        blobs.set(h, text);
        value.mapping = { file, sha256: h };
      }
      const policyName = policyNameOf(ws, f).name;
      const policy = policyName ? lookupPolicy(ws, c.name, policyName) : undefined;
      const slaName = slaNameOf(ws, f).name;
      const sla = slaName ? lookupSla(ws, c.name, slaName) : undefined;
      const trigger = isObject(f.spec.trigger) ? f.spec.trigger : {};
      const timezone = timezoneOf(ws, f);
      const q = queueSettings(isObject(policy?.spec) ? policy!.spec : undefined, null);
      value.effective = {
        policy: policy ? addressOf(policy) : null,
        retry: { retryLimit: q.retryLimit, retryDelay: q.retryDelay, retryBackoff: q.retryBackoff },
        sla: sla ? addressOf(sla) : null,
        timezone,
        trigger: triggerEvents(trigger.event).length ? 'event' : isObject(trigger.schedule) ? 'schedule' : 'manual',
        ...(isObject(trigger.schedule) && typeof trigger.schedule.cron === 'string'
          ? { schedule: { cron: trigger.schedule.cron, timezone } }
          : {}),
        ...(limits ? { limits } : {}),
      };
      if (f.template)
        value.template = { name: f.template.template, version: f.template.version, with: f.template.params };
      resources.push(deployable(ws, f, value, lines));
    }
  }
  resources.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { resources, blobs };
}
