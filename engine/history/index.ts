/**
 * `rsync history`: what changed in the workspace and what was applied where, as one timeline, newest first.
 *
 *   Git        the commits that touched rsync.yaml, integrations/ or templates/, each with the resources it
 *              touched: the desired state at the commit against its first parent (engine/diff), built only from
 *              what the commit can affect — rsync.yaml and templates/, plus the folders of the customers whose
 *              files changed, or that use a template that changed (every customer when rsync.yaml changed).
 *   apply log  rsync.apply_log (applies.ts): who applied which commit to which environment, when, with what counts.
 *
 * Filters (customer, address, environment) narrow both; `limit` bounds the timeline, and so the work: commits are
 * diffed one by one, newest first, only until enough of them match. Nothing is cached on disk.
 */
import path from 'node:path';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { loadFromSource, openSource } from '../load/loader.js';
import { declaredEnvironments } from '../load/overlays.js';
import { wanted as isWorkspaceFile, WORKSPACE_FILE, type WorkspaceSource } from '../load/source.js';
import { compareSides, EMPTY_SIDE, sideState, type SideState } from '../diff/compare.js';
import type { Action } from '../plan/types.js';
import { resolveEnvironment, workspaceRoot } from '../workspace/index.js';
import { readApplyLog, type ApplyLogEntry } from './applies.js';
import { GitHistory, type GitCommit } from '../git/index.js';

export interface HistoryOptions {
  /** A path inside the workspace (default: the current folder). */
  path?: string;
  /** Whose history: a branch, tag or commit (default HEAD). */
  ref?: string;
  customer?: string;
  /** `<customer>/<kind>/<name>`, or `<env>/<customer>/<kind>/<name>` (which also sets the environment). */
  address?: string;
  /** Only this environment's applies; commits are diffed with its overlays merged. */
  env?: string;
  /** Events in the timeline (default 30). */
  limit?: number;
  /** The database of the apply log (default: DATABASE_URL, else the embedded one when it exists). */
  url?: string;
  log?: (line: string) => void;
}

export interface TouchedResource {
  address: string;
  customer: string | null;
  kind: string;
  name: string;
  action: Action;
  template: string | null;
}

export interface CommitEvent {
  type: 'commit';
  /** Committer date (ISO 8601, UTC): the timeline's order. */
  at: string;
  commit: string;
  parents: string[];
  author: string;
  email: string;
  authorDate: string;
  subject: string;
  /** Workspace files it changed. */
  files: string[];
  /** Resources whose desired state it changed (narrowed by --customer / --address, like an apply's changes). */
  touched: TouchedResource[];
  /** Changed fields of the Workspace document (rsync.yaml settings), which are not resources. */
  settings: string[];
  /** Why `touched` could not be computed, when it could not. */
  error?: string;
}

/** An apply log entry on the timeline, with what it did in a line and the changes it made. */
export interface ApplyEvent extends ApplyLogEntry {
  type: 'apply';
  /** One line: `2 created, 1 updated, 0 deleted` for an apply. */
  result: string;
  /** The changes it made (`update northwind/flow/x`), narrowed by --customer / --address. */
  changes: string[];
  /** How many changes the apply made in all. */
  changeCount: number;
  /** The commit's subject, when the repository has that commit. */
  subject?: string;
}

export type HistoryEvent = CommitEvent | ApplyEvent;

export interface HistoryResult {
  version: 1;
  workspace: string;
  ref: string;
  commit: string | null;
  filters: { customer: string | null; address: string | null; env: string | null; limit: number };
  events: HistoryEvent[];
  git: { available: boolean; note?: string };
  applyLog: { available: boolean; database?: string; note?: string };
  /** True when older events exist beyond the limit. */
  more: boolean;
}

interface Filter {
  customer?: string;
  /** Without the environment. */
  address?: string;
  /** The customer whose folder decides (null: a partner-wide address; undefined: no narrowing). */
  scope?: string | null;
}

