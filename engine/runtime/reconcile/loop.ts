/**
 * The reconciliations in the worker: every `intervalMs`, beside the fetch loop and the SLA evaluator, the checks of
 * the environment that are due (never run, or their latest run finished `every` ago or more) are run one after the
 * other. One process at a time does it: a session advisory lock per environment, which the others skip their turn
 * on (PostgreSQL frees it if the process dies). A pass still going when the next is due is not doubled.
 */
import type pg from 'pg';
import { redact } from '../../connectors/secrets.js';
import { deployedVersion, readResourceRows, type ResourceRow } from '../../state/deployments.js';
import { releaseClaim, tryClaim } from '../../state/locks.js';
import { latestReconciliations, type ReconciliationRun } from '../../state/reconciliations.js';
import { type ReconcileRuntime, type ReconciliationDef, reconciliationDefs, runReconciliation } from './run.js';

/** How often the worker looks for due checks (default). */
export const DEFAULT_RECONCILE_INTERVAL_MS = 30_000;

export const reconcileLock = (env: string) => `rsync.reconcile.${env}`;

/** The deployed checks of an environment, read again only when an apply moved the deployed state. */
const cache = new WeakMap<object, Map<string, { version: string; defs: ReconciliationDef[] }>>();

export async function deployedReconciliations(db: pg.Pool, env: string): Promise<ReconciliationDef[]> {
  let byEnv = cache.get(db);
  if (!byEnv) cache.set(db, (byEnv = new Map()));
  const version = await deployedVersion(db, env);
  const hit = byEnv.get(env);
  if (hit?.version === version) return hit.defs;
  const rows = new Map<string, ResourceRow>((await readResourceRows(db, env)).map((r) => [r.address, r]));
  const defs = reconciliationDefs(env, rows);
  byEnv.set(env, { version, defs });
  return defs;
}

/** Run the environment's due checks, unless another process is at it (then `ran` is undefined). */
export async function runDueReconciliations(
  rt: ReconcileRuntime,
  env: string,
  now = new Date(),
): Promise<{ ran?: ReconciliationRun[] }> {
  const client = await rt.db.connect();
  try {
    if (!(await tryClaim(client, reconcileLock(env)))) return {};
    try {
      const defs = await deployedReconciliations(rt.db, env);
      if (!defs.length) return { ran: [] };
      const latest = new Map((await latestReconciliations(rt.db, env)).map((r) => [r.address, r]));
      const ran: ReconciliationRun[] = [];
      for (const def of defs) {
        const last = latest.get(def.address);
        if (last && last.revision === def.revision && last.finishedAt.getTime() + def.everyMs > now.getTime()) continue;
        ran.push(await runReconciliation(rt, def, { trigger: 'schedule' }));
      }
      return { ran };
    } finally {
      await releaseClaim(client, reconcileLock(env));
    }
  } finally {
    client.release();
  }
}

export interface ReconcileLoopOptions {
  rt: ReconcileRuntime;
  env: string;
  intervalMs?: number;
  log?: (line: string) => void;
}

export class ReconcileLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly o: ReconcileLoopOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= runDueReconciliations(this.o.rt, this.o.env)
        .then(({ ran }) => {
          for (const r of ran ?? [])
            this.o.log?.(
              `reconcile: ${r.address} ${r.error ? `failed: ${r.error}` : r.ok ? 'ok' : `${r.mismatches} mismatch(es)`}`,
            );
        })
        .catch((e) => this.o.log?.(`reconcile: failed: ${redact((e as Error).message ?? String(e))}`))
        .finally(() => (this.running = undefined));
    }, this.o.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stop the timer and wait for the pass in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
