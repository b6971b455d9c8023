/**
 * Promotion: bring chosen customers' changes from one environment's Git ref to another's, as one commit on the
 * target branch.
 *
 *   resolve both environments (rsync.yaml) → the source validates and its mapping tests pass → choose the files
 *   (each customer's folder as it is at the source, the template versions it uses, rsync.yaml only when asked)
 *   → conflicts (three-way, per file, against the last promotion of that customer) → the source environment has
 *   applied exactly what is promoted (PostgreSQL) → build the new tree in a private index and write the commit
 *   object → the result validates and passes its tests → the resource diff of the target's desired state
 *   → (the caller confirms) → move the branch with a compare-and-swap.
 *
 * Why plumbing (read-tree into a temporary GIT_INDEX_FILE, commit-tree, update-ref <new> <old>) and not a
 * temporary `git worktree`: nothing is checked out (no files written, fast on big workspaces), it works when the
 * target branch is checked out somewhere (a worktree cannot check a branch out twice), the commit object exists
 * before anyone is asked to confirm (so the diff shown is the diff of exactly that commit) and costs nothing when
 * refused (an unreferenced object), and the branch moves atomically only if it still points where it did when the
 * conflicts were checked. No push, so never a force push: the new commit's parent is the branch's previous tip.
 *
 * Each promotion commit carries trailers (Rsync-Source-Commit, Rsync-Customers, …). They are the record of "the
 * last promotion" of a customer: a plain commit on the target does not move the merge-base of the two branches,
 * so without them the second promotion of a customer would look like a conflict.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { runMappingTests, type CaseResult } from '../mapping/test-runner.js';
import { allResources, type Workspace } from '../model/workspace.js';
import { desiredState } from '../plan/desired.js';
import { makePlan } from '../plan/plan.js';
import type { DeployedRow } from '../state/deployments.js';
import type { Change, PlanSummary } from '../plan/types.js';
import type { Database } from '../state/db.js';
import { readDeployed } from '../state/deployments.js';
import { isObject } from '../util/merge.js';
import { checkSoak, type SoakFinding } from './soak.js';
import { brandingOf, openAndValidate, resolveEnvironment } from '../workspace/index.js';
import {
  authorIdent,
  behindUpstream,
  commitsWithMarker,
  commitTree,
  filesUnder,
  foldersIn,
  localChanges,
  mergeBase,
  moveRef,
  objectAt,
  repositoryOf,
  resolveCommit,
  syncCheckedOut,
  treeWithEdits,
  worktrees,
  type IndexEdit,
  type TreeEntry,
} from '../git/index.js';

export interface PromoteOptions {
  /** A path inside the workspace (default: the current folder). */
  path?: string;
  from: string;
  to: string;
  /** Only these customers (default: every customer). */
  customers?: string[];
  /** Also promote the partner-wide rsync.yaml. */
  includeWorkspace?: boolean;
  /** Who promotes (engine/plan currentActor). */
  actor: string;
  now?: Date;
  /** Promote although the source has not met rsync.yaml's soak (soak.ts): why, kept in the commit and the log. */
  skipSoak?: string;
}

export type FileStatus = 'added' | 'modified' | 'deleted';

export interface PromotedFile {
  /** Relative to the workspace root. */
  path: string;
  status: FileStatus;
  customer: string | null;
  /** name@version when the file belongs to a template version. */
  template: string | null;
}

export interface Conflict {
  /** Relative to the workspace root. */
  path: string;
  customer: string | null;
  template: string | null;
  /** One sentence. */
  why: string;
}

export interface Side {
  env: string;
  ref: string;
  commit: string;
}

