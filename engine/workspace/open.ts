/**
 * Opening a workspace the way every command does: find the folder with rsync.yaml from a path the user gave,
 * read it from the working tree or from a Git ref, merge an environment's overlays, and validate.
 */
import path from 'node:path';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { ContentCache } from '../load/content-cache.js';
import { loadFromSource, openSource } from '../load/loader.js';
import { GitRefError } from '../git/index.js';
import { WORKSPACE_FILE } from '../load/source.js';
import { workspaceRoot } from './root.js';
import type { Workspace } from '../model/workspace.js';
import { validateWorkspace, type ValidationResult } from '../validate/validate.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';

export interface OpenOptions {
  /** A path inside the workspace (default: the current folder). */
  path?: string;
  ref?: string;
  env?: string;
  /** Told each step as it starts (VALIDATE_STAGES): the CLI's progress line on a terminal. */
  onStage?: (stage: string) => void;
  /** Told how far the current step is: files read, then customers checked. */
  onCount?: (done: number, total: number, unit: 'files' | 'customers') => void;
}

/** The steps of opening and validating a workspace, as onStage names them. */
export const VALIDATE_STAGES = ['reading the workspace', 'validating'] as const;

export interface OpenedWorkspace {
  ws: Workspace;
  /** The workspace-relative folder the user pointed at, when narrower than the workspace (diagnostics are scoped to it). */
  scope?: string;
}

export async function openWorkspace(opts: OpenOptions = {}): Promise<OpenedWorkspace> {
  const given = path.resolve(opts.path ?? '.');
  const root = await workspaceRoot(opts.path);
  let ws: Workspace;
  opts.onStage?.(VALIDATE_STAGES[0]);
  try {
    const source = await openSource({ root, ref: opts.ref, env: opts.env });
    // Commands keep per-file results in the workspace's .rsync/cache/; validateWorkspace writes them back.
    const onFile = opts.onCount && ((done: number, total: number) => opts.onCount?.(done, total, 'files'));
    ws = await loadFromSource(source, opts.env, undefined, ContentCache.open(root), onFile);
  } catch (e) {
    if (e instanceof GitRefError) throw new RsyncError(e.message, ExitCode.NO_INPUT);
    throw e;
  }
  const rel = path.relative(root, given).split(path.sep).join('/');
  return { ws, scope: rel && !rel.startsWith('..') ? rel : undefined };
}

export interface Validated extends OpenedWorkspace, ValidationResult {
  /** Diagnostics within the scope (all of them when the whole workspace was asked for). */
  shown: Diagnostic[];
}

/** The diagnostics a user who pointed at `scope` sees: those under it, the templates' and rsync.yaml's. */
export function inScope(diagnostics: Diagnostic[], scope: string | undefined): Diagnostic[] {
  if (!scope) return diagnostics;
  return diagnostics.filter(
    (d) =>
      !d.range ||
      d.range.file === scope ||
      d.range.file.startsWith(`${scope}/`) ||
      d.range.file.startsWith('templates/') ||
      d.range.file === WORKSPACE_FILE,
  );
}

export async function openAndValidate(opts: OpenOptions = {}): Promise<Validated> {
  const opened = await openWorkspace(opts);
  opts.onStage?.(VALIDATE_STAGES[1]);
  const onCustomer = opts.onCount && ((done: number, total: number) => opts.onCount?.(done, total, 'customers'));
  const result = validateWorkspace(opened.ws, onCustomer);
  return { ...opened, ...result, shown: inScope(result.diagnostics, opened.scope) };
}
