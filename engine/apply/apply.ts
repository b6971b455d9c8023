/**
 * Apply: carry out exactly a plan. `applyPlan` is the list of its steps:
 *
 *   lock the environment → refuse a stale plan → refuse an unapproved one (approvals.ts, where the environment
 *   requires approval) → write revisions and prune what was removed, in batches (each
 *   batch commits: a crash leaves a state from which the next plan shows exactly what is left; a removed flow
 *   goes only once its jobs drained, or with --force-prune) → heal the live pg-boss queues and schedules (make
 *   them match what is deployed, removing the unused ones) → append to the apply log (and close the approvals: this
 *   plan's are spent, other plans made against the old state are stale) → unlock.
 *
 * Apply reads only the plan and the deployed state; it never re-reads Git.
 */
import type pg from 'pg';
import type PgBoss from 'pg-boss';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { findDrift, stateHash } from '../plan/plan.js';
import type { Change, Drift, Plan } from '../plan/types.js';
import { BOSS_SCHEMA, openBoss } from '../live/boss.js';
import { expectedLive, flowRouting, queueDifferences, QUEUE_PREFIX } from '../live/layout.js';
import { appendLog } from '../state/apply-log.js';
import { APPLIED, notifyWork } from '../live/notify.js';
import type { Database } from '../state/db.js';
import { readLive } from '../live/read.js';
import { readDeployed } from '../state/deployments.js';
import { acquireApplyLock } from '../state/locks.js';
import { withTransaction } from '../state/tx.js';
import { assertPlanFormat } from '../plan/file.js';
import { type ApprovalRule, type ApprovalStatus, closeApprovals, refuseUnapproved } from './approvals.js';

export interface ApplyOptions {
  actor: string;
  /** The connection URL (the lock needs a session of its own). */
  url: string;
  forcePrune?: boolean;
  /**
   * The environment's approval rule, from the applying workspace's rsync.yaml (workspace/ declaredApprovalsAt):
   * with requiresApproval, the plan must have its approvals. The CLI and the console always pass it; without it
   * (tests, the demo) none is asked.
   */
  approvals?: ApprovalRule;
  onProgress?: (done: number, total: number) => void;
  /** Changes per transaction. */
  batchSize?: number;
  /** What the apply log calls it: `apply` (default), or `rollback` (engine/rollback), with what it adds to the detail. */
  logAs?: { action: string; detail: Record<string, unknown> };
}

export interface ApplyResult {
  env: string;
  commit: string | null;
  applied: { create: number; update: number; delete: number };
  /** Removed flows kept until their jobs drain. */
  waiting: { address: string; jobs: number }[];
  live: {
    queuesCreated: number;
    queuesUpdated: number;
    queuesDeleted: number;
    schedulesSet: number;
    schedulesRemoved: number;
  };
  driftHealed: number;
  /** Drift the plan listed that is still there after apply (it could not be healed). */
  driftRemaining: Drift[];
  logEntry: number;
}

export async function applyPlan(db: Database, plan: Plan, opts: ApplyOptions): Promise<ApplyResult> {
  assertPlanFormat(plan);
  const lock = await acquireApplyLock(opts.url, plan.env, opts.actor);
  let boss: PgBoss | undefined;
  try {
    const deployed = await refuseStale(db, plan);
    const approved = opts.approvals ? await refuseUnapproved(db, plan, deployed, opts.approvals, opts.actor) : null;
    boss = await openBoss(db.pool);
    const { applied, waiting } = await writeAndPrune(db, plan, deployed, opts);
    const { live, driftHealed, driftRemaining, after } = await healLive(db, boss, plan, deployed);
    const done = { applied, waiting, live, driftHealed, driftRemaining };
    const logEntry = await appendToLog(db, plan, opts, done, approved, after);
    return { env: plan.env, commit: plan.commit, applied, waiting, live, driftHealed, driftRemaining, logEntry };
  } finally {
    await boss?.stop({ graceful: false, close: false, wait: false }).catch(() => {});
    await lock.release();
  }
}

type Deployed = Awaited<ReturnType<typeof readDeployed>>;
type Written = Pick<ApplyResult, 'applied' | 'waiting'>;
type Healed = Pick<ApplyResult, 'live' | 'driftHealed' | 'driftRemaining'>;

