/**
 * Reconciliation checks (the Reconciliation kind): two systems compared over a window by count, sums of money per
 * currency and key by key (compare.ts), a run read through the connectors and stored (run.ts), the worker's
 * schedule (loop.ts), and the short line `rsync status` and `rsync reconcile` show of a run (below). The rollout
 * gate reads the latest result with state/reconciliations.ts latestReconciliation.
 */
import type { ReconciliationRun } from '../../state/reconciliations.js';

export { amountOf, reconcile, timeOf } from './compare.js';
export {
  DEFAULT_RECONCILE_INTERVAL_MS,
  deployedReconciliations,
  ReconcileLoop,
  runDueReconciliations,
} from './loop.js';
export { RECONCILIATION_METRICS } from './metrics.js';
export { type ReconciliationDef, reconciliationDefs, runReconciliation } from './run.js';

/** `acme/orders-vs-erp: ok; 120 = 120 records; USD 1234.50 = 1234.50 (window 2026-11-01T00:00Z – …, ran …)`. */
export function reconciliationLine(r: ReconciliationRun): string {
  const who = `${r.customer}/${r.name}`;
  const when = `window ${iso(r.windowStart)} – ${iso(r.windowEnd)}, ran ${iso(r.finishedAt)}`;
  if (r.error || !r.result) return `${who}: FAILED — ${r.error ?? 'no result'} (${when})`;
  const res = r.result;
  const counts = `${res.left.records} ${res.left.records === res.right.records ? '=' : '≠'} ${res.right.records} records`;
  const money = res.currencies
    .map((c) => `${c.currency ?? ''}${c.currency ? ' ' : ''}${c.left} ${c.ok ? '=' : '≠'} ${c.right}`)
    .join(', ');
  const what = r.ok
    ? 'ok'
    : `${r.mismatches} mismatch(es): ${[
        res.onlyLeft.count && `${res.onlyLeft.count} only in ${res.left.system}`,
        res.onlyRight.count && `${res.onlyRight.count} only in ${res.right.system}`,
        res.amounts.count && `${res.amounts.count} amount(s) differ`,
        res.left.duplicates.count + res.right.duplicates.count &&
          `${res.left.duplicates.count + res.right.duplicates.count} key(s) twice`,
        res.left.invalid.count + res.right.invalid.count &&
          `${res.left.invalid.count + res.right.invalid.count} record(s) not comparable`,
        res.currencies.some((c) => !c.ok) && 'sums differ',
      ]
        .filter(Boolean)
        .join(', ')}`;
  return `${who}: ${what}; ${counts}${money ? `; ${money}` : ''} (${when})`;
}

const iso = (d: Date) => d.toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');
