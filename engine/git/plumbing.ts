/**
 * The Git plumbing promotion needs, and nothing more: reading trees by path, building a tree in a private index
 * file, writing a commit object, and moving one branch with a compare-and-swap. None of it reads or writes the
 * user's index or working tree (the one exception, a worktree that has the target branch checked out, is
 * handled by the caller with `syncCheckedOut`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { git, type GitResult } from './run.js';
import os from 'node:os';
import path from 'node:path';

/** The object id at `commit:path` (a tree or a blob), or undefined when the path does not exist there. */
export async function objectAt(top: string, commit: string, p: string): Promise<string | undefined> {
  const r = await git(top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}:${p}`], {
    allowFail: true,
  });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
}

/** Every file under `p` (a folder or a file) at `commit`, by full path from the repository top. */
export async function filesUnder(top: string, commit: string, p: string): Promise<Map<string, TreeEntry>> {
  const r = await git(top, ['ls-tree', '-r', '-z', '--full-tree', commit, '--', p]);
  const out = new Map<string, TreeEntry>();
  for (const row of r.stdout.split('\0')) {
    if (!row) continue;
    const tab = row.indexOf('\t');
    const [mode, type, oid] = row.slice(0, tab).split(' ');
    const file = row.slice(tab + 1);
    if (file === p || file.startsWith(`${p}/`)) out.set(file, { mode, type, oid });
  }
  return out;
}

/** The names of the sub-folders of `p` at `commit`. */
export async function foldersIn(top: string, commit: string, p: string): Promise<string[]> {
  const dir = p ? `${p}/` : '';
  const r = await git(top, ['ls-tree', '-z', '--full-tree', commit, '--', dir || '.']);
  const out: string[] = [];
  for (const row of r.stdout.split('\0')) {
    if (!row) continue;
    const tab = row.indexOf('\t');
    const type = row.slice(0, tab).split(' ')[1];
    const full = row.slice(tab + 1);
    if (type === 'tree' && full.startsWith(dir)) out.push(full.slice(dir.length));
  }
  return out.sort();
}

/** One edit of the index: set `path` to a blob (or other entry), or remove it (entry undefined). */
export interface IndexEdit {
  path: string;
  entry?: TreeEntry;
}

const ZERO = '0'.repeat(40);

/**
 * A tree: `base`'s tree with `edits` applied, built in a private temporary index file (GIT_INDEX_FILE), so the
 * user's index is never read or written.
 */
export async function treeWithEdits(top: string, base: string, edits: IndexEdit[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsync-promote-'));
  const env = { GIT_INDEX_FILE: path.join(dir, 'index') };
  try {
    await git(top, ['read-tree', base], { env });
    // Removals first, so that a file replaced by a folder of the same name (or the other way round) is free.
    const removals = edits.filter((e) => !e.entry).map((e) => `0 ${ZERO}\t${e.path}\0`);
    const additions = edits.filter((e) => e.entry).map((e) => `${e.entry!.mode} ${e.entry!.oid}\t${e.path}\0`);
    if (removals.length) await git(top, ['update-index', '-z', '--index-info'], { env, input: removals.join('') });
    if (additions.length) await git(top, ['update-index', '-z', '--index-info'], { env, input: additions.join('') });
    return (await git(top, ['write-tree'], { env })).stdout.trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Write a commit object (hooks do not run; nothing points at it until a ref is moved to it). */
export async function commitTree(top: string, tree: string, parent: string, message: string): Promise<string> {
  return (await git(top, ['commit-tree', tree, '-p', parent, '-F', '-'], { input: message })).stdout.trim();
}

/** Move `ref` from `from` to `to` atomically; false when the ref no longer points at `from`. */
export async function moveRef(top: string, ref: string, to: string, from: string, reason: string): Promise<boolean> {
  const r = await git(top, ['update-ref', '-m', reason, ref, to, from], { allowFail: true });
  return r.code === 0;
}

export interface Worktree {
  path: string;
  head?: string;
  branch?: string;
  bare: boolean;
}

export async function worktrees(top: string): Promise<Worktree[]> {
  const r = await git(top, ['worktree', 'list', '--porcelain', '-z'], { allowFail: true });
  if (r.code !== 0) return [];
  const out: Worktree[] = [];
  let cur: Worktree | undefined;
  for (const line of r.stdout.split('\0')) {
    if (line.startsWith('worktree ')) {
      cur = { path: line.slice('worktree '.length), bare: false };
      out.push(cur);
    } else if (cur && line.startsWith('HEAD ')) cur.head = line.slice(5);
    else if (cur && line.startsWith('branch ')) cur.branch = line.slice(7);
    else if (cur && line === 'bare') cur.bare = true;
  }
  return out;
}

/** Paths under `paths` with changes in a worktree (staged, unstaged or untracked), as `git status` shows them. */
export async function localChanges(worktree: string, paths: string[]): Promise<string[]> {
  if (!paths.length) return [];
  const r = await git(
    worktree,
    ['status', '--porcelain', '-z', '--untracked-files=all', '--', ...paths.map((p) => `:(top,literal)${p}`)],
    {
      env: { GIT_LITERAL_PATHSPECS: '0' },
    },
  );
  const out: string[] = [];
  const rows = r.stdout.split('\0');
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!row) continue;
    out.push(row.slice(3));
    if (row[0] === 'R' || row[0] === 'C') i++; // the source path of a rename follows
  }
  return out;
}

/**
 * Bring a worktree that has the moved branch checked out from `from` to `to`: its index and files change exactly
 * where the two commits differ (as `git checkout` would), and git refuses if that would lose a local change.
 */
export async function syncCheckedOut(worktree: string, from: string, to: string): Promise<GitResult> {
  return git(worktree, ['read-tree', '-m', '-u', from, to], { allowFail: true });
}

/** Commits of `ref`'s history whose message contains `marker`, newest first: hash and message. */
export async function commitsWithMarker(
  top: string,
  ref: string,
  marker: string,
): Promise<{ hash: string; message: string }[]> {
  const r = await git(top, ['log', '-z', '--format=%H%n%B', '--fixed-strings', `--grep=${marker}`, ref, '--']);
  return r.stdout
    .split('\0')
    .filter(Boolean)
    .map((chunk) => {
      const nl = chunk.indexOf('\n');
      return { hash: chunk.slice(0, nl), message: chunk.slice(nl + 1) };
    });
}

/** The upstream a local branch tracks, and how many of its commits the branch lacks. */
export async function behindUpstream(
  top: string,
  branch: string,
): Promise<{ upstream: string; behind: number } | undefined> {
  const up = await git(top, ['rev-parse', '--abbrev-ref', '--symbolic-full-name', `${branch}@{upstream}`], {
    allowFail: true,
  });
  if (up.code !== 0 || !up.stdout.trim()) return undefined;
  const upstream = up.stdout.trim();
  const n = await git(top, ['rev-list', '--count', `${branch}..${upstream}`], { allowFail: true });
  if (n.code !== 0) return undefined;
  return { upstream, behind: Number(n.stdout.trim()) };
}
