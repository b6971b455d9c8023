/** Text rendering of a promotion for a terminal: what moves, the files, and the resource diff of the target. */
import type { Change } from '../plan/types.js';
import type { Conflict, Promotion, Refusal } from './promote.js';

const SYMBOL: Record<Change['action'], string> = { create: '+', update: '~', delete: '-' };
const LETTER = { added: 'A', modified: 'M', deleted: 'D' } as const;
const MAX_LISTED = 500;

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

const short = (sha: string) => sha.slice(0, 7);

export function promotionHeader(p: Pick<Promotion, 'from' | 'to'>): string[] {
  return [
    `rsync promote ${p.from.env} → ${p.to.env}`,
    `  from ${p.from.env}: ${p.from.ref} @ ${short(p.from.commit)}`,
    `  to   ${p.to.env}: branch ${p.to.branch} @ ${short(p.to.commit)}`,
  ];
}

export function promotionSummary(p: Promotion): string {
  const s = p.summary;
  return `Promote: ${p.files.length} file${p.files.length === 1 ? '' : 's'}; in ${p.to.env}: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.unchanged} unchanged.`;
}

export function renderPromotionText(p: Promotion, opts: { verbose?: boolean } = {}): string {
  const out = promotionHeader(p);
  for (const s of p.skipped) out.push(`  skipped ${s.customer}: ${s.why}`);
  for (const n of p.notes) out.push(`  note: ${n}`);
  if (!p.commit) {
    out.push(
      '',
      `Nothing to promote: ${p.to.branch} already has ${p.from.ref}'s version of ${p.skipped.length ? 'the other customers' : 'every chosen customer'}.`,
    );
    return out.join('\n');
  }
  if (p.customers.length) out.push(`  customers: ${p.customers.join(', ')}`);
  if (p.templates.length) out.push(`  template versions added: ${p.templates.join(', ')}`);
  if (p.workspace) out.push('  partner-wide: rsync.yaml');
  out.push('', `Files (${p.files.length}):`);
  const own = p.files.filter((f) => !f.template);
  for (const f of own) out.push(`  ${LETTER[f.status]} ${f.path}`);
  for (const t of p.templates) {
    const list = p.files.filter((f) => f.template === t);
    out.push(
      `  A ${list[0]?.path.split('/').slice(0, 3).join('/')}/ (template ${t}, ${list.length} file${list.length === 1 ? '' : 's'})`,
    );
  }
  out.push('', `Changes in ${p.to.env}'s desired state (${p.to.branch} before → after):`);
  if (!p.changes.length) out.push('  (none: the files change, the deployed resources do not)');
  const listed = opts.verbose ? p.changes : p.changes.slice(0, MAX_LISTED);
  for (const c of listed) {
    out.push(`  ${SYMBOL[c.action]} ${c.address}  (${c.reason})`);
    if (c.action !== 'update') continue;
    for (const f of c.fields) {
      if (f.path.startsWith('mapping.') || f.path.startsWith('effective.')) continue;
      out.push(`      ${f.path}: ${show(f.before)} → ${show(f.after)}`);
    }
    if (c.mappingDiff?.length) {
      const file = (c.after?.spec.mapping as { file?: string } | undefined)?.file ?? 'mapping';
      out.push(`      ${String(file)}:`);
      for (const l of c.mappingDiff) out.push(`        ${l}`);
    }
  }
  if (listed.length < p.changes.length)
    out.push(`  … and ${p.changes.length - listed.length} more changes (see --verbose or --json)`);
  out.push('', promotionSummary(p));
  if (p.checkedOut)
    out.push(`  ${p.to.branch} is checked out in ${p.checkedOut}: its files there are updated with it.`);
  return out.join('\n');
}

export function renderConflict(c: Conflict): string {
  return `  ${c.path}\n      ${c.why}`;
}

/** The lines of a refusal that are not diagnostics or mapping test cases (the command renders those). */
export function renderRefusalDetails(r: Refusal): string[] {
  const out: string[] = [];
  for (const c of r.conflicts ?? []) out.push(renderConflict(c));
  for (const c of (r.pending ?? []).slice(0, MAX_LISTED)) out.push(`  ${SYMBOL[c.action]} ${c.address}  (${c.reason})`);
  if ((r.pending?.length ?? 0) > MAX_LISTED) out.push(`  … and ${r.pending!.length - MAX_LISTED} more`);
  for (const f of r.files ?? []) out.push(`  ${f}`);
  return out;
}
