/**
 * The partner-wide view (`rsync plan --all-envs`, issue 19): every environment of rsync.yaml planned in turn, then
 * the totals — what the partner's change touches in all of them (customers, flows and target systems, by template
 * version and target connector type). Each environment's plan is the one `rsync plan --env` makes.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Database } from '../state/db.js';
import { environmentNames } from '../workspace/index.js';
import { impactBlocks } from './impact.js';
import { type PlanOptions, planEnvironment } from './index.js';
import type { Plan } from './types.js';

export type EnvironmentPlan = { env: string; plan: Plan } | { env: string; diagnostics: Diagnostic[] };

/** A template version's or connector type's reach over every environment. */
export interface PartnerGroup {
  environments: number;
  customers: number;
  flows: number;
}

export interface PartnerTotals {
  environments: number;
  create: number;
  update: number;
  delete: number;
  drift: number;
  /** Distinct customer names with a change in any environment. */
  customers: number;
  flows: number;
  /** Target systems as `<env>/<customer>/<connection>`: staging's ERP is not production's. */
  targets: number;
  byTemplate: Record<string, PartnerGroup>;
  byConnectionType: Record<string, PartnerGroup>;
}

export interface PartnerPlan {
  environments: EnvironmentPlan[];
  totals: PartnerTotals;
}

/** Plan every environment (`opts.env` and `opts.ref` are ignored: each environment's own ref is planned). */
export async function planAllEnvironments(
  db: Database,
  opts: Omit<PlanOptions, 'env' | 'ref'>,
  onEnvironment?: (env: string) => void,
): Promise<PartnerPlan> {
  const environments: EnvironmentPlan[] = [];
  for (const env of await environmentNames(opts.path)) {
    onEnvironment?.(env);
    const outcome = await planEnvironment(db, { ...opts, env });
    environments.push(outcome.ok ? { env, plan: outcome.plan } : { env, diagnostics: outcome.diagnostics });
  }
  return { environments, totals: partnerTotals(environments) };
}

export function partnerTotals(environments: readonly EnvironmentPlan[]): PartnerTotals {
  const t: PartnerTotals = {
    environments: environments.length,
    create: 0,
    update: 0,
    delete: 0,
    drift: 0,
    customers: 0,
    flows: 0,
    targets: 0,
    byTemplate: {},
    byConnectionType: {},
  };
  const customers = new Set<string>();
  const groups = { byTemplate: new Map<string, Acc>(), byConnectionType: new Map<string, Acc>() };
  for (const e of environments) {
    if (!('plan' in e)) continue;
    const s = e.plan.summary;
    t.create += s.create;
    t.update += s.update;
    t.delete += s.delete;
    t.drift += s.drift;
    const r = s.radius;
    if (!r) continue;
    for (const c of r.customers) customers.add(c);
    t.flows += r.flows;
    t.targets += r.targets.length;
    for (const k of ['byTemplate', 'byConnectionType'] as const)
      for (const [name, g] of Object.entries(r[k])) {
        let a = groups[k].get(name);
        if (!a) groups[k].set(name, (a = { environments: 0, customers: 0, flows: 0 }));
        a.environments++;
        a.customers = Math.max(a.customers, g.customers);
        a.flows += g.flows;
      }
  }
  t.customers = customers.size;
  for (const k of ['byTemplate', 'byConnectionType'] as const)
    t[k] = Object.fromEntries([...groups[k]].sort((a, b) => b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1)));
  return t;
}

type Acc = PartnerGroup;

/** Whether any environment failed to plan or has a data impact that is not acknowledged. */
export const partnerFailed = (p: PartnerPlan): boolean =>
  p.environments.some((e) => !('plan' in e) || impactBlocks(e.plan.impact));

const n = (x: number, one: string, many = `${one}s`) => `${x.toLocaleString('en-US')} ${x === 1 ? one : many}`;

/** The totals as lines (text; Markdown wraps them). */
export function partnerLines(p: PartnerPlan): string[] {
  const t = p.totals;
  const out = [`Partner-wide, ${n(t.environments, 'environment')}:`];
  for (const e of p.environments) {
    if (!('plan' in e)) {
      out.push(`  ${e.env}: not planned (${n(e.diagnostics.filter((d) => d.severity === 'error').length, 'error')})`);
      continue;
    }
    const s = e.plan.summary;
    const r = s.radius;
    out.push(
      `  ${e.env}: +${s.create} ~${s.update} -${s.delete}${s.drift ? `, ${n(s.drift, 'drifted object')}` : ''}${r ? ` — ${n(r.customers.length, 'customer')}, ${n(r.flows, 'flow')}, ${n(r.targets.length, 'target system')}` : ''}`,
    );
  }
  out.push(
    `  total: +${t.create} ~${t.update} -${t.delete} — ${n(t.customers, 'customer')}, ${n(t.flows, 'flow')}, ${n(t.targets, 'target system')}`,
  );
  for (const [k, g] of Object.entries(t.byTemplate))
    out.push(
      `  template ${k} → ${n(g.flows, 'flow')} in ${n(g.environments, 'environment')}, up to ${n(g.customers, 'customer')} in one`,
    );
  for (const [k, g] of Object.entries(t.byConnectionType))
    out.push(`  target type ${k} → ${n(g.flows, 'flow')} in ${n(g.environments, 'environment')}`);
  return out;
}
