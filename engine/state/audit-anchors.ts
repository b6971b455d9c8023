/**
 * Anchors of the apply log outside PostgreSQL (issue 15): after each apply, replay and discard commits, the chain's
 * head — entry number and hash — is appended to an append-only file the operator chose (rsync.yaml
 * spec.audit.anchorFile, or RSYNC_AUDIT_ANCHOR) and recorded as a Git note (refs/notes/rsync-audit) on the applied
 * commit when there is one and the workspace is a Git repository. `rsync audit verify` reads them back and checks
 * that every anchored entry still has its anchored hash: a chain rewritten consistently in the database (every row
 * and the head) no longer matches what was written elsewhere before.
 *
 * An anchor is written after the transaction that appended the entry commits, never inside it: an anchor of an
 * entry that then rolled back would name a hash the log never had. A crash between the two leaves the newest
 * entries unanchored until the next anchor, which covers them through the chain.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { appendNote, readNotes, repositoryOf } from '../git/index.js';

export const NOTES_REF = 'rsync-audit';

/** An entry number and hash recorded outside the database, and where. */
export interface Anchor {
  n: number;
  hash: string;
  at: string;
  /** `file /var/log/rsync/audit.jsonl:12`, `git note on 3f2a9c1`. */
  source: string;
}

export interface AnchorSettings {
  /** The append-only file (absolute). */
  file?: string;
  /** The workspace folder, whose repository gets the notes (undefined: no Git anchors). */
  gitFolder?: string;
}

interface Line {
  n: number;
  hash: string;
  at: string;
  env?: string;
  commit?: string | null;
}

/** Append the log's head as an anchor wherever the settings say; the anchor written, or undefined (empty log). */
export async function anchorHead(
  db: Pick<pg.Pool, 'query'>,
  o: AnchorSettings & { commit?: string | null; env?: string },
): Promise<{ anchor?: Line; file?: string; note?: string }> {
  const head = (await db.query<{ n: string; entry_hash: string }>('SELECT n, entry_hash FROM rsync.apply_log_head'))
    .rows[0];
  if (!head) return {};
  const line: Line = {
    n: Number(head.n),
    hash: head.entry_hash,
    at: new Date().toISOString(),
    env: o.env,
    commit: o.commit ?? null,
  };
  const text = JSON.stringify(line);
  const out: { anchor?: Line; file?: string; note?: string } = { anchor: line };
  if (o.file) {
    mkdirSync(path.dirname(o.file), { recursive: true });
    // 'a': O_APPEND, so concurrent appliers' lines never overwrite each other.
    appendFileSync(o.file, `${text}\n`, { flag: 'a', mode: 0o640 });
    out.file = o.file;
  }
  if (o.gitFolder && o.commit) {
    const repo = await repositoryOf(o.gitFolder);
    if (repo && (await appendNote(repo.top, NOTES_REF, o.commit, text))) out.note = o.commit;
  }
  return out;
}

/** Every anchor the settings point at: the file's lines, then the notes of the workspace's repository. */
export async function readAnchors(o: AnchorSettings): Promise<{ anchors: Anchor[]; problems: string[] }> {
  const anchors: Anchor[] = [];
  const problems: string[] = [];
  const take = (text: string, source: string) => {
    try {
      const v = JSON.parse(text) as Line;
      if (Number.isInteger(v.n) && typeof v.hash === 'string')
        anchors.push({ n: v.n, hash: v.hash, at: String(v.at), source });
      else problems.push(`${source}: not an anchor (it needs n and hash)`);
    } catch {
      problems.push(`${source}: not JSON (the anchor file was edited)`);
    }
  };
  if (o.file) {
    if (!existsSync(o.file))
      problems.push(`the anchor file ${o.file} does not exist (no apply has written it yet, or it was removed)`);
    else
      readFileSync(o.file, 'utf8')
        .split('\n')
        .forEach((l, i) => {
          if (l.trim()) take(l, `file ${o.file}:${i + 1}`);
        });
  }
  if (o.gitFolder) {
    const repo = await repositoryOf(o.gitFolder);
    if (repo)
      for (const note of await readNotes(repo.top, NOTES_REF))
        for (const l of note.text.split('\n')) if (l.trim()) take(l, `git note on ${note.commit.slice(0, 12)}`);
  }
  return { anchors, problems };
}