export interface Promotion {
  version: 1;
  from: Side;
  /** The target environment, its branch and the branch's tip the promotion builds on. */
  to: Side & { branch: string };
  /** Customers whose files (or template versions) change on the target. */
  customers: string[];
  /** Template versions added to the target, `name@version`. */
  templates: string[];
  /** True when rsync.yaml changes on the target. */
  workspace: boolean;
  files: PromotedFile[];
  /** Chosen customers left alone, and why. */
  skipped: { customer: string; why: string }[];
  /** What else differs and was not promoted (for messages). */
  notes: string[];
  /** How the target environment's desired state changes (as a plan shows it, paired by address). */
  changes: Change[];
  summary: Pick<PlanSummary, 'create' | 'update' | 'delete' | 'unchanged' | 'byCustomer' | 'byTemplate'>;
  /** The commit written (not yet on the branch until completePromotion); null when there is nothing to promote. */
  commit: string | null;
  message: string | null;
  promoter: string;
  /** The Git author of the commit: the promoter's Git identity. */
  author: string | null;
  /** A worktree that has the target branch checked out: its files are updated with the branch. */
  checkedOut: string | null;
  /** The soak rsync.yaml asks of the source (spec.promotion), as found; `skipped`: overridden, and why. */
  soak?: SoakFinding & { skipped?: string };
  /** Where the repository is, and the workspace's folder within it. */
  repository: { top: string; prefix: string };
}

export type RefusalReason =
  | 'source-invalid'
  | 'source-tests-failed'
  | 'conflict'
  | 'not-applied'
  | 'soak'
  | 'result-invalid'
  | 'result-tests-failed'
  | 'checked-out-dirty';

export interface Refusal {
  reason: RefusalReason;
  message: string;
  hint: string;
  exitCode: number;
  diagnostics?: Diagnostic[];
  cases?: CaseResult[];
  conflicts?: Conflict[];
  /** The changes the source environment has not applied yet. */
  pending?: Change[];
  /** The soak not met. */
  soak?: SoakFinding;
  /** Local changes that block updating a checked-out target branch. */
  files?: string[];
}

export type PromoteOutcome =
  | { ok: true; promotion: Promotion }
  | { ok: false; refusal: Refusal; from?: Side; to?: Side & { branch: string } };

const WORKSPACE_FILE = 'rsync.yaml';
const MARKER = 'Rsync-Source-Commit:';

// --- choosing the environments and the branch ----------------------------------------------------------------------

async function targetBranch(
  top: string,
  env: string,
  ref: string,
  sourceRef: string,
): Promise<{ branch: string; commit: string }> {
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
  const commit = await resolveCommit(top, `refs/heads/${branch}`);
  if (commit) return { branch, commit };
  if (ref.startsWith('refs/') || (await resolveCommit(top, ref))) {
    throw new RsyncError(
      `The ref of environment ${env}, "${ref}", is not a local branch; a promotion is a commit on a branch.`,
      ExitCode.NO_INPUT,
      `Bind ${env} to a branch in rsync.yaml (spec.environments.${env}.ref), or create a local branch of that name.`,
    );
  }
  const remote = await resolveCommit(top, `refs/remotes/origin/${branch}`);
  throw new RsyncError(
    `The branch ${branch} (the ref of environment ${env} in rsync.yaml) does not exist in this repository.`,
    ExitCode.NO_INPUT,
    remote
      ? `Create it from the remote one: \`git branch ${branch} origin/${branch}\`, then promote again.`
      : `Create it once from the source: \`git branch ${branch} ${sourceRef}\` (and push it), then promote again.`,
  );
}

// --- the last promotion of each customer ---------------------------------------------------------------------------

interface PromotionRecord {
  commit: string;
  customers: Set<string>;
  workspace: boolean;
}