function parseAddress(
  address: string,
  env: string | undefined,
  envs: string[],
): { address: string; env?: string; customer: string | null } {
  const parts = address.split('/');
  if (parts.length === 4) {
    if (env !== undefined && env !== parts[0]) {
      throw new RsyncError(
        `--address ${address} is in environment ${parts[0]}, but --env is ${env}.`,
        ExitCode.USAGE,
        'Drop one of them.',
      );
    }
    if (!envs.includes(parts[0])) {
      throw new RsyncError(
        `Unknown environment "${parts[0]}" in --address ${address}.`,
        ExitCode.USAGE,
        `rsync.yaml declares: ${envs.join(', ') || 'none'}.`,
      );
    }
    return { address: parts.slice(1).join('/'), env: parts[0], customer: parts[1] === 'workspace' ? null : parts[1] };
  }
  if (parts.length === 3 && parts.every(Boolean))
    return { address, env, customer: parts[0] === 'workspace' ? null : parts[0] };
  throw new RsyncError(
    `"${address}" is not an address.`,
    ExitCode.USAGE,
    'An address is <customer>/<kind>/<name> (e.g. northwind/flow/orders-to-erp), optionally with <env>/ in front; partner-wide ones are workspace/<kind>/<name>.',
  );
}

/** The customers a commit can affect, or 'all'. */
/** The workspace at a commit, limited to the files `keep` accepts. */
async function sourceAt(git: GitHistory, sha: string, keep: (rel: string) => boolean): Promise<WorkspaceSource> {
  const files = await git.files(sha, keep);
  return {
    label: `${path.relative(process.cwd(), git.root) || '.'}@${sha.slice(0, 7)}`,
    root: git.root,
    ref: sha,
    commit: sha,
    files: async () => files,
    read: async (rel: string) => files.get(path.posix.normalize(rel)),
  };
}

async function affectedCustomers(git: GitHistory, c: GitCommit, filter: Filter): Promise<Set<string> | 'all'> {
  if (filter.scope !== undefined) return new Set(filter.scope === null ? [] : [filter.scope]);
  if (c.files.includes(WORKSPACE_FILE)) return 'all';
  const customers = new Set<string>();
  const templates = new Set<string>();
  for (const f of c.files) {
    const parts = f.split('/');
    if (parts[0] === 'integrations' && parts.length > 2) customers.add(parts[1]);
    if (parts[0] === 'templates' && parts.length > 2) templates.add(parts[1]);
  }
  if (templates.size) {
    // Customers that use a changed template, on either side: `template: <name>@<version>` in their documents.
    const names = [...templates].map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const uses = new RegExp(`(?<![a-z0-9-])(?:${names.join('|')})@`);
    for (const sha of [c.sha, c.parents[0]].filter(Boolean)) {
      const tree = await git.tree(sha);
      const docs = [...tree].filter(
        ([rel]) => rel.startsWith('integrations/') && rel.split('/').length === 3 && /\.ya?ml$/.test(rel),
      );
      const texts = await git.blobs(docs.map(([, oid]) => oid));
      for (const [rel, oid] of docs) if (uses.test(texts.get(oid) ?? '')) customers.add(rel.split('/')[1]);
    }
  }
  return customers;
}

/** Sides already built in this command, by commit and customers: a commit is usually the parent of the next one. */
type Sides = Map<string, Promise<SideState>>;

function sideAt(
  git: GitHistory,
  sides: Sides,
  sha: string,
  customers: Set<string> | 'all',
  env: string | undefined,
): Promise<SideState> {
  const key = `${sha}|${customers === 'all' ? '*' : [...customers].sort().join(',')}`;
  let side = sides.get(key);
  if (!side) {
    side = buildSide(git, sha, customers, env);
    sides.set(key, side);
    // Walking newest first, only the last few are ever asked for again.
    for (const old of sides.keys()) if (sides.size > 4) sides.delete(old);
  }
  return side;
}

async function buildSide(
  git: GitHistory,
  sha: string,
  customers: Set<string> | 'all',
  env: string | undefined,
): Promise<SideState> {
  const keep = (rel: string) => {
    if (rel === WORKSPACE_FILE || rel.startsWith('templates/')) return true;
    const parts = rel.split('/');
    return parts[0] === 'integrations' && (customers === 'all' || customers.has(parts[1]));
  };
  const ws = await loadFromSource(await sourceAt(git, sha, keep), env);
  return sideState(ws);
}

