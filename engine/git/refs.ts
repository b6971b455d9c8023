/** Repositories and refs: where a folder's repository is, and the commit a ref names (one resolution for all). */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { git } from './run.js';

/** The repository's top folder and the workspace's folder within it ('' when the workspace is the top). */
export async function repositoryOf(folder: string): Promise<{ top: string; prefix: string } | undefined> {
  const r = await git(folder, ['rev-parse', '--show-toplevel'], { allowFail: true });
  if (r.code !== 0) return undefined;
  const top = r.stdout.trim();
  const prefix = path
    .relative(await realpath(top), await realpath(folder))
    .split(path.sep)
    .join('/');
  return { top, prefix };
}

/**
 * The commit a branch, tag, commit or other name resolves to in the repository around `cwd`, or undefined (an
 * unknown name, an unborn branch, no repository). Every caller resolves refs here, so they all agree.
 */
export async function resolveCommit(cwd: string, name: string): Promise<string | undefined> {
  const r = await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${name}^{commit}`], {
    allowFail: true,
  }).catch(() => undefined);
  return r?.code === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Is `cwd` inside a Git repository (a work tree)? */
export async function inRepository(cwd: string): Promise<boolean> {
  const r = await git(cwd, ['rev-parse', '--is-inside-work-tree'], { allowFail: true }).catch(() => undefined);
  return r?.code === 0 && r.stdout.trim() === 'true';
}

export async function isAncestor(top: string, a: string, b: string): Promise<boolean> {
  const r = await git(top, ['merge-base', '--is-ancestor', a, b], { allowFail: true });
  return r.code === 0;
}

export async function mergeBase(top: string, a: string, b: string): Promise<string | undefined> {
  const r = await git(top, ['merge-base', a, b], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Make `dir` a repository with `main` as its first branch, unless it is in one already. */
export async function initRepository(dir: string): Promise<'initialized' | 'existing' | 'unavailable'> {
  try {
    if (await inRepository(dir)) return 'existing';
    const r = await git(dir, ['init', '--initial-branch=main'], { allowFail: true });
    if (r.code !== 0) await git(dir, ['init']); // git before 2.28 has no --initial-branch
    return 'initialized';
  } catch {
    return 'unavailable';
  }
}
