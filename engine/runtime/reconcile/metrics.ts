/**
 * What `/metrics` (runtime/metrics.ts) shows of each Reconciliation check's latest run: gauges labelled by env,
 * customer and reconciliation (the check's name), from state/reconciliations.ts at scrape time.
 */
import type { ReconciliationRun } from '../../state/reconciliations.js';

/** The series `/metrics` shows of the latest runs: name, help, and a value per check. */
export const RECONCILIATION_METRICS: readonly {
  name: string;
  help: string;
  value: (r: ReconciliationRun) => number;
}[] = [
  {
    name: 'rsync_reconciliation_ok',
    help: "1 when a reconciliation check's latest run found the two systems agreeing, 0 when not (or it could not read them).",
    value: (r) => (r.ok ? 1 : 0),
  },
  {
    name: 'rsync_reconciliation_mismatches',
    help: "Mismatches a reconciliation check's latest run found: keys on one side only, amounts that differ, keys twice, records not comparable.",
    value: (r) => r.mismatches,
  },
  {
    name: 'rsync_reconciliation_last_run_timestamp_seconds',
    help: "When a reconciliation check's latest run finished (Unix seconds).",
    value: (r) => r.finishedAt.getTime() / 1000,
  },
];