function trailer(message: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:[ \\t]*(.*)$`, 'mi').exec(message);
  return m ? m[1].trim() : undefined;
}

async function promotionRecords(top: string, targetCommit: string): Promise<PromotionRecord[]> {
  const commits = await commitsWithMarker(top, targetCommit, MARKER);
  const out: PromotionRecord[] = [];
  for (const c of commits) {
    if (!trailer(c.message, 'Rsync-Source-Commit')) continue;
    const customers = (trailer(c.message, 'Rsync-Customers') ?? '').split(/[\s,]+/).filter(Boolean);
    out.push({
      commit: c.hash,
      customers: new Set(customers),
      workspace: trailer(c.message, 'Rsync-Workspace') === 'yes',
    });
  }
  return out;
}

// --- comparing -----------------------------------------------------------------------------------------------------

function same(a: TreeEntry | undefined, b: TreeEntry | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.oid === b.oid && a.mode === b.mode);
}

interface Compared {
  edits: IndexEdit[];
  files: { path: string; status: FileStatus }[];
  conflicts: { path: string; status: FileStatus }[];
}

/**
 * Per file under `p`: the source's version replaces the target's. A file is a conflict when the target's version
 * is neither the source's nor the one of any base (the last promotion, the merge-base): the target changed it on
 * its own since, and promoting would undo that change.
 */
async function compareThreeWay(
  top: string,
  p: string,
  source: string,
  target: string,
  bases: string[],
): Promise<Compared> {
  const [src, tgt, ...baseFiles] = await Promise.all([
    filesUnder(top, source, p),
    filesUnder(top, target, p),
    ...bases.map((b) => filesUnder(top, b, p)),
  ]);
  const out: Compared = { edits: [], files: [], conflicts: [] };
  for (const file of [...new Set([...src.keys(), ...tgt.keys()])].sort()) {
    const s = src.get(file);
    const t = tgt.get(file);
    if (same(s, t)) continue;
    const status: FileStatus = !t ? 'added' : !s ? 'deleted' : 'modified';
    out.edits.push({ path: file, entry: s });
    out.files.push({ path: file, status });
    if (!baseFiles.some((b) => same(b.get(file), t))) out.conflicts.push({ path: file, status });
  }
  return out;
}

// --- the commit message --------------------------------------------------------------------------------------------

const LETTER: Record<FileStatus, string> = { added: 'A', modified: 'M', deleted: 'D' };

function commitMessage(
  p: Pick<Promotion, 'from' | 'to' | 'customers' | 'templates' | 'workspace' | 'files'> & {
    promoter: string;
    skipSoak?: string;
  },
): string {
  const what = p.customers.length
    ? p.customers.length <= 3
      ? p.customers.join(', ')
      : `${p.customers.length} customers`
    : p.templates.length
      ? `templates ${p.templates.join(', ')}`
      : WORKSPACE_FILE;
  const lines: string[] = [];
  lines.push(`Promote ${what} from ${p.from.env} to ${p.to.env}`);
  lines.push('');
  lines.push(`From ${p.from.env} (${p.from.ref} at ${p.from.commit}) to ${p.to.env} (branch ${p.to.branch}),`);
  lines.push(`promoted by ${p.promoter} with \`rsync promote\`.`);
  lines.push('');
  if (p.customers.length) lines.push(`Customers: ${p.customers.join(', ')}`);
  if (p.templates.length) lines.push(`Template versions added: ${p.templates.join(', ')}`);
  if (p.workspace) lines.push(`Partner-wide: ${WORKSPACE_FILE}`);
  lines.push('');
  lines.push('Files:');
  const own = p.files.filter((f) => !f.template);
  for (const f of own.slice(0, 100)) lines.push(`  ${LETTER[f.status]} ${f.path}`);
  if (own.length > 100) lines.push(`  … and ${own.length - 100} more`);
  for (const t of p.templates) {
    const n = p.files.filter((f) => f.template === t).length;
    const first = p.files.find((f) => f.template === t);
    const folder = first ? first.path.split('/').slice(0, 3).join('/') : t;
    lines.push(`  A ${folder}/ (template ${t}, ${n} file${n === 1 ? '' : 's'})`);
  }
  lines.push('');
  lines.push(`Rsync-Promotion: ${p.from.env} -> ${p.to.env}`);
  lines.push(`Rsync-Source-Env: ${p.from.env}`);
  lines.push(`Rsync-Source-Ref: ${p.from.ref}`);
  lines.push(`${MARKER} ${p.from.commit}`);
  lines.push(`Rsync-Customers: ${p.customers.join(', ')}`);
  if (p.templates.length) lines.push(`Rsync-Templates: ${p.templates.join(', ')}`);
  lines.push(`Rsync-Workspace: ${p.workspace ? 'yes' : 'no'}`);
  lines.push(`Promoted-By: ${p.promoter}`);
  if (p.skipSoak) lines.push(`Rsync-Skip-Soak: ${p.skipSoak.replace(/\s+/g, ' ').trim()}`);
  return lines.join('\n') + '\n';
}

// --- checks on a workspace at a commit -----------------------------------------------------------------------------

interface Checked {
  ws: Workspace;
  errors: Diagnostic[];
  failed: CaseResult[];
}