async function commitEvent(
  git: GitHistory,
  sides: Sides,
  c: GitCommit,
  filter: Filter,
  env: string | undefined,
): Promise<CommitEvent> {
  const event: CommitEvent = {
    type: 'commit',
    at: c.date,
    commit: c.sha,
    parents: c.parents,
    author: c.author,
    email: c.email,
    authorDate: c.authorDate,
    subject: c.subject,
    files: c.files,
    touched: [],
    settings: [],
  };
  try {
    const customers = await affectedCustomers(git, c, filter);
    const [before, after] = await Promise.all([
      c.parents[0] ? sideAt(git, sides, c.parents[0], customers, env) : EMPTY_SIDE,
      sideAt(git, sides, c.sha, customers, env),
    ]);
    const compared = compareSides(before, after, { customers: filter.customer ? new Set([filter.customer]) : null });
    const shown = filter.address ? compared.changes.filter((ch) => ch.address === filter.address) : compared.changes; // with --customer, compareSides already kept that customer's and the partner-wide ones
    event.touched = shown.map((ch) => ({
      address: ch.address,
      customer: ch.customer,
      kind: ch.kind,
      name: ch.name,
      action: ch.action,
      template: ch.action === 'delete' ? ch.template.before : ch.template.after,
    }));
    event.settings = compared.settings.map((f) => f.path);
  } catch (e) {
    event.error = (e as Error).message;
  }
  return event;
}

function commitMatches(e: CommitEvent, filter: Filter): boolean {
  if (filter.address) return e.touched.length > 0;
  if (filter.customer) {
    return (
      e.touched.length > 0 ||
      e.files.some((f) => f.startsWith(`integrations/${filter.customer}/`)) ||
      e.error !== undefined
    );
  }
  return true;
}

function changesOf(e: ApplyLogEntry): string[] {
  return Array.isArray(e.detail.changes) ? e.detail.changes.filter((c): c is string => typeof c === 'string') : [];
}

/** Is this address one the filter asks for? A customer's history includes the partner-wide resources it inherits. */
function wanted(address: string, filter: Filter): boolean {
  if (filter.address) return address === filter.address;
  if (filter.customer) return address.startsWith(`${filter.customer}/`) || address.startsWith('workspace/');
  return true;
}

function applyMatches(e: ApplyLogEntry, filter: Filter): boolean {
  if (!filter.address && !filter.customer) return true;
  return changesOf(e).some((c) => wanted(c.slice(c.indexOf(' ') + 1), filter));
}

