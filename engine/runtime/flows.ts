/**
 * What the runtime runs: each deployed flow of an environment, resolved from the state database into a FlowDef —
 * its revision, mapping text, key, parameters, source and target connections (with their settings), retry
 * settings, PII fields and SLA. A FlowDef is immutable: a running job keeps the one it started with, and a new
 * apply only changes which FlowDef the next job gets (worker.ts reloads them when the deployed state moves).
 */
import { triggerEvents } from '../model/guards.js';
import type pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { flowAddress } from '../model/address.js';
import { readBlobs, readResourceRows, readRevisionSpec, type ResourceRow } from '../state/deployments.js';
import { isObject } from '../util/merge.js';
import { parseDuration } from '../util/duration.js';
import { flowRetry, retryQueueName } from '../live/layout.js';
import { DEFAULTS } from '../model/generated/defaults.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface ConnectionDef {
  /** The environment it is deployed in (its quotas are counted there). */
  env?: string;
  name: string;
  /** `<customer>/<connection>` */
  system: string;
  type: string;
  settings: Record<string, unknown>;
  /** The connection's `spec.limits.apiCallsPerDay` (runtime/quotas.ts), when it sets one. */
  apiCallsPerDay?: number;
}

export interface FlowDef {
  env: string;
  /** `<customer>/flow/<name>` */
  address: string;
  customer: string;
  name: string;
  revision: number;
  enabled: boolean;
  trigger: 'event' | 'schedule' | 'manual';
  event?: string;
  /** Every webhook topic the flow takes (its trigger's event, or its list); a delivery of another is refused. */
  events: string[];
  schedule?: { cron: string; timezone: string };
  mapping: string;
  mappingSha: string;
  /** The mapping's path in the workspace, as applied. */
  mappingFile: string;
  key: string;
  params: Record<string, unknown>;
  canonical: string;
  source: ConnectionDef & { stream: string };
  target: ConnectionDef & { entity: string };
  batchSize: number;
  concurrency: number;
  queue: string;
  /**
   * The policy's retry (Policy `spec.retry`), by its own names: attempts in all (the first one included), the
   * back-off, the first wait and the longest. pg-boss's names (retryLimit, retryDelay…) stay in live/layout.ts.
   */
  retry: { maxAttempts: number; backoff: 'exponential' | 'fixed'; initialMs: number; maxMs: number };
  pii: string[];
  /** The policy's missedRuns: a schedule that fired while no worker ran starts once (run-once) or not (skip). */
  missedRuns: 'run-once' | 'skip';
  freshnessMs?: number;
  /** The flow's effective SLA (flow.sla, else its customer's default, else the workspace's), as declared. */
  sla?: SlaDef;
  /** The policy's retention in milliseconds (runtime/retention.ts): what is older is deleted; absent, kept. */
  retention: RetentionDef;
  /** Its customer's limits as applied (model/limits.ts: customer.yaml, else rsync.yaml's defaults); runtime/fairshare.ts. */
  limits: { concurrency?: number; recordsPerDay?: number };
}

/** How long a flow's rows are kept (Policy spec.retention and spec.deadLetter.retain), in milliseconds. */
export interface RetentionDef {
  runsMs?: number;
  deliveriesMs?: number;
  deadLettersMs?: number;
  ledgerMs?: number;
}

/** A deployed policy's retention. */
export function retentionOf(policySpec: Record<string, unknown>): RetentionDef {
  const r = isObject(policySpec.retention) ? policySpec.retention : {};
  const d = isObject(policySpec.deadLetter) ? policySpec.deadLetter : {};
  const runsMs = parseDuration(r.runs);
  return {
    runsMs,
    deliveriesMs: parseDuration(r.deliveries) ?? runsMs,
    deadLettersMs: parseDuration(d.retain),
    ledgerMs: parseDuration(r.ledger),
  };
}

/** An SLA's objectives as declared (`5m`, `60s`, `"99.9%"`); runtime/sla.ts evaluates them. */
export interface SlaDef {
  name: string;
  freshness?: string;
  latencyP95?: string;
  successRate?: string;
}

