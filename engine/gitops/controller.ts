/**
 * The controller (`rsync controller`, `rsync worker --sync`): Git's side of the loop, closed. For each environment
 * it watches the branch rsync.yaml binds it to, in the workspace's own clone (`git fetch` of that branch from the
 * remote, then its commit), every interval or at once when a push webhook wakes it (git-hook.ts). Each round:
 *
 *   claim the environment (one controller acts per environment however many run) → fetch → plan the branch's
 *   commit → nothing to do: synced at it | changes (a new commit) or drift → apply it when the environment allows
 *   (autoSync for a commit, selfHeal for drift, inside a sync window when it declares any, never with
 *   requiresApproval), else report it out of sync, with why → record the verdict (state/sync-state.ts).
 *
 * The claim is a session advisory lock on a connection of the controller's own, held while it lives (a killed
 * controller's goes with its connection, and another takes over at its next round). Under it, a commit is applied
 * only while the plan of that commit has changes: once applied, the next plan of it is empty, so no controller
 * applies one commit twice; the apply lock still keeps a person's `rsync apply` and the controller apart.
 * Each automatic apply is an apply-log entry whose actor is the controller (`rsync-controller@<host>`).
 */
import { hostname } from 'node:os';
import cronParser from 'cron-parser';
import pg from 'pg';
import { applyPlan } from '../apply/apply.js';
import { redact } from '../connectors/secrets.js';
import { RsyncError } from '../diagnostics/errors.js';
import { git, resolveCommit } from '../git/index.js';
import { planEnvironment } from '../plan/index.js';
import type { Plan } from '../plan/types.js';
import type { Database } from '../state/db.js';
import { lockKeys } from '../state/locks.js';
import { readSyncState, writeSyncState } from '../state/sync-state.js';
import { parseDuration } from '../util/duration.js';
import { declaredSyncSettings, type SyncSettings, type SyncWindow } from '../workspace/environment.js';

export interface ControllerOptions {
  db: Database;
  /** The workspace: a clone of the partner's repository (its remote is fetched). */
  root: string;
  /** The environments to sync (default: every one rsync.yaml declares). */
  envs?: string[];
  /** How often each branch is fetched and drift re-checked, in milliseconds (default 30 s). */
  intervalMs?: number;
  /** The remote fetched (default origin; a clone without it syncs its local branches). */
  remote?: string;
  /** Who the controller is in the apply log (default `rsync-controller@<host>`). */
  actor?: string;
  /** The clock the sync windows are checked against (tests). */
  now?: () => Date;
  /** After an automatic apply committed: anchor the apply log (cli/audit.ts). */
  onApplied?: (env: string, commit: string | null) => Promise<void>;
  log?: (line: string) => void;
}

/** What one round did for one environment. */
export interface SyncOutcome {
  env: string;
  branch: string;
  commit: string | null;
  /** applied: this round applied; healed: it applied the deployed commit again to heal drift; synced: nothing to do. */
  result: 'applied' | 'healed' | 'synced' | 'out-of-sync' | 'not-leader' | 'failed';
  reason?: string;
  logEntry?: number;
}

export const controllerActor = (): string => `rsync-controller@${hostname()}`;