/** Validate the workspace at a commit, and run its mapping tests (only those in `testFiles` when given; none for an empty set). */
async function check(root: string, commit: string, env: string, testFiles?: Set<string>): Promise<Checked> {
  const v = await openAndValidate({ path: root, ref: commit, env });
  const errors = v.diagnostics.filter((d) => d.severity === 'error');
  if (testFiles && testFiles.size === 0) return { ws: v.ws, errors, failed: [] };
  const report = await runMappingTests(v.ws, v.mappings, testFiles ? { files: testFiles } : {});
  return { ws: v.ws, errors, failed: report.cases.filter((c) => c.status !== 'passed') };
}

const diagKey = (d: Diagnostic) => `${d.code}|${d.range?.file ?? ''}|${d.summary}`;

// --- the promotion -------------------------------------------------------------------------------------------------

/**
 * Everything up to (not including) moving the branch: the checks, the files, the conflicts, the commit object
 * and the diff. A refusal writes nothing; a promotion with `commit: null` has nothing to promote.
 */
export async function preparePromotion(db: Pick<Database, 'pool'>, opts: PromoteOptions): Promise<PromoteOutcome> {
  if (opts.from === opts.to) {
    throw new RsyncError(
      `Promoting ${opts.from} to itself does nothing.`,
      ExitCode.USAGE,
      'Give two environments: --from staging --to production.',
    );
  }
  const source = await resolveEnvironment(opts.path, opts.from);
  const target = await resolveEnvironment(opts.path, opts.to);
  const root = source.root;
  for (const e of [source, target]) {
    if (!e.ref) {
      throw new RsyncError(
        `Environment ${e.env} is bound to no Git ref in rsync.yaml.`,
        ExitCode.NO_INPUT,
        `Set spec.environments.${e.env}.ref (a branch) in rsync.yaml.`,
      );
    }
  }
  const repo = await repositoryOf(root);
  if (!repo) {
    throw new RsyncError(
      `${root} is not in a Git repository; promotion moves commits between branches.`,
      ExitCode.NO_INPUT,
      'Run it in a clone of the workspace repository.',
    );
  }
  const { top, prefix } = repo;
  const g = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);
  const w = (full: string) => (prefix ? full.slice(prefix.length + 1) : full);

  const sourceCommit = await resolveCommit(top, source.ref!);
  if (!sourceCommit) {
    throw new RsyncError(
      `The ref of environment ${source.env}, "${source.ref}", does not exist in this repository.`,
      ExitCode.NO_INPUT,
      `Fetch it, or fix spec.environments.${source.env}.ref in rsync.yaml.`,
    );
  }
  const { branch, commit: targetCommit } = await targetBranch(top, target.env, target.ref!, source.ref!);
  const from: Side = { env: source.env, ref: source.ref!, commit: sourceCommit };
  const to = { env: target.env, ref: target.ref!, commit: targetCommit, branch };
  const refuse = (refusal: Refusal): PromoteOutcome => ({ ok: false, refusal, from, to });

  const behind = await behindUpstream(top, branch);
  if (behind && behind.behind > 0) {
    throw new RsyncError(
      `The branch ${branch} is ${behind.behind} commit${behind.behind === 1 ? '' : 's'} behind ${behind.upstream}; a promotion onto it could not be pushed and would miss changes made there.`,
      ExitCode.REFUSED,
      `Bring it up to date first (\`git fetch\`, then fast-forward ${branch} to ${behind.upstream}), and promote again.`,
    );
  }
  const author = await authorIdent(top);
  if (!author) {
    throw new RsyncError(
      'Git does not know who you are: the promotion commit needs an author.',
      ExitCode.FAILED,
      'Set your identity: `git config user.name "Your Name"` and `git config user.email you@example.com`.',
    );
  }

  // 1. The source validates and its mapping tests pass.
  const src = await check(root, sourceCommit, source.env);
  if (src.errors.length) {
    return refuse({
      reason: 'source-invalid',
      message: `The workspace of ${source.env} (${source.ref} at ${sourceCommit.slice(0, 7)}) has ${src.errors.length} error${src.errors.length === 1 ? '' : 's'}; nothing was promoted.`,
      hint: `Fix them on ${source.ref} (rsync validate --ref ${source.ref}), apply ${source.env}, then promote again.`,
      exitCode: ExitCode.FAILED,
      diagnostics: src.errors,
    });
  }
  if (src.failed.length) {
    return refuse({
      reason: 'source-tests-failed',
      message: `${src.failed.length} mapping test case${src.failed.length === 1 ? '' : 's'} of ${source.env} (${source.ref} at ${sourceCommit.slice(0, 7)}) fail${src.failed.length === 1 ? 's' : ''}; nothing was promoted.`,
      hint: `Fix them on ${source.ref} (rsync test --ref ${source.ref}), apply ${source.env}, then promote again.`,
      exitCode: ExitCode.FAILED,
      cases: src.failed,
    });
  }

  // 2. Which customers.
  const integrations = g('integrations');
  const [atSource, atTarget] = await Promise.all([
    foldersIn(top, sourceCommit, integrations),
    foldersIn(top, targetCommit, integrations),
  ]);
  const records = await promotionRecords(top, targetCommit);
  const common = await mergeBase(top, sourceCommit, targetCommit);
  const basesOf = (customer: string | null): string[] => {
    const last = records.find((r) => (customer === null ? r.workspace : r.customers.has(customer)));
    return [last?.commit, common].filter((c): c is string => Boolean(c));
  };
  const skipped: { customer: string; why: string }[] = [];
  let chosen: string[];
  if (opts.customers?.length) {
    chosen = [...new Set(opts.customers)].sort();
    const unknown = chosen.filter((c) => !atSource.includes(c) && !atTarget.includes(c));
    if (unknown.length) {
      throw new RsyncError(
        `Unknown customer${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (no folder integrations/<customer>/ at ${source.ref} or ${branch}).`,
        ExitCode.USAGE,
        `Customers at ${source.ref}: ${atSource.join(', ') || '(none)'}.`,
      );
    }
  } else {
    chosen = [...atSource];
    // A customer only on the target is promoted (as a removal) when it was there at a base: the source removed it.
    for (const c of atTarget) {
      if (atSource.includes(c)) continue;
      const wasThere = await Promise.all(basesOf(c).map((b) => objectAt(top, b, `${integrations}/${c}`)));
      if (wasThere.some(Boolean)) chosen.push(c);
      else skipped.push({ customer: c, why: `only on ${branch} (never on ${source.ref}); left alone` });
    }
    chosen.sort();
  }

  // 3. Files and conflicts, per customer; then the template versions they use; then rsync.yaml when asked.
  const edits: IndexEdit[] = [];
  const files: PromotedFile[] = [];
  const conflicts: Conflict[] = [];
  const promotedCustomers = new Set<string>();
  for (const c of chosen) {
    const cmp = await compareThreeWay(top, `${integrations}/${c}`, sourceCommit, targetCommit, basesOf(c));
    if (cmp.files.length) promotedCustomers.add(c);
    edits.push(...cmp.edits);
    files.push(...cmp.files.map((f) => ({ path: w(f.path), status: f.status, customer: c, template: null })));
    for (const f of cmp.conflicts) {
      conflicts.push({
        path: w(f.path),
        customer: c,
        template: null,
        why:
          f.status === 'added'
            ? `${branch} removed it since the last promotion of ${c}`
            : f.status === 'deleted'
              ? `${branch} added it since the last promotion of ${c}, and ${source.ref} does not have it`
              : `${branch} changed it since the last promotion of ${c}, differently from ${source.ref}`,
      });
    }
  }

  const templates: string[] = [];
  const templateUsers = new Map<string, Set<string>>();
  for (const c of chosen) {
    const uses = src.ws.customers.get(c)?.resource?.spec.uses;
    if (!Array.isArray(uses)) continue;
    for (const u of uses) {
      if (!isObject(u) || typeof u.template !== 'string') continue;
      const set = templateUsers.get(u.template) ?? new Set();
      set.add(c);
      templateUsers.set(u.template, set);
    }
  }
  for (const [key, users] of [...templateUsers].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const t = src.ws.templates.get(key);
    if (!t) continue; // validation reported it
    const folder = g(t.origin.doc.file.split('/').slice(0, 3).join('/'));
    const [s, tg] = await Promise.all([objectAt(top, sourceCommit, folder), objectAt(top, targetCommit, folder)]);
    if (!s || s === tg) continue;
    const srcFiles = await filesUnder(top, sourceCommit, folder);
    if (!tg) {
      templates.push(key);
      for (const c of users) promotedCustomers.add(c);
      for (const [file, entry] of srcFiles) {
        edits.push({ path: file, entry });
        files.push({ path: w(file), status: 'added', customer: null, template: key });
      }
      continue;
    }
    const tgtFiles = await filesUnder(top, targetCommit, folder);
    for (const file of [...new Set([...srcFiles.keys(), ...tgtFiles.keys()])].sort()) {
      if (same(srcFiles.get(file), tgtFiles.get(file))) continue;
      conflicts.push({
        path: w(file),
        customer: null,
        template: key,
        why: `template version ${key} already exists on ${branch} with different content (a template version never changes once promoted; give the change a new version)`,
      });
    }
  }

  let workspace = false;
  const notes: string[] = [];
  if (
    !opts.includeWorkspace &&
    (await objectAt(top, sourceCommit, g(WORKSPACE_FILE))) !== (await objectAt(top, targetCommit, g(WORKSPACE_FILE)))
  ) {
    notes.push(
      `${WORKSPACE_FILE} differs between ${source.ref} and ${branch}; it is not promoted without --include-workspace`,
    );
  }
  if (opts.includeWorkspace) {
    const cmp = await compareThreeWay(top, g(WORKSPACE_FILE), sourceCommit, targetCommit, basesOf(null));
    workspace = cmp.files.length > 0;
    edits.push(...cmp.edits);
    files.push(...cmp.files.map((f) => ({ path: w(f.path), status: f.status, customer: null, template: null })));
    for (const f of cmp.conflicts) {
      conflicts.push({
        path: w(f.path),
        customer: null,
        template: null,
        why: `${branch} changed it since it was last promoted, differently from ${source.ref}`,
      });
    }
  }

  if (conflicts.length) {
    return refuse({
      reason: 'conflict',
      message: `Conflict: ${conflicts.length} file${conflicts.length === 1 ? '' : 's'} changed on ${branch} since the last promotion would be overwritten; nothing was promoted.`,
      hint: `Bring ${branch}'s change to ${source.ref} (e.g. \`git cherry-pick\` it), or undo it on ${branch}; apply ${source.env}, then promote again.`,
      exitCode: ExitCode.FAILED,
      conflicts,
    });
  }

  const customers = [...promotedCustomers].sort();
  const nothing: Promotion = {
    version: 1,
    from,
    to,
    customers: [],
    templates: [],
    workspace: false,
    files: [],
    skipped,
    notes,
    changes: [],
    summary: { create: 0, update: 0, delete: 0, unchanged: 0, byCustomer: {}, byTemplate: {} },
    commit: null,
    message: null,
    promoter: opts.actor,
    author,
    checkedOut: null,
    repository: repo,
  };
  if (!edits.length) return { ok: true, promotion: nothing };

  // 4. The source environment has applied exactly what is promoted.
  const deployed = await readDeployed(db.pool, source.env);
  const sourcePlan = makePlan({
    env: source.env,
    ref: source.ref!,
    commit: sourceCommit,
    createdBy: opts.actor,
    now: opts.now ?? new Date(),
    desired: desiredState(src.ws),
    deployed,
    deployedBlobs: new Map(),
    live: null,
    customers,
    branding: brandingOf(src.ws),
  });
  const pending = sourcePlan.changes
    .filter((c) => (c.customer ? promotedCustomers.has(c.customer) : workspace))
    .map(({ after: _after, ...rest }) => rest);
  if (pending.length) {
    const who = [...new Set(pending.map((c) => c.customer).filter((c): c is string => Boolean(c)))];
    return refuse({
      reason: 'not-applied',
      message: `${source.env} has not applied what would be promoted: ${pending.length} resource${pending.length === 1 ? '' : 's'} at ${source.ref} (${sourceCommit.slice(0, 7)}) differ${pending.length === 1 ? 's' : ''} from what is deployed there; nothing was promoted.`,
      hint: `Apply it first — \`rsync apply --env ${source.env}${who.map((c) => ` --customer ${c}`).join('')}\` — check it works there, then promote again.`,
      exitCode: ExitCode.REFUSED,
      pending,
    });
  }

  // 4b. The source has run it for the workspace's soak time, with few enough dead letters (soak.ts).
  const soakSettings = src.ws.settings?.spec.promotion;
  const found = await checkSoak(
    db.pool,
    source.env,
    { customers, workspace },
    isObject(soakSettings) ? soakSettings : undefined,
    opts.now ?? new Date(),
  );
  if (found?.problems.length && !opts.skipSoak) {
    return refuse({
      reason: 'soak',
      message: `${source.env} has not soaked what would be promoted: ${found.problems.join('; ')}; nothing was promoted.`,
      hint: `Wait, and look at ${source.env}'s runs and dead letters (rsync runs --env ${source.env}, rsync dlq list --env ${source.env}); to promote anyway, give --skip-soak "<why>" (recorded in the commit and the apply log).`,
      exitCode: ExitCode.REFUSED,
      soak: found,
    });
  }
  const soak = found
    ? { ...found, ...(found.problems.length && opts.skipSoak ? { skipped: opts.skipSoak } : {}) }
    : undefined;

  // 5. The new tree and commit object (nothing points at it yet).
  const tree = await treeWithEdits(top, targetCommit, edits);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const message = commitMessage({
    from,
    to,
    customers,
    templates,
    workspace,
    files,
    promoter: opts.actor,
    skipSoak: soak?.skipped,
  });
  const commit = await commitTree(top, tree, targetCommit, message);

  // 6. The result validates (no error the target did not have before), and the mapping tests in the promoted
  //    folders pass there too: they passed at the source, so a failure means what they read outside those folders
  //    (a fixture) differs on the target.
  const promotedFolders = promotedPaths('', files);
  const testsIn = (ws: Workspace) =>
    new Set(
      allResources(ws)
        .filter(
          (r) =>
            r.kind === 'MappingTest' &&
            promotedFolders.some((f) => r.origin.doc.file === f || r.origin.doc.file.startsWith(`${f}/`)),
        )
        .map((r) => r.origin.doc.file),
    );
  const promotedTests = testsIn(src.ws);
  const [before, after] = await Promise.all([
    check(root, targetCommit, target.env, new Set()),
    check(root, commit, target.env, promotedTests),
  ]);
  const oldErrors = new Set(before.errors.map(diagKey));
  const newErrors = after.errors.filter((d) => !oldErrors.has(diagKey(d)));
  if (newErrors.length) {
    return refuse({
      reason: 'result-invalid',
      message: `After the promotion ${target.env} (${branch}) would have ${newErrors.length} new error${newErrors.length === 1 ? '' : 's'}; nothing was promoted.`,
      hint: `They come from what differs between the branches outside the promoted folders (partner-wide policies and SLAs in rsync.yaml: --include-workspace; other customers); bring that to ${branch} first.`,
      exitCode: ExitCode.FAILED,
      diagnostics: newErrors,
    });
  }
  if (after.failed.length) {
    return refuse({
      reason: 'result-tests-failed',
      message: `After the promotion ${after.failed.length} mapping test case${after.failed.length === 1 ? '' : 's'} of ${target.env} would fail; nothing was promoted.`,
      hint: `A fixture the tests read (test/fixtures/…) may be missing or different on ${branch}: only customer folders, template versions and rsync.yaml are promoted; commit the fixture there first.`,
      exitCode: ExitCode.FAILED,
      cases: after.failed,
    });
  }

  // 7. The diff of the target's desired state, paired by address, as a plan shows it.
  const was = desiredState(before.ws);
  const rows: DeployedRow[] = was.resources.map((r) => ({
    address: r.address,
    customer: r.customer,
    kind: r.kind,
    name: r.name,
    spec: r.spec,
    revision: 0,
    hash: r.hash,
    template: r.template,
  }));
  const diff = makePlan({
    env: target.env,
    ref: branch,
    commit,
    createdBy: opts.actor,
    now: opts.now ?? new Date(),
    desired: desiredState(after.ws),
    deployed: rows,
    deployedBlobs: was.blobs,
    live: null,
    branding: brandingOf(after.ws),
  });
  const changes = diff.changes.map(
    (c): Change => ({
      ...c,
      fromRevision: null,
      reason:
        c.action === 'create'
          ? `new in ${target.env}${c.template ? ` (from template ${c.template})` : ''}`
          : c.action === 'delete'
            ? `no longer declared at ${source.ref}`
            : c.reason,
    }),
  );

  // 8. A worktree with the target branch checked out is updated with it, if that loses nothing.
  const checkedOut = await checkedOutAt(top, branch);
  if (checkedOut) {
    const dirty = await localChanges(checkedOut, promotedPaths(prefix, files));
    if (dirty.length) {
      return refuse({
        reason: 'checked-out-dirty',
        message: `${branch} is checked out in ${checkedOut}, with local changes in what the promotion changes: ${dirty.slice(0, 10).join(', ')}${dirty.length > 10 ? ` and ${dirty.length - 10} more` : ''}; nothing was promoted.`,
        hint: `Commit or stash them there (git stash), or check out another branch in ${checkedOut}; then promote again.`,
        exitCode: ExitCode.REFUSED,
        files: dirty,
      });
    }
  }

  const { create, update, delete: del, unchanged, byCustomer, byTemplate } = diff.summary;
  return {
    ok: true,
    promotion: {
      ...nothing,
      customers,
      templates,
      workspace,
      files,
      changes,
      summary: { create, update, delete: del, unchanged, byCustomer, byTemplate },
      commit,
      message,
      checkedOut,
      ...(soak ? { soak } : {}),
    },
  };
}

