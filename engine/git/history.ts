/**
 * Git, read for history: the commits that touched the workspace's files (with the files each one changed), and
 * the workspace as it was at a commit — only the files asked for, read from the object database (never the
 * working tree). Trees and blobs are kept in memory for the life of one command (blobs by object id: consecutive
 * commits share almost all of them); nothing is cached on disk.
 */
import { resolveCommit } from './refs.js';
import { catFileBatch, git } from './run.js';

export interface GitCommit {
  sha: string;
  parents: string[];
  author: string;
  email: string;
  /** Author date, ISO 8601 in UTC. */
  authorDate: string;
  /** Committer date, ISO 8601 in UTC: when the commit entered the history (the timeline's order). */
  date: string;
  subject: string;
  /** Workspace files the commit changed (against its first parent), relative to the workspace root. */
  files: string[];
}

/** Which files of a commit's tree history reads: the folders to list, and the files among them to keep. */
export interface TrackedFiles {
  paths: string[];
  keep: (rel: string) => boolean;
}

export class GitHistory {
  private readonly trees = new Map<string, Map<string, string>>();
  private readonly blobCache = new Map<string, string>();

  private constructor(
    /** The workspace folder. */
    readonly root: string,
    /** The workspace's folder inside the repository, with a trailing slash ('' at the top). */
    private readonly prefix: string,
    private readonly top: string,
    private readonly tracked: TrackedFiles,
  ) {}

  /** The repository around `root`, or undefined when it is not in one. */
  static async open(root: string, tracked: TrackedFiles): Promise<GitHistory | undefined> {
    const r = await git(root, ['rev-parse', '--is-inside-work-tree', '--show-toplevel', '--show-prefix'], {
      allowFail: true,
    }).catch(() => undefined);
    if (r?.code !== 0) return undefined;
    const [inside, top, prefix = ''] = r.stdout.split('\n');
    if (inside !== 'true') return undefined;
    return new GitHistory(root, prefix, top, tracked);
  }

  /** The commit a ref names, or undefined (an unborn branch, an unknown ref). */
  resolve(ref: string): Promise<string | undefined> {
    return resolveCommit(this.root, ref);
  }

  /** A commit's subject line, or undefined when the repository does not have it (applied from another clone). */
  async subject(sha: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{4,64}$/i.test(sha)) return undefined; // from the database: never let it reach git as an option
    const r = await git(this.root, ['show', '-s', '--format=%s', `${sha}^{commit}`], { allowFail: true });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  /** Commits reachable from `ref` that touched `paths` (workspace-relative), newest first, read in pages. */
  async *commits(ref: string, paths: string[], pageSize = 100): AsyncGenerator<GitCommit> {
    for (let skip = 0; ; skip += pageSize) {
      const { stdout: out } = await git(this.root, [
        '-c',
        'core.quotepath=false',
        'log',
        ref,
        '--format=%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cI%x1f%s',
        '--name-only',
        '--relative',
        '--diff-merges=first-parent',
        `--skip=${skip}`,
        `-n`,
        String(pageSize),
        '--',
        ...paths,
      ]);
      const records = out.split('\x1e').filter((r) => r.trim());
      for (const rec of records) {
        const [header, ...rest] = rec.split('\n');
        const [sha, parents, author, email, authorDate, date, subject] = header.split('\x1f');
        yield {
          sha,
          parents: parents ? parents.split(' ') : [],
          author,
          email,
          authorDate: new Date(authorDate).toISOString(),
          date: new Date(date).toISOString(),
          subject,
          files: rest.map((l) => l.trim()).filter(Boolean),
        };
      }
      if (records.length < pageSize) return;
    }
  }

  /** The tracked files at a commit: workspace-relative path → blob id. */
  async tree(sha: string): Promise<Map<string, string>> {
    const hit = this.trees.get(sha);
    if (hit) return hit;
    const paths = this.tracked.paths.map((p) => this.prefix + p);
    const { stdout: listing } = await git(this.top, ['ls-tree', '-r', '-z', '--full-tree', sha, '--', ...paths]);
    const tree = new Map<string, string>();
    for (const row of listing.split('\0')) {
      if (!row) continue;
      const tab = row.indexOf('\t');
      const [, type, oid] = row.slice(0, tab).split(' ');
      const rel = row.slice(tab + 1).slice(this.prefix.length);
      if (type === 'blob' && this.tracked.keep(rel)) tree.set(rel, oid);
    }
    this.trees.set(sha, tree);
    // Walking newest first, a tree is asked for again only by the next commit or two: keep a few.
    for (const old of this.trees.keys()) if (this.trees.size > 8) this.trees.delete(old);
    return tree;
  }

  /** Blob texts by id (read once per command). */
  async blobs(oids: Iterable<string>): Promise<Map<string, string>> {
    const wanted = [...new Set(oids)];
    const missing = wanted.filter((o) => !this.blobCache.has(o));
    if (missing.length) {
      const texts = await catFileBatch(this.top, missing);
      missing.forEach((o, i) => this.blobCache.set(o, texts[i] ?? ''));
    }
    return new Map(wanted.map((o) => [o, this.blobCache.get(o)!]));
  }

  /** The texts of the tracked files at a commit that `keep` accepts, sorted by path. */
  async files(sha: string, keep: (rel: string) => boolean): Promise<Map<string, string>> {
    const tree = await this.tree(sha);
    const rels = [...tree.keys()].filter(keep).sort();
    const texts = await this.blobs(rels.map((r) => tree.get(r)!));
    return new Map(rels.map((r) => [r, texts.get(tree.get(r)!)!]));
  }
}