/** The deployed state the plan was made against, or a refusal when it moved since (under the lock). */
async function refuseStale(db: Database, plan: Plan): Promise<Deployed> {
  const deployed = await readDeployed(db.pool, plan.env);
  const now = stateHash(deployed);
  if (now !== plan.basis.stateHash) {
    throw new RsyncError(
      `The plan is stale: the deployed state of ${plan.env} changed since the plan was made (${plan.createdAt}, ${plan.basis.resources} resources then, ${deployed.length} now).`,
      ExitCode.REFUSED,
      'Make a new plan (rsync plan --out …) and review it; nothing was applied.',
    );
  }
  return deployed;
}

/**
 * Revisions for what is created or updated, and the removal of what was deleted (a flow only once its jobs
 * drained, or with --force-prune), in batches that each commit.
 */
async function writeAndPrune(db: Database, plan: Plan, deployed: Deployed, opts: ApplyOptions): Promise<Written> {
  await storeBlobs(db.pool, plan.blobs);
  const byAddress = new Map(deployed.map((d) => [d.address, d]));
  const total = plan.changes.length;
  const batchSize = opts.batchSize ?? 500;
  const applied = { create: 0, update: 0, delete: 0 };
  const waiting: { address: string; jobs: number }[] = [];
  let done = 0;
  opts.onProgress?.(0, total);
  for (let i = 0; i < total; i += batchSize) {
    const batch = plan.changes.slice(i, i + batchSize);
    const writes = batch.filter((c) => c.action !== 'delete');
    const deletes: Change[] = [];
    for (const c of batch.filter((c) => c.action === 'delete')) {
      const d = byAddress.get(c.address);
      if (d?.kind === 'flow' && !opts.forcePrune) {
        const jobs = await pendingJobs(db.pool, plan.env, d);
        if (jobs > 0) {
          waiting.push({ address: c.address, jobs });
          continue;
        }
      }
      deletes.push(c);
    }
    await withTransaction(db.pool, async (tx) => {
      if (writes.length) await writeRevisions(tx, plan, writes, opts.actor);
      if (deletes.length) await deleteResources(tx, plan, deletes, opts.actor);
    });
    for (const c of writes) applied[c.action]++;
    applied.delete += deletes.length;
    done += batch.length;
    opts.onProgress?.(done, total);
  }
  return { applied, waiting };
}

/**
 * Make the live objects match the deployed state now (which also heals drift) — within the plan's scope, so that
 * a plan limited to some customers changes no live object of the others.
 */
async function healLive(
  db: Database,
  boss: PgBoss,
  plan: Plan,
  before: Deployed,
): Promise<Healed & { after: Deployed }> {
  const after = await readDeployed(db.pool, plan.env);
  const scope = plan.customers?.length ? new Set(plan.customers) : null;
  // A partial plan (--target, --selector) touches only the live objects of what it selected.
  const selected = plan.selection ? new Set(plan.selection.included) : null;
  const live = await syncLive(db.pool, boss, plan.env, before, after, scope, selected);
  const inScope = (d: { address: string; customer: string | null }) =>
    (!scope || d.customer === null || scope.has(d.customer)) && (!selected || selected.has(d.address));
  const remaining = findDrift(
    plan.env,
    after.filter(inScope),
    await readLive(db.pool, plan.env),
    scope === null && selected === null,
  );
  const driftRemaining = plan.drift.filter((d) => remaining.some((r) => r.object === d.object && r.type === d.type));
  return { live, driftHealed: plan.drift.length - driftRemaining.length, driftRemaining, after };
}

/**
 * The apply log entry (its number), tied to the revisions this apply wrote, with the approvals it had (and, for a
 * rollback, what `logAs` says); approvals are closed (approvals.ts) and workers told, at commit.
 */
