/**
 * PLACEHOLDER (branch `rollout`), to be replaced at merge by the reconciliation checks' own module of this name
 * (issue 19, item 4), which reads rsync.reconciliation_runs. Only the signature below is relied on, by one caller:
 * engine/rollout/rollout.ts (`RECONCILIATION`, the rollout gate's `reconciliation:` condition). Until then no
 * reconciliation has ever run, so a gate that asks for one waits.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export async function latestReconciliation(
  _db: Queryable,
  _env: string,
  _customer: string,
  _name: string,
): Promise<{ ok: boolean; finishedAt: Date; mismatches: number } | undefined> {
  return undefined;
}