function slaDef(row: Row | undefined): SlaDef | undefined {
  if (!row || !isObject(row.spec.spec)) return undefined;
  const s = row.spec.spec;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    name: row.name,
    freshness: str(s.freshness),
    latencyP95: str(s.latencyP95),
    successRate: str(s.successRate),
  };
}

type Row = ResourceRow;

function limitsOf(v: unknown): FlowDef['limits'] {
  const l = isObject(v) ? v : {};
  const n = (x: unknown) => (typeof x === 'number' && x > 0 ? x : undefined);
  return { concurrency: n(l.concurrency), recordsPerDay: n(l.recordsPerDay) };
}

/** A deployed connection of a customer, by name (type `unknown` when it is not deployed). */
export function connection(rows: Map<string, Row>, customer: string, name: string, env?: string): ConnectionDef {
  const r = rows.get(`${customer}/connection/${name}`);
  const spec = r && isObject(r.spec.spec) ? r.spec.spec : {};
  return {
    env,
    name,
    system: `${customer}/${name}`,
    type: typeof spec.connector === 'string' ? spec.connector : 'unknown',
    settings: isObject(spec.settings) ? spec.settings : {},
    ...(isObject(spec.limits) && typeof spec.limits.apiCallsPerDay === 'number'
      ? { apiCallsPerDay: spec.limits.apiCallsPerDay }
      : {}),
  };
}

/** The schema's longest wait between attempts (Policy spec.retry.max). */
const DEFAULT_MAX_WAIT_MS = parseDuration(DEFAULTS.RetryPolicy.max)!;

/** The PII field paths of a deployed policy (none when it masks nothing). */
export function piiOf(policy: Row | undefined): string[] {
  const p = policy && isObject(policy.spec.spec) ? policy.spec.spec.pii : undefined;
  const list = Array.isArray(p) ? p : isObject(p) && Array.isArray(p.fields) ? p.fields : [];
  if (isObject(p) && !(typeof p.mask === 'boolean' ? p.mask : DEFAULTS.PiiPolicy.mask)) return [];
  return list.filter((x): x is string => typeof x === 'string');
}

/** A FlowDef from a deployed flow's row, resolving its connections, policy and SLA among `rows`. */
export function flowDef(
  env: string,
  flow: Row,
  rows: Map<string, Row>,
  blobs: Map<string, string>,
): FlowDef | undefined {
  const s = isObject(flow.spec.spec) ? flow.spec.spec : {};
  const eff = isObject(flow.spec.effective) ? flow.spec.effective : {};
  const m = isObject(flow.spec.mapping) ? flow.spec.mapping : {};
  const mapping = typeof m.sha256 === 'string' ? blobs.get(m.sha256) : undefined;
  const customer = flow.customer;
  if (!customer || mapping === undefined || !isObject(s.source) || !isObject(s.target)) return undefined;
  const policy = typeof eff.policy === 'string' ? rows.get(eff.policy) : undefined;
  const sla = typeof eff.sla === 'string' ? rows.get(eff.sla) : undefined;
  const slaSpec = sla && isObject(sla.spec.spec) ? sla.spec.spec : {};
  const policySpec = policy && isObject(policy.spec.spec) ? policy.spec.spec : {};
  const retrySpec = isObject(policySpec.retry) ? policySpec.retry : {};
  const r = flowRetry(flow);
  const trigger = isObject(s.trigger) ? s.trigger : {};
  const sched = isObject(eff.schedule) ? eff.schedule : undefined;
  const tmpl = isObject(flow.spec.template) ? flow.spec.template : undefined;
  return {
    env,
    address: flow.address,
    customer,
    name: flow.name,
    revision: flow.revision,
    enabled: typeof s.enabled === 'boolean' ? s.enabled : DEFAULTS.FlowSpec.enabled,
    trigger: eff.trigger === 'event' || eff.trigger === 'schedule' ? eff.trigger : 'manual',
    event: triggerEvents(trigger.event)[0],
    events: triggerEvents(trigger.event),
    schedule:
      sched && typeof sched.cron === 'string'
        ? { cron: sched.cron, timezone: String(sched.timezone ?? DEFAULTS.WorkspaceDefaults.timezone) }
        : undefined,
    mapping,
    mappingSha: String(m.sha256),
    mappingFile: String(m.file ?? ''),
    key: String(s.key),
    params: tmpl && isObject(tmpl.with) ? tmpl.with : {},
    canonical: String(s.canonical),
    source: { ...connection(rows, customer, String(s.source.connection), env), stream: String(s.source.stream) },
    target: { ...connection(rows, customer, String(s.target.connection), env), entity: String(s.target.entity) },
    batchSize: typeof s.batchSize === 'number' ? s.batchSize : DEFAULTS.FlowSpec.batchSize,
    concurrency: typeof s.concurrency === 'number' ? s.concurrency : DEFAULTS.FlowSpec.concurrency,
    queue: retryQueueName(env, r),
    retry: {
      maxAttempts: r.retryLimit + 1,
      backoff: r.retryBackoff ? 'exponential' : 'fixed',
      initialMs: r.retryDelay * 1000,
      maxMs: parseDuration(retrySpec.max) ?? DEFAULT_MAX_WAIT_MS,
    },
    pii: piiOf(policy),
    missedRuns: policySpec.missedRuns === 'skip' ? 'skip' : 'run-once',
    freshnessMs: parseDuration(slaSpec.freshness),
    sla: slaDef(sla),
    retention: retentionOf(policySpec),
    limits: limitsOf(eff.limits),
  };
}

