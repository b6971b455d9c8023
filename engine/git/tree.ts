/**
 * A ref's tree and blobs, read straight from the object database with `git ls-tree` and `git cat-file --batch`:
 * the working tree is never touched, so `--ref main` works with uncommitted changes or another branch checked out.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { resolveCommit } from './refs.js';
import { catFileBatch, git } from './run.js';

/** A folder that is not in a repository, or a ref that names no commit: the message says which, and what to do. */
export class GitRefError extends Error {}

/** One folder of a repository as it is at one commit; paths are relative to that folder, with forward slashes. */
export class RefTree {
  private constructor(
    readonly ref: string,
    readonly commit: string,
    private readonly top: string,
    /** The folder within the repository ('' at the top). */
    private readonly prefix: string,
  ) {}

  /** Resolve `ref` in the repository that holds `folder`. */
  static async open(folder: string, ref: string): Promise<RefTree> {
    const r = await git(folder, ['rev-parse', '--show-toplevel'], { allowFail: true }).catch(() => undefined);
    if (r?.code !== 0) {
      throw new GitRefError(
        `${folder} is not inside a Git repository, so --ref cannot be read. Drop --ref, or run in a clone.`,
      );
    }
    const top = r.stdout.trim();
    const commit = await resolveCommit(top, ref);
    if (!commit) {
      throw new GitRefError(
        `Git ref "${ref}" does not exist in ${top}. Use a branch, tag or commit that \`git rev-parse ${ref}\` knows (fetch it first if it is remote).`,
      );
    }
    const prefix = path
      .relative(await realpath(top), await realpath(folder))
      .split(path.sep)
      .join('/');
    return new RefTree(ref, commit, top, prefix);
  }

  private full(rel: string): string {
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  /** The texts of the files under `paths` that `keep` accepts, sorted by path. */
  async files(paths: string[], keep: (rel: string) => boolean): Promise<Map<string, string>> {
    const listing = (
      await git(this.top, ['ls-tree', '-r', '-z', '--full-tree', this.commit, '--', ...paths.map((p) => this.full(p))])
    ).stdout;
    const entries: { rel: string; oid: string }[] = [];
    for (const row of listing.split('\0')) {
      if (!row) continue;
      const tab = row.indexOf('\t');
      const [, type, oid] = row.slice(0, tab).split(' ');
      const full = row.slice(tab + 1);
      const rel = this.prefix ? full.slice(this.prefix.length + 1) : full;
      if (type === 'blob' && keep(rel)) entries.push({ rel, oid });
    }
    entries.sort((a, b) => (a.rel < b.rel ? -1 : 1));
    const blobs = await catFileBatch(
      this.top,
      entries.map((e) => e.oid),
    );
    return new Map(entries.map((e, i) => [e.rel, blobs[i] ?? '']));
  }

  /** One file's text, or undefined when it does not exist at the commit. */
  async read(rel: string): Promise<string | undefined> {
    const norm = path.posix.normalize(rel);
    if (norm.startsWith('..')) return undefined;
    const [blob] = await catFileBatch(this.top, [`${this.commit}:${this.full(norm)}`]);
    return blob;
  }
}