async function checkedOutAt(top: string, branch: string): Promise<string | null> {
  const wt = (await worktrees(top)).find((t) => !t.bare && t.branch === `refs/heads/${branch}`);
  return wt ? wt.path : null;
}

/** The folders and files a promotion writes, from the repository top. */
function promotedPaths(prefix: string, files: PromotedFile[]): string[] {
  const g = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);
  const out = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    out.add(g(f.customer ? parts.slice(0, 2).join('/') : f.template ? parts.slice(0, 3).join('/') : f.path));
  }
  return [...out].sort();
}

export interface Promoted {
  branch: string;
  before: string;
  after: string;
  /** The worktree whose files were updated with the branch, if any. */
  checkedOut: string | null;
}

/**
 * Move the target branch to the promotion's commit, only if it still points where it did when the conflicts
 * were checked. A worktree that has the branch checked out gets the promoted files too (or nothing moves).
 */
export async function completePromotion(p: Promotion): Promise<Promoted> {
  if (!p.commit) throw new RsyncError('There is nothing to promote.', ExitCode.FAILED);
  const { top, prefix } = p.repository;
  const ref = `refs/heads/${p.to.branch}`;
  const checkedOut = await checkedOutAt(top, p.to.branch);
  if (checkedOut) {
    const dirty = await localChanges(checkedOut, promotedPaths(prefix, p.files));
    if (dirty.length) {
      throw new RsyncError(
        `${p.to.branch} is checked out in ${checkedOut}, with local changes in what the promotion changes: ${dirty.slice(0, 10).join(', ')}; nothing was promoted.`,
        ExitCode.REFUSED,
        `Commit or stash them there, or check out another branch in ${checkedOut}; then promote again.`,
      );
    }
  }
  const reason = `rsync promote ${p.from.env} -> ${p.to.env}: ${p.customers.join(', ') || p.templates.join(', ') || WORKSPACE_FILE}`;
  if (!(await moveRef(top, ref, p.commit, p.to.commit, reason))) {
    const now = await resolveCommit(top, ref);
    throw new RsyncError(
      `The branch ${p.to.branch} moved while promoting (it was at ${p.to.commit.slice(0, 7)}, it is at ${now?.slice(0, 7) ?? 'nothing'} now); nothing was promoted.`,
      ExitCode.REFUSED,
      'Promote again: the conflicts are checked against the new tip.',
    );
  }
  if (checkedOut) {
    const r = await syncCheckedOut(checkedOut, p.to.commit, p.commit);
    if (r.code !== 0) {
      await moveRef(top, ref, p.to.commit, p.commit, `rsync promote: undone, ${checkedOut} could not be updated`);
      throw new RsyncError(
        `${p.to.branch} is checked out in ${checkedOut} and its files could not be updated (${r.stderr.trim().split('\n')[0]}); nothing was promoted.`,
        ExitCode.REFUSED,
        `Check out another branch in ${checkedOut} (or clean it: git status), then promote again.`,
      );
    }
  }
  return { branch: p.to.branch, before: p.to.commit, after: p.commit, checkedOut };
}