function count(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function resultOf(e: ApplyLogEntry): string {
  const d = e.detail;
  const failed = typeof d.error === 'string' ? `failed: ${d.error}` : '';
  const applied = d.applied as { create?: unknown; update?: unknown; delete?: unknown } | undefined;
  if (e.action !== 'apply' || !applied || typeof applied !== 'object') {
    return [typeof d.result === 'string' ? d.result : '', failed].filter(Boolean).join('; ');
  }
  const parts = [
    `${count(applied.create)} created, ${count(applied.update)} updated, ${count(applied.delete)} deleted`,
  ];
  const waiting = Array.isArray(d.waiting) ? d.waiting.length : 0;
  if (waiting) parts.push(`${waiting} removal${waiting === 1 ? '' : 's'} waiting for queued jobs`);
  if (count(d.driftHealed))
    parts.push(`${count(d.driftHealed)} drifted object${count(d.driftHealed) === 1 ? '' : 's'} healed`);
  if (failed) parts.push(failed);
  return parts.join('; ');
}

function applyEvent(e: ApplyLogEntry, filter: Filter): ApplyEvent {
  const all = changesOf(e);
  const changes = all.filter((c) => wanted(c.slice(c.indexOf(' ') + 1), filter));
  return {
    type: 'apply',
    at: e.at,
    n: e.n,
    env: e.env,
    action: e.action,
    actor: e.actor,
    commit: e.commit,
    ref: e.ref,
    result: resultOf(e),
    changes,
    changeCount: typeof e.detail.changeCount === 'number' ? e.detail.changeCount : all.length,
    detail: e.detail,
  };
}

/** Newest first; at the same instant an apply comes before (after, in time) the commits it could have applied. */
function newestFirst(a: HistoryEvent, b: HistoryEvent): number {
  if (a.at !== b.at) return a.at < b.at ? 1 : -1;
  if (a.type !== b.type) return a.type === 'apply' ? -1 : 1;
  return 0;
}

export async function workspaceHistory(opts: HistoryOptions): Promise<HistoryResult> {
  const root = await workspaceRoot(opts.path);
  const limit = opts.limit ?? 30;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RsyncError(`--limit must be a positive whole number, not ${limit}.`, ExitCode.USAGE);
  let env = opts.env;
  if (env !== undefined) env = (await resolveEnvironment(root, env)).env; // refuses an environment rsync.yaml does not declare
  const filter: Filter = {};
  if (opts.address) {
    const envs = opts.address.split('/').length === 4 ? await declared(root) : [];
    const a = parseAddress(opts.address, env, envs);
    env = a.env;
    filter.address = a.address;
    filter.scope = a.customer;
    if (opts.customer && a.customer !== opts.customer) {
      throw new RsyncError(
        `--address ${opts.address} is not a resource of customer ${opts.customer}.`,
        ExitCode.USAGE,
        'Drop one of them.',
      );
    }
  }
  if (opts.customer) {
    filter.customer = opts.customer;
    filter.scope ??= opts.customer;
  }

  const ref = opts.ref ?? 'HEAD';
  const git = await GitHistory.open(root, {
    paths: [WORKSPACE_FILE, 'integrations', 'templates'],
    keep: isWorkspaceFile,
  });
  const commits: CommitEvent[] = [];
  let commitsMore = false;
  let head: string | undefined;
  let gitNote: string | undefined;
  if (!git) gitNote = `${root} is not in a Git repository: only the apply log is shown.`;
  else {
    head = await git.resolve(ref);
    if (!head) {
      if (opts.ref)
        throw new RsyncError(
          `Git ref "${ref}" does not exist.`,
          ExitCode.NO_INPUT,
          'Use a branch, tag or commit that `git rev-parse` knows.',
        );
      gitNote = 'The repository has no commits yet.';
    } else {
      const paths = [WORKSPACE_FILE, 'templates', filter.scope ? `integrations/${filter.scope}` : 'integrations'];
      if (filter.scope === null) paths.pop(); // a partner-wide address: rsync.yaml and templates only
      const sides: Sides = new Map();
      for await (const c of git.commits(head, paths)) {
        if (commits.length === limit) {
          commitsMore = true; // older commits exist (with a filter, they may or may not match: not diffed to find out)
          break;
        }
        const event = await commitEvent(git, sides, c, filter, env);
        if (commitMatches(event, filter)) commits.push(event);
      }
    }
  }

  const log = await readApplyLog(root, {
    url: opts.url,
    env,
    limit,
    match: (e) => applyMatches(e, filter),
    log: opts.log,
  });
  const subjects = new Map<string, string | undefined>(commits.map((c) => [c.commit, c.subject]));
  const applies: ApplyEvent[] = [];
  for (const e of log.entries) {
    const a = applyEvent(e, filter);
    if (a.commit && git) {
      if (!subjects.has(a.commit)) subjects.set(a.commit, await git.subject(a.commit));
      const subject = subjects.get(a.commit);
      if (subject !== undefined) a.subject = subject;
    }
    applies.push(a);
  }
  const merged = [...commits, ...applies].sort(newestFirst);
  return {
    version: 1,
    workspace: root,
    ref,
    commit: head ?? null,
    filters: {
      customer: opts.customer ?? null,
      address: filter.address ? (env ? `${env}/${filter.address}` : filter.address) : null,
      env: env ?? null,
      limit,
    },
    events: merged.slice(0, limit),
    git: { available: Boolean(git && head), ...(gitNote ? { note: gitNote } : {}) },
    applyLog: {
      available: log.available,
      ...(log.database ? { database: log.database } : {}),
      ...(log.note ? { note: log.note } : {}),
    },
    more: merged.length > limit || commitsMore || log.more,
  };
}

async function declared(root: string): Promise<string[]> {
  return declaredEnvironments(await loadFromSource(await openSource({ root })));
}