async function appendToLog(
  db: Database,
  plan: Plan,
  opts: ApplyOptions,
  done: Written & Healed,
  approved: ApprovalStatus | null,
  after: Deployed,
): Promise<number> {
  return withTransaction(db.pool, async (client) => {
    const entry = await appendLog(client, {
      env: plan.env,
      action: opts.logAs?.action ?? 'apply',
      actor: opts.actor,
      commit: plan.commit,
      ref: plan.ref,
      detail: {
        planCreatedAt: plan.createdAt,
        customers: plan.customers,
        ...(plan.selection
          ? {
              selection: {
                targets: plan.selection.targets,
                excludes: plan.selection.excludes,
                selector: plan.selection.selector,
                leftOut: plan.selection.leftOut.count,
              },
            }
          : {}),
        applied: done.applied,
        waiting: done.waiting,
        driftHealed: done.driftHealed,
        driftRemaining: done.driftRemaining.map((d) => `${d.type} ${d.object}: ${d.detail}`),
        live: done.live,
        changes: plan.changes.map((c) => `${c.action} ${c.address}`).slice(0, 1000),
        changeCount: plan.changes.length,
        ...(approved
          ? {
              planHash: approved.hash,
              approvedBy: approved.approvals.map((a) => a.approver),
              required: approved.required,
            }
          : {}),
        ...opts.logAs?.detail,
      },
    });
    await closeApprovals(client, plan.env, approved?.hash ?? null, after);
    // Tie the revisions this apply wrote to its log entry.
    await client.query(
      `UPDATE rsync.revisions SET apply_seq = $1 WHERE env = $2 AND apply_seq IS NULL AND commit IS NOT DISTINCT FROM $3`,
      [entry.n, plan.env, plan.commit],
    );
    // Workers of the environment reload their flows when this commits (NOTIFY is delivered at commit).
    await notifyWork(client, plan.env, APPLIED);
    return entry.n;
  });
}

async function storeBlobs(pool: pg.Pool, blobs: Record<string, string>): Promise<void> {
  const entries = Object.entries(blobs);
  if (!entries.length) return;
  await pool.query(
    `INSERT INTO rsync.blobs (sha256, text) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (sha256) DO NOTHING`,
    [entries.map((e) => e[0]), entries.map((e) => e[1])],
  );
}

