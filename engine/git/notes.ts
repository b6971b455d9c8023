/**
 * Git notes (`git notes --ref <ref>`): text attached to a commit without changing it. The apply log's anchors
 * (state/audit-anchors.ts) are notes on the applied commits under refs/notes/rsync-audit, so a copy of the chain's
 * head lives in the repository — and wherever its notes ref is pushed — outside PostgreSQL.
 */
import { git } from './run.js';

/** Append a line to `commit`'s note under `ref` (creating the note). False when the commit is not in the repository. */
export async function appendNote(top: string, ref: string, commit: string, text: string): Promise<boolean> {
  const r = await git(top, ['notes', `--ref=${ref}`, 'append', '-m', text, commit], {
    allowFail: true,
    // git notes writes a commit on the notes ref: it needs an identity even where the user set none.
    env: {
      GIT_AUTHOR_NAME: 'rsync',
      GIT_AUTHOR_EMAIL: 'rsync@localhost',
      GIT_COMMITTER_NAME: 'rsync',
      GIT_COMMITTER_EMAIL: 'rsync@localhost',
    },
  });
  return r.code === 0;
}

/** Every note under `ref`: the commit it is on, and its text. None when the ref does not exist. */
export async function readNotes(top: string, ref: string): Promise<{ commit: string; text: string }[]> {
  const list = await git(top, ['notes', `--ref=${ref}`, 'list'], { allowFail: true });
  if (list.code !== 0) return [];
  const out: { commit: string; text: string }[] = [];
  for (const line of list.stdout.split('\n')) {
    const [blob, commit] = line.trim().split(/\s+/);
    if (!blob || !commit) continue;
    const show = await git(top, ['cat-file', 'blob', blob], { allowFail: true });
    if (show.code === 0) out.push({ commit, text: show.stdout });
  }
  return out;
}
