/**
 * Where a workspace's files come from: a folder on disk, or a Git ref (read by engine/git/, which never touches
 * the working tree).
 */
import { readdirSync, type Dirent } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { RefTree } from '../git/tree.js';
import { readTextFile } from '../util/files.js';

/** Files of a workspace, by path relative to its root with forward slashes. */
export interface WorkspaceSource {
  /** What to call it in messages: a folder, or `<folder>@<ref>`. */
  readonly label: string;
  /** Absolute folder of the workspace (for a Git ref: the repository's folder plus the sub-folder). */
  readonly root: string;
  readonly ref?: string;
  /** The commit the ref resolved to. */
  readonly commit?: string;
  /** Every file under rsync.yaml, integrations/ and templates/ that the loader reads (YAML and JSONata). */
  files(): Promise<Map<string, string>>;
  /** Any other file of the workspace (fixtures of mapping tests), or undefined when it does not exist. */
  read(rel: string): Promise<string | undefined>;
}

export const WORKSPACE_FILE = 'rsync.yaml';
/** Rollouts may also have a file of their own at the workspace's root. */
export const ROLLOUTS_FILE = 'rollouts.yaml';
const LOADED = /\.(ya?ml|jsonata)$/;
const SKIP_DIRS = new Set(['node_modules', '.git', '.rsync', '.build']);
const TOP = ['integrations', 'templates'];

/** A file the loader reads: rsync.yaml, and YAML and JSONata under integrations/ and templates/. */
export function wanted(rel: string): boolean {
  if (rel === WORKSPACE_FILE || rel === ROLLOUTS_FILE) return true;
  const top = rel.split('/')[0];
  return TOP.includes(top) && LOADED.test(rel);
}

/** A workspace in a folder. */
export class FolderSource implements WorkspaceSource {
  readonly label: string;
  constructor(readonly root: string) {
    this.label = path.relative(process.cwd(), root) || '.';
  }

  async files(): Promise<Map<string, string>> {
    const rels: string[] = [];
    const top = path.join(this.root, WORKSPACE_FILE);
    if (await exists(top)) rels.push(WORKSPACE_FILE);
    if (await exists(path.join(this.root, ROLLOUTS_FILE))) rels.push(ROLLOUTS_FILE);
    for (const dir of TOP) walk(this.root, dir, rels);
    rels.sort();
    const out = new Map<string, string>();
    // Synchronous reads: each small file is one system call, where an async read costs four trips through
    // libuv's thread pool (measured: 0.26 s against 2.1 s of CPU for 20,000 files). Bounded (util/files.ts):
    // rsync.yaml as a folder, or a link to /dev/zero, is refused with its path instead of failing or never ending.
    for (const r of rels) {
      const text = this.readBounded(r);
      if (text !== undefined) out.set(r, text);
    }
    return out;
  }

  async read(rel: string): Promise<string | undefined> {
    const abs = path.resolve(this.root, rel);
    if (!inside(this.root, abs)) return undefined;
    return this.readBounded(path.relative(this.root, abs));
  }

  /** A file's text, undefined when it does not exist; an RsyncError (exit 66) naming it when it cannot be read. */
  private readBounded(rel: string): string | undefined {
    const abs = path.join(this.root, rel);
    const shown = path.relative(process.cwd(), abs);
    return readTextFile(abs, { label: shown && !shown.startsWith('..') ? shown : abs });
  }
}

/**
 * Synchronous, like the reads below: at 1,000 customers (about 3,000 folders) an async walk spent three times the
 * CPU of this one in promises and libuv's thread pool.
 */
function walk(root: string, rel: string, out: string[]): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const child = `${rel}/${e.name}`;
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) walk(root, child, out);
    } else if (e.isFile() && wanted(child)) {
      out.push(child);
    }
  }
}

/** Does a file or folder exist at `p`? */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function inside(root: string, abs: string): boolean {
  const rel = path.relative(root, abs);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A workspace as it is at a Git ref (branch, tag, commit). */
export class GitRefSource implements WorkspaceSource {
  readonly label: string;
  readonly ref: string;
  readonly commit: string;
  private cache?: Map<string, string>;

  private constructor(
    readonly root: string,
    private readonly tree: RefTree,
  ) {
    this.ref = tree.ref;
    this.commit = tree.commit;
    this.label = `${path.relative(process.cwd(), root) || '.'}@${tree.ref}`;
  }

  /** Resolve `ref` in the repository that holds `folder`; the workspace is that folder within the ref's tree. */
  static async open(folder: string, ref: string): Promise<GitRefSource> {
    return new GitRefSource(folder, await RefTree.open(folder, ref));
  }

  async files(): Promise<Map<string, string>> {
    this.cache ??= await this.tree.files([WORKSPACE_FILE, ROLLOUTS_FILE, ...TOP], wanted);
    return this.cache;
  }

  read(rel: string): Promise<string | undefined> {
    return this.tree.read(rel);
  }
}