/** The branch a ref names (`main`, `refs/heads/main`); a tag or commit is watched as it is. */
function branchOf(ref: string): string {
  return ref.replace(/^refs\/heads\//, '');
}

export class Controller {
  private leader?: pg.Client;
  private leading = new Set<string>();
  private timer?: NodeJS.Timeout;
  private round?: Promise<SyncOutcome[]>;
  private again = false;
  private stopped = false;
  readonly actor: string;

  constructor(private o: ControllerOptions) {
    this.actor = o.actor ?? controllerActor();
  }

  /** Sync at once, then every interval. */
  start(): void {
    this.wake();
    this.timer = setInterval(() => this.wake(), this.o.intervalMs ?? 30_000);
  }

  /**
   * Sync now (a push webhook, the interval); a round already running is followed by one more, so a push that
   * lands during a round is never missed. Every environment is looked at: fetching a branch that did not move costs
   * one round trip.
   */
  wake(): Promise<SyncOutcome[]> {
    if (this.stopped) return Promise.resolve([]);
    if (this.round) {
      this.again = true;
      return this.round;
    }
    const p = this.syncAll()
      .catch((e) => {
        this.o.log?.(`controller: ${redact((e as Error).message)}`);
        return [] as SyncOutcome[];
      })
      .finally(() => {
        this.round = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.wake();
        }
      });
    this.round = p;
    return p;
  }

  /** The environments that watch `branch` (a push's `refs/heads/<branch>`), among those this controller syncs. */
  async watching(branch: string): Promise<string[]> {
    const all = await this.settings();
    return all.filter((s) => s.ref && branchOf(s.ref) === branchOf(branch)).map((s) => s.env);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
    const l = this.leader;
    this.leader = undefined;
    this.leading.clear();
    await l?.end().catch(() => {});
  }

  /** Rounds run one after another, never two at once in one controller. */
  private chain: Promise<unknown> = Promise.resolve();

  /** One round over every environment, after the one in progress (public for tests: `await controller.syncAll()`). */
  syncAll(): Promise<SyncOutcome[]> {
    const p = this.chain.then(() => this.roundOnce());
    this.chain = p.catch(() => {});
    return p;
  }

  private async roundOnce(): Promise<SyncOutcome[]> {
    const envs = await this.settings();
    const fetched = new Set<string>();
    const out: SyncOutcome[] = [];
    for (const s of envs) {
      if (this.stopped) break;
      out.push(await this.syncEnvironment(s, fetched));
    }
    return out;
  }

  private async settings(): Promise<SyncSettings[]> {
    const all = await declaredSyncSettings(this.o.root);
    const wanted = this.o.envs?.length ? new Set(this.o.envs) : null;
    return all.filter((s) => !wanted || wanted.has(s.env));
  }

  /** Hold (or take) the environment's controller claim; false while another controller holds it. */
  private async claim(env: string): Promise<boolean> {
    if (this.leading.has(env)) return true;
    if (!this.leader) {
      const c = new pg.Client({ connectionString: this.o.db.url, application_name: `rsync controller ${this.actor}` });
      const lost = () => {
        if (this.leader !== c) return;
        this.leader = undefined;
        this.leading.clear();
        this.o.log?.('controller: lost its connection to PostgreSQL; it claims its environments again next round');
      };
      c.on('error', lost);
      c.on('end', lost);
      await c.connect();
      this.leader = c;
    }
    const [a, b] = lockKeys(`rsync.controller.${env}`);
    const { rows } = await this.leader.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [a, b]);
    if (rows[0].ok) {
      this.leading.add(env);
      this.o.log?.(`controller: acting for ${env}`);
    }
    return rows[0].ok;
  }

  private async syncEnvironment(s: SyncSettings, fetched: Set<string>): Promise<SyncOutcome> {
    const branch = branchOf(s.ref ?? 'main');
    const base = { env: s.env, branch, commit: null as string | null };
    try {
      if (!(await this.claim(s.env))) return { ...base, result: 'not-leader' };
      const commit = await this.fetchBranch(branch, fetched);
      if (!commit) {
        return { ...base, result: 'failed', reason: `the branch ${branch} has no commit in ${this.o.root}` };
      }
      return await this.syncCommit(s, branch, commit);
    } catch (e) {
      const reason = redact((e as Error).message);
      this.o.log?.(`controller: ${s.env}: ${reason}`);
      return { ...base, result: 'failed', reason };
    }
  }

  /** Fetch `branch` from the remote (once a round) and return its commit; the local branch without a remote. */
  private async fetchBranch(branch: string, fetched: Set<string>): Promise<string | undefined> {
    const remote = this.o.remote ?? 'origin';
    const tracking = `refs/remotes/${remote}/${branch}`;
    if (!fetched.has(branch)) {
      fetched.add(branch);
      const has = await git(this.o.root, ['remote', 'get-url', remote], { allowFail: true });
      if (has.code === 0)
        await git(this.o.root, ['fetch', '--quiet', '--no-tags', remote, `+refs/heads/${branch}:${tracking}`]);
    }
    return (await resolveCommit(this.o.root, tracking)) ?? (await resolveCommit(this.o.root, branch));
  }

  private async syncCommit(s0: SyncSettings, branch: string, commit: string): Promise<SyncOutcome> {
    const db = this.o.db;
    // The settings as the commit says: Git decides what may be applied automatically, too.
    const s = (await declaredSyncSettings(this.o.root, commit)).find((x) => x.env === s0.env) ?? s0;
    const short = commit.slice(0, 12);
    const record = (state: 'synced' | 'out-of-sync', reason?: string, applied?: boolean) =>
      writeSyncState(db.pool, {
        env: s.env,
        branch,
        seenCommit: commit,
        state,
        reason,
        controller: this.actor,
        applied,
      });
    const outcome = await planEnvironment(db, { path: this.o.root, env: s.env, ref: commit, actor: this.actor });
    if (!outcome.ok) {
      const errors = outcome.diagnostics.filter((d) => d.severity === 'error').length;
      const reason = `the workspace has ${errors} error${errors === 1 ? '' : 's'} at ${short} (rsync validate --ref ${short} lists them)`;
      await record('out-of-sync', reason);
      return { env: s.env, branch, commit, result: 'out-of-sync', reason };
    }
    const plan = outcome.plan;
    const before = await readSyncState(db.pool, s.env);
    if (plan.empty) {
      await record('synced', undefined, true);
      if (before?.seenCommit !== commit || before.state !== 'synced')
        this.o.log?.(`controller: ${s.env} synced at ${short}`);
      return { env: s.env, branch, commit, result: 'synced' };
    }
    // Changes to a commit the controller already applied were made outside it (an apply of another ref by hand):
    // putting them back is healing, not a new sync, so only selfHeal does it — a commit is synced once.
    const reapply = plan.changes.length > 0 && before?.appliedCommit === commit;
    const heal = plan.changes.length === 0 || reapply;
    const blocked = this.blocked(s, plan, heal, reapply);
    if (blocked) {
      await record('out-of-sync', blocked);
      this.o.log?.(`controller: ${s.env} out of sync (${short} not applied: ${blocked})`);
      return { env: s.env, branch, commit, result: 'out-of-sync', reason: blocked };
    }
    // The claim may have gone with its connection during the plan: then another controller acts now.
    if (!this.leading.has(s.env)) return { env: s.env, branch, commit, result: 'not-leader' };
    try {
      const r = await applyPlan(db, plan, { actor: this.actor, url: db.url });
      await record('synced', undefined, true);
      await this.o.onApplied?.(s.env, commit).catch(() => {});
      const a = r.applied;
      this.o.log?.(
        heal
          ? `controller: ${s.env}: healed ${r.driftHealed} drifted object(s) at ${short} (apply log entry ${r.logEntry})`
          : `controller: ${s.env}: applied ${short}: ${a.create} created, ${a.update} updated, ${a.delete} deleted (apply log entry ${r.logEntry})`,
      );
      return { env: s.env, branch, commit, result: heal ? 'healed' : 'applied', logEntry: r.logEntry };
    } catch (e) {
      if (!(e instanceof RsyncError)) throw e;
      // Someone else's apply holds the lock, or moved the state since the plan: the next round plans again.
      const reason = `the apply was refused: ${e.message}`;
      await record('out-of-sync', reason);
      return { env: s.env, branch, commit, result: 'out-of-sync', reason };
    }
  }

  /** Why the controller may not apply this plan now (undefined: it may). */
  private blocked(s: SyncSettings, plan: Plan, heal: boolean, reapply = false): string | undefined {
    const what = reapply
      ? `the deployed state differs from ${plan.commit?.slice(0, 12)}, applied before (${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'} made outside the controller)`
      : heal
        ? `${plan.drift.length} live object${plan.drift.length === 1 ? '' : 's'} drifted (${plan.drift
            .slice(0, 3)
            .map((d) => `${d.type} ${d.object} ${d.problem}`)
            .join('; ')}${plan.drift.length > 3 ? '; …' : ''})`
        : `${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}`;
    if (s.requiresApproval)
      return `${what}; ${s.env} requires approval, so the controller never applies it: review the plan and run rsync apply --env ${s.env}`;
    if (heal && !s.selfHeal) return `${what}; selfHeal is off for ${s.env}`;
    if (!heal && !s.autoSync) return `${what}; autoSync is off for ${s.env}`;
    const now = this.o.now?.() ?? new Date();
    if (s.syncWindows.length && !s.syncWindows.some((w) => inWindow(w, now))) {
      const next = nextWindow(s.syncWindows, now);
      return `${what}; outside ${s.env}'s sync windows${next ? ` (the next opens at ${next.toISOString()})` : ''}`;
    }
    return undefined;
  }
}

/** Whether `now` is inside the window: its schedule last opened it no longer than its duration ago. */
export function inWindow(w: SyncWindow, now: Date): boolean {
  const length = parseDuration(w.duration);
  if (length === undefined) return false;
  try {
    // The latest opening at or before now (cron-parser's prev() is strictly before its current date).
    const it = cronParser.parseExpression(w.schedule, { currentDate: new Date(now.getTime() + 1), tz: w.timezone });
    const opened = it.prev().getTime();
    return now.getTime() < opened + length;
  } catch {
    return false;
  }
}

/** When the next of the windows opens after `now`. */
function nextWindow(windows: SyncWindow[], now: Date): Date | undefined {
  let best: number | undefined;
  for (const w of windows) {
    try {
      const t = cronParser.parseExpression(w.schedule, { currentDate: now, tz: w.timezone }).next().getTime();
      if (best === undefined || t < best) best = t;
    } catch {
      /* an invalid window never opens (validate reports it) */
    }
  }
  return best === undefined ? undefined : new Date(best);
}
