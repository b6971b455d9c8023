/**
 * `rsync diff`: what a change to the workspace does, as resources. It reads the workspace at two Git refs (or a
 * ref and the working tree), validates both, builds each side's desired state exactly as the planner does
 * (engine/plan/desired.ts), and compares them (compare.ts). No database: it never looks at what is deployed.
 *
 * It owns reading the two sides and resolving `A..B` / `A...B`; it must not touch Git's working tree or index,
 * nor PostgreSQL.
 */
import { existsSync } from 'node:fs';
import { GitRefError, mergeBase, resolveCommit } from '../git/index.js';
import { diagnosticToJSON, sortDiagnostics } from '../diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { loadFromSource, openSource } from '../load/loader.js';
import type { Workspace } from '../model/workspace.js';
import { brandingOf, workspaceRoot } from '../workspace/index.js';
import { validateWorkspace } from '../validate/validate.js';
import { compareSides, sideState } from './compare.js';
import { DIFF_FORMAT, type DiffSide, type WorkspaceDiff } from './types.js';

export { compareSides, sideState, EMPTY_SIDE, type SideState } from './compare.js';
export * from './types.js';

export interface DiffOptions {
  /** A path inside the workspace (default: the current folder). */
  path?: string;
  /** The base: a ref, or `A..B` (base A, head B), or `A...B` (base: where B forked from A, head B). */
  base: string;
  /**
   * The head: a ref; absent means the working tree (uncommitted changes included). Without `path`, a head that is
   * no ref but an existing folder is taken as the path (`rsync diff main integrations/`).
   */
  head?: string;
  /** Merge this environment's overlays into both sides. */
  env?: string;
  /** Limit the diff to these customers. */
  customers?: string[];
}

interface SideSpec {
  /** The ref to read, or undefined for the working tree. */
  ref?: string;
  label: string;
}

async function forkPoint(root: string, from: string, to: string): Promise<string> {
  const base = await mergeBase(root, from, to);
  if (base) return base;
  throw new RsyncError(
    `${from} and ${to} have no commit in common (or one of them is not a Git ref).`,
    ExitCode.NO_INPUT,
    'Check the refs exist (`git rev-parse <ref>`), fetching them first if they are remote.',
  );
}

/** The two sides from the refs as given. */
async function resolveSides(root: string, base: string, head: string | undefined): Promise<[SideSpec, SideSpec]> {
  const range = /^(.*?)(\.\.\.?)(.*)$/.exec(base);
  if (range) {
    if (head !== undefined) {
      throw new RsyncError(
        `Give either a range (${base}) or two refs, not both.`,
        ExitCode.USAGE,
        'E.g. `rsync diff main...HEAD` or `rsync diff main HEAD`.',
      );
    }
    const from = range[1] || 'HEAD';
    const to = range[3] || 'HEAD';
    if (range[2] === '...') {
      const fork = await forkPoint(root, from, to);
      return [
        { ref: fork, label: `${from}...${to} (where ${to} forked from ${from})` },
        { ref: to, label: to },
      ];
    }
    return [
      { ref: from, label: from },
      { ref: to, label: to },
    ];
  }
  return [{ ref: base, label: base }, head === undefined ? { label: 'working tree' } : { ref: head, label: head }];
}

async function openSide(
  root: string,
  spec: SideSpec,
  env: string | undefined,
): Promise<{ ws: Workspace; side: DiffSide }> {
  let ws: Workspace;
  try {
    ws = await loadFromSource(await openSource({ root, ref: spec.ref }), env);
  } catch (e) {
    if (e instanceof GitRefError) throw new RsyncError(e.message, ExitCode.NO_INPUT);
    throw e;
  }
  const { diagnostics } = validateWorkspace(ws);
  const errors = sortDiagnostics(diagnostics.filter((d) => d.severity === 'error'));
  return {
    ws,
    side: {
      label: spec.label,
      ref: spec.ref === undefined ? null : spec.ref,
      commit: ws.source.commit ?? null,
      workingTree: spec.ref === undefined,
      valid: errors.length === 0,
      errors: errors.map(diagnosticToJSON),
      warnings: diagnostics.length - errors.length,
    },
  };
}

export async function diffWorkspace(asked: DiffOptions): Promise<WorkspaceDiff> {
  const opts = { ...asked };
  if (
    opts.head !== undefined &&
    opts.path === undefined &&
    existsSync(opts.head) &&
    !(await resolveCommit('.', opts.head))
  ) {
    opts.path = opts.head;
    opts.head = undefined;
  }
  const root = await workspaceRoot(opts.path);
  const [baseSpec, headSpec] = await resolveSides(root, opts.base, opts.head);
  const [base, head] = await Promise.all([openSide(root, baseSpec, opts.env), openSide(root, headSpec, opts.env)]);
  if (opts.customers?.length) {
    const known = new Set([...base.ws.customers.keys(), ...head.ws.customers.keys()]);
    const unknown = opts.customers.filter((c) => !known.has(c));
    if (unknown.length) {
      throw new RsyncError(
        `Unknown customer${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`,
        ExitCode.USAGE,
        `Customers on either side: ${[...known].sort().join(', ')}.`,
      );
    }
  }
  const scope = opts.customers?.length ? new Set(opts.customers) : null;
  const compared = compareSides(sideState(base.ws), sideState(head.ws), { customers: scope });
  return {
    version: DIFF_FORMAT,
    workspace: root,
    base: base.side,
    head: head.side,
    env: opts.env ?? null,
    customers: scope ? [...scope].sort() : null,
    ...compared,
    branding: brandingOf(head.ws.settings ? head.ws : base.ws),
    empty: compared.changes.length === 0 && compared.settings.length === 0,
  };
}