async function writeRevisions(client: pg.PoolClient, plan: Plan, changes: Change[], actor: string): Promise<void> {
  const rows = changes.map((c) => ({
    address: c.address,
    customer: c.customer,
    kind: c.kind,
    name: c.name,
    action: c.action,
    hash: c.afterHash,
    spec: c.after!.spec,
    template: c.after!.template,
  }));
  await client.query(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(address text, customer text, kind text, name text, action text, hash text, spec jsonb, template text)
     ), numbered AS (
       SELECT i.*, COALESCE((SELECT max(r.revision) FROM rsync.revisions r WHERE r.env = $2 AND r.address = i.address), 0) + 1 AS revision
         FROM input i
     ), rev AS (
       INSERT INTO rsync.revisions (env, address, revision, action, content_hash, spec, commit, applied_by)
       SELECT $2, address, revision, action, hash, spec, $3, $4 FROM numbered
     )
     INSERT INTO rsync.resources (env, address, customer, kind, name, revision, content_hash, spec, template, commit, applied_at, applied_by)
     SELECT $2, address, customer, kind, name, revision, hash, spec, template, $3, now(), $4 FROM numbered
     ON CONFLICT (env, address) DO UPDATE SET revision = excluded.revision, content_hash = excluded.content_hash, spec = excluded.spec,
       template = excluded.template, commit = excluded.commit, applied_at = excluded.applied_at, applied_by = excluded.applied_by`,
    [JSON.stringify(rows), plan.env, plan.commit, actor],
  );
}

async function deleteResources(client: pg.PoolClient, plan: Plan, changes: Change[], actor: string): Promise<void> {
  const addresses = changes.map((c) => c.address);
  await client.query(
    `INSERT INTO rsync.revisions (env, address, revision, action, content_hash, spec, commit, applied_by)
     SELECT $1, a, COALESCE((SELECT max(r.revision) FROM rsync.revisions r WHERE r.env = $1 AND r.address = a), 0) + 1, 'delete', NULL, NULL, $3, $4
       FROM unnest($2::text[]) AS a`,
    [plan.env, addresses, plan.commit, actor],
  );
  await client.query(`DELETE FROM rsync.resources WHERE env = $1 AND address = ANY($2)`, [plan.env, addresses]);
}

/** Jobs of a flow not yet finished in its queue. */
async function pendingJobs(
  pool: pg.Pool,
  env: string,
  flow: { address: string; customer: string | null; kind: string; name: string; spec: Record<string, unknown> },
): Promise<number> {
  const { queue } = flowRouting(env, flow);
  if (!queue) return 0;
  const exists = await pool.query(`SELECT to_regclass('pgboss.job') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return 0;
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND data->>'flow' = $2 AND state < 'completed'`,
    [queue, flow.address],
  );
  return Number(rows[0].n);
}

async function syncLive(
  pool: pg.Pool,
  boss: PgBoss,
  env: string,
  before: Awaited<ReturnType<typeof readDeployed>>,
  deployed: Awaited<ReturnType<typeof readDeployed>>,
  scope: Set<string> | null,
  selected: Set<string> | null,
): Promise<ApplyResult['live']> {
  const expected = expectedLive(env, deployed);
  const previously = expectedLive(env, before);
  const customerOf = new Map([...before, ...deployed].map((d) => [d.address, d.customer]));
  const inScope = (address: string) => {
    if (selected && !selected.has(address)) return false;
    const c = customerOf.get(address);
    return !scope || c === null || c === undefined || scope.has(c);
  };
  // An object the plan's scope may touch: one that serves an address in scope; to remove one, every address it
  // served must be in scope (a plan of the whole environment may remove anything of rsync's).
  const partial = scope !== null || selected !== null;
  const serves = (addresses: string[]) => !partial || addresses.some(inScope);
  const removable = (was: { addresses: string[] } | undefined) => !partial || was?.addresses.every(inScope);
  const live = await readLive(pool, env);
  const haveQueues = new Map(live.queues.map((q) => [q.name, q]));
  const haveSchedules = new Map(live.schedules.map((s) => [s.name, s]));
  const out = { queuesCreated: 0, queuesUpdated: 0, queuesDeleted: 0, schedulesSet: 0, schedulesRemoved: 0 };
  // Dead-letter queues first: a queue's deadLetter must name an existing queue.
  const ordered = [...expected.queues.values()].sort(
    (a, b) => Number(b.name.endsWith('.dead')) - Number(a.name.endsWith('.dead')),
  );
  for (const q of ordered) {
    if (!serves(q.addresses)) continue;
    const have = haveQueues.get(q.name);
    const { deadLetter, ...rest } = q.settings;
    const options = { name: q.name, policy: 'standard' as const, ...rest, ...(deadLetter ? { deadLetter } : {}) };
    if (!have) {
      await boss.createQueue(q.name, options);
      out.queuesCreated++;
    } else if (queueDifferences(have, q.settings).length) {
      await boss.updateQueue(q.name, options);
      // pg-boss's updateQueue keeps a setting it is given no value for (COALESCE), so it cannot remove a dead letter.
      if (have.deadLetter && !deadLetter)
        await pool.query(`UPDATE ${BOSS_SCHEMA}.queue SET dead_letter = NULL WHERE name = $1`, [q.name]);
      out.queuesUpdated++;
    }
  }
  for (const s of expected.schedules.values()) {
    if (!serves(s.addresses)) continue;
    const have = haveSchedules.get(s.name);
    if (!have || have.cron !== s.cron || have.timezone !== s.timezone) {
      await boss.schedule(s.name, s.cron, { env, cron: s.cron, timezone: s.timezone }, { tz: s.timezone });
      out.schedulesSet++;
    }
  }
  for (const s of live.schedules) {
    if (!expected.schedules.has(s.name) && removable(previously.schedules.get(s.name))) {
      await boss.unschedule(s.name);
      out.schedulesRemoved++;
    }
  }
  // Queues nobody uses any more go once they are empty (jobs in flight finish on them first).
  const stale = [...live.queues].sort((a, b) => Number(a.name.endsWith('.dead')) - Number(b.name.endsWith('.dead')));
  for (const q of stale) {
    if (
      expected.queues.has(q.name) ||
      !q.name.startsWith(`${QUEUE_PREFIX}${env}.`) ||
      !removable(previously.queues.get(q.name))
    )
      continue;
    const size = await boss.getQueueSize(q.name).catch(() => 0);
    if (size === 0) {
      await boss.deleteQueue(q.name).catch(() => {});
      out.queuesDeleted++;
    }
  }
  return out;
}