async function readRows(db: Queryable, env: string): Promise<Map<string, Row>> {
  return new Map((await readResourceRows(db, env)).map((r) => [r.address, r]));
}

const mappingSha = (r: Row) => (isObject(r.spec.mapping) ? String(r.spec.mapping.sha256) : '');

/** Every deployed flow of an environment, by address. */
export async function loadFlows(db: Queryable, env: string): Promise<Map<string, FlowDef>> {
  const byAddress = await readRows(db, env);
  const flows = [...byAddress.values()].filter((r) => r.kind === 'flow');
  const blobs = await readBlobs(db, flows.map(mappingSha).filter(Boolean));
  const out = new Map<string, FlowDef>();
  for (const r of flows) {
    const f = flowDef(env, r, byAddress, blobs);
    if (f) out.set(f.address, f);
  }
  return out;
}

/**
 * One flow at a given revision (replaying a dead letter on the revision that failed, or on a fixed one). Its
 * connections, policy and SLA are taken as deployed now: a revision names its flow's spec, not the others'.
 */
export async function loadFlowRevision(
  db: Queryable,
  env: string,
  address: string,
  revision?: number,
): Promise<FlowDef | undefined> {
  if (revision === undefined) return (await loadFlows(db, env)).get(address);
  const spec = await readRevisionSpec(db, env, address, revision);
  if (!spec) return undefined;
  const [customer, , name] = address.split('/');
  const row: Row = { address, customer, kind: 'flow', name, revision, spec };
  return flowDef(env, row, await readRows(db, env), await readBlobs(db, [mappingSha(row)].filter(Boolean)));
}

/** A deployed flow named on a command line (`<customer>/<flow>`, or a name with `customer`), or a usage hint. */
export async function deployedFlow(
  db: Pick<pg.Pool, 'query'>,
  env: string,
  name: string,
  customer?: string,
): Promise<FlowDef> {
  const address = flowAddress(name, customer);
  const flows = await loadFlows(db, env);
  const flow = flows.get(address);
  if (!flow) {
    const near = [...flows.keys()].filter((a) => a.endsWith(`/flow/${address.split('/').pop()}`)).slice(0, 5);
    throw new RsyncError(
      `No flow ${address} is deployed in ${env}.`,
      ExitCode.NO_INPUT,
      near.length
        ? `Deployed flows of that name: ${near.map((a) => a.replace('/flow/', '/')).join(', ')}.`
        : `Apply it first (\`rsync apply --env ${env}\`), or see \`rsync status --env ${env}\`.`,
    );
  }
  return flow;
}
