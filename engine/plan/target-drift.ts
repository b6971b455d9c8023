/**
 * Drift in the targets: a flow whose target's schema changed under it (a column dropped, a required field added, a
 * type changed), as the schema guard found it before a run's first write and paused the flow
 * (runtime/schema-guard.ts, state/schema-guards.ts). Unlike a queue's or a schedule's drift, apply cannot heal it:
 * the target is altered back, or the mapping changed and applied, then the flow resumed. So it is a list of its
 * own in the plan (`targetDrift`), which leaves `empty` and the controller's self-heal as they were.
 */
import type { SchemaChange, SchemaGuardRow } from '../state/schema-guards.js';
import { writtenFields } from '../runtime/schema-guard.js';
import type { Plan, TargetDrift } from './types.js';

/**
 * Whether the plan's new mapping for the flow answers every change: it no longer writes a field dropped or changed in
 * type, and writes each field now required. Only where the fields written are the mapping's (not an ERP connector's).
 */
function fixedBy(plan: Pick<Plan, 'changes' | 'blobs'>, row: SchemaGuardRow): boolean {
  if (!row.finding?.byMapping) return false;
  const change = plan.changes.find((c) => c.address === row.address && c.action === 'update');
  const sha = (change?.after?.spec.mapping as { sha256?: string } | undefined)?.sha256;
  const text = sha === undefined ? undefined : plan.blobs[sha];
  const writes = text === undefined ? null : writtenFields(text);
  if (!writes) return false;
  return row.finding.changes.every((c) => (c.change === 'required') === writes.includes(c.field));
}

/** The guard's findings within a plan's scope (its customers, its selection), as the plan lists them. */
export function targetDrift(
  rows: readonly SchemaGuardRow[],
  plan: Pick<Plan, 'customers' | 'selection' | 'changes' | 'blobs'>,
): TargetDrift[] {
  const customers = plan.customers?.length ? new Set(plan.customers) : null;
  const selected = plan.selection ? new Set(plan.selection.included) : null;
  return rows
    .filter((r) => r.finding && (!customers || customers.has(r.address.split('/')[0])))
    .filter((r) => !selected || selected.has(r.address))
    .map((r) => ({
      address: r.address,
      target: r.target,
      changes: r.finding!.changes,
      summary: r.finding!.diagnostic.summary,
      detail: r.finding!.diagnostic.detail,
      run: r.finding!.run,
      foundAt: r.finding!.at,
      ...(fixedBy(plan, r) ? { fixedByPlan: true } : {}),
    }));
}

const what = (c: SchemaChange): string =>
  c.change === 'dropped'
    ? `${c.field} dropped (was ${c.before})`
    : c.change === 'required'
      ? `${c.field} now required (${c.after}), not written`
      : `${c.field} ${c.before} → ${c.after}`;

/** One line of a flow's target drift. */
export function targetDriftText(d: TargetDrift): string {
  const fixed = d.fixedByPlan ? '; this plan changes the mapping to fit: apply it, then rsync resume' : '';
  return `${d.address}: target schema changed — ${d.target}: ${d.changes.map(what).join('; ')} (found by run ${d.run}; the flow is paused${fixed})`;
}
