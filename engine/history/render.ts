/** The history as a timeline for a terminal: one block per commit or apply, newest first. */
import type { ApplyEvent, CommitEvent, HistoryResult } from './index.js';

const SYMBOL = { create: '+', update: '~', delete: '-' } as const;
const MAX_LINES = 12;
const INDENT = ' '.repeat(22);

function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

function commitBlock(e: CommitEvent): string[] {
  const out = [`${when(e.at)}  commit ${e.commit.slice(0, 7)}  ${e.author} <${e.email}>  ${e.subject}`];
  if (e.error) out.push(`${INDENT}(resources not computed: ${e.error.split('\n')[0]})`);
  const lines = e.touched.map((t) => `${SYMBOL[t.action]} ${t.address}`);
  if (e.settings.length)
    lines.push(
      `${e.parents.length ? '~' : '+'} rsync.yaml settings: ${e.settings.slice(0, 3).join(', ')}${e.settings.length > 3 ? ` and ${e.settings.length - 3} more` : ''}`,
    );
  for (const l of lines.slice(0, MAX_LINES)) out.push(`${INDENT}${l}`);
  if (lines.length > MAX_LINES) out.push(`${INDENT}… and ${lines.length - MAX_LINES} more`);
  if (!lines.length && !e.error)
    out.push(
      `${INDENT}(no resource changes; ${e.files.length} file${e.files.length === 1 ? '' : 's'}: ${e.files.slice(0, 3).join(', ')}${e.files.length > 3 ? ', …' : ''})`,
    );
  return out;
}

function applyBlock(e: ApplyEvent): string[] {
  const commit = e.commit
    ? `commit ${e.commit.slice(0, 7)}${e.subject !== undefined ? ` "${e.subject}"` : ''}`
    : 'the working tree';
  const out = [`${when(e.at)}  ${e.action} #${e.n} → ${e.env}  by ${e.actor}  ${commit}${e.ref ? ` (${e.ref})` : ''}`];
  if (e.result) out.push(`${INDENT}${e.result}`);
  const shown = e.changes.slice(0, MAX_LINES).map((c) => {
    const [action, address] = [c.slice(0, c.indexOf(' ')), c.slice(c.indexOf(' ') + 1)];
    return `${SYMBOL[action as keyof typeof SYMBOL] ?? action} ${address}`;
  });
  for (const l of shown) out.push(`${INDENT}${l}`);
  if (e.changes.length > shown.length) out.push(`${INDENT}… and ${e.changes.length - shown.length} more`);
  return out;
}

export function renderHistoryText(h: HistoryResult): string {
  const out: string[] = [];
  const filters = [
    h.filters.customer ? `customer ${h.filters.customer}` : '',
    h.filters.address ? `address ${h.filters.address}` : '',
    h.filters.env ? `environment ${h.filters.env}` : '',
  ].filter(Boolean);
  out.push(
    `History of ${h.workspace} at ${h.ref}${h.commit ? ` (${h.commit.slice(0, 7)})` : ''}${filters.length ? `, ${filters.join(', ')}` : ''}, newest first`,
  );
  out.push(
    `  Git: ${h.git.available ? 'commits that touched rsync.yaml, integrations/ or templates/' : (h.git.note ?? 'not available')}`,
  );
  out.push(
    `  Applies: ${h.applyLog.available ? `the apply log in ${h.applyLog.database}` : (h.applyLog.note ?? 'not available')}`,
  );
  out.push('');
  if (!h.events.length) out.push('Nothing to show.');
  for (const e of h.events) {
    out.push(...(e.type === 'commit' ? commitBlock(e) : applyBlock(e)));
    out.push('');
  }
  if (h.more) out.push(`(older events not shown: raise --limit, now ${h.filters.limit})`);
  while (out[out.length - 1] === '') out.pop();
  return out.join('\n');
}
