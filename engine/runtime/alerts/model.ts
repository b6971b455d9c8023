/**
 * Alerts as the runtime sees them: each deployed Alert (rsync.resources, kind `alert`) resolved into an AlertDef,
 * and the flows it watches, with what their messages need (PII fields from their policy, their SLA's success rate).
 *
 * Terminology: a *condition* is one entry of an Alert's `when`; an *incident* is a condition holding for one
 * *subject* (a flow, one SLA objective of a flow, the environment), keyed `<condition>:<subject>`; a *delivery* is
 * one message (a trigger when an incident starts, a resolve when it ends) to one *channel*.
 */
import type { AlertChannel, AlertConditions } from '../../model/generated/index.js';
import type { ResourceRow } from '../../state/deployments.js';
import { isObject } from '../../util/merge.js';
import { findSecretRefs } from '../../validate/secrets.js';
import { piiOf } from '../flows.js';

export const CHANNEL_TYPES = ['slack', 'webhook', 'email', 'pagerduty'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export interface Channel {
  type: ChannelType;
  /** The channel's settings as declared: secrets still as `{ secretRef }`. */
  target: Record<string, unknown>;
}

export interface AlertBrand {
  productName: string;
  partner?: string;
  supportUrl?: string;
}

export interface AlertDef {
  env: string;
  /** workspace/alert/<name> or <customer>/alert/<name> */
  address: string;
  name: string;
  /** The customer whose alert it is; undefined for a partner-wide one. */
  customer?: string;
  customers?: string[];
  flows?: string[];
  severity: 'critical' | 'error' | 'warning' | 'info';
  when: AlertConditions;
  channels: Channel[];
  brand: AlertBrand;
}

export interface WatchedFlow {
  address: string;
  customer: string;
  name: string;
  source: string;
  target: string;
  pii: string[];
  /** The secret references of its connections' settings: their values are scrubbed from what an alert quotes. */
  secrets: unknown[];
  /** The SLA's successRate as a fraction (0.999), when it declares one. */
  successRate?: number;
}

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;

export function channelOf(c: unknown): Channel | undefined {
  if (!isObject(c)) return undefined;
  const type = CHANNEL_TYPES.find((t) => isObject(c[t]));
  return type ? { type, target: c[type] as Record<string, unknown> } : undefined;
}

/** An AlertDef from a deployed alert's row (what apply stored: the document and its effective branding). */
export function alertDef(env: string, row: ResourceRow): AlertDef {
  const s = isObject(row.spec.spec) ? row.spec.spec : {};
  const eff = isObject(row.spec.effective) ? row.spec.effective : {};
  const b = isObject(eff.branding) ? eff.branding : {};
  const sev = s.severity;
  return {
    env,
    address: row.address,
    name: row.name,
    customer: row.customer ?? undefined,
    customers: strings(s.customers),
    flows: strings(s.flows),
    severity: sev === 'critical' || sev === 'warning' || sev === 'info' ? sev : 'error',
    when: (isObject(s.when) ? s.when : {}) as AlertConditions,
    channels: (Array.isArray(s.channels) ? (s.channels as AlertChannel[]) : [])
      .map(channelOf)
      .filter((c): c is Channel => c !== undefined),
    brand: {
      productName: typeof b.productName === 'string' ? b.productName : 'rsync',
      partner: typeof b.partner === 'string' ? b.partner : undefined,
      supportUrl: typeof b.supportUrl === 'string' ? b.supportUrl : undefined,
    },
  };
}

/** Every deployed flow of an environment, as the alerts watch it. */
export function watchedFlows(rows: Map<string, ResourceRow>): WatchedFlow[] {
  const out: WatchedFlow[] = [];
  for (const r of rows.values()) {
    if (r.kind !== 'flow' || !r.customer) continue;
    const s = isObject(r.spec.spec) ? r.spec.spec : {};
    const eff = isObject(r.spec.effective) ? r.spec.effective : {};
    const policy = typeof eff.policy === 'string' ? rows.get(eff.policy) : undefined;
    const sla = typeof eff.sla === 'string' ? rows.get(eff.sla) : undefined;
    const rate = sla && isObject(sla.spec.spec) ? sla.spec.spec.successRate : undefined;
    const pct = typeof rate === 'string' ? Number(rate.replace('%', '')) : Number.NaN;
    const name = (v: unknown) => (isObject(v) && typeof v.connection === 'string' ? v.connection : '?');
    const settings = (c: string) => {
      const spec = rows.get(`${r.customer}/connection/${c}`)?.spec.spec;
      return isObject(spec) ? spec.settings : undefined;
    };
    out.push({
      address: r.address,
      customer: r.customer,
      name: r.name,
      source: name(s.source),
      target: name(s.target),
      pii: piiOf(policy),
      secrets: [name(s.source), name(s.target)].flatMap((c) =>
        findSecretRefs(settings(c)).map((x) => ({ secretRef: x.ref })),
      ),
      successRate: Number.isFinite(pct) ? pct / 100 : undefined,
    });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : 1));
}

/** The flows an alert watches: its customer's (or those of the customers it names), narrowed to its `flows`. */
export function flowsOf(alert: AlertDef, flows: WatchedFlow[]): WatchedFlow[] {
  return flows.filter(
    (f) =>
      (alert.customer ? f.customer === alert.customer : !alert.customers || alert.customers.includes(f.customer)) &&
      (!alert.flows || alert.flows.includes(f.name)),
  );
}
