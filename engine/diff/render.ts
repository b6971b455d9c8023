/** Renderings of a workspace diff: text for a terminal, Markdown for a pull-request comment (white-labelled). */
import { customerSections, customerTable, MAX_LISTED, mdEscape, show, SYMBOL, updateBlocks } from '../plan/markdown.js';
import type { DiffSide, ResourceChange, WorkspaceDiff } from './types.js';

function sideText(s: DiffSide): string {
  if (s.workingTree) return 'the working tree';
  const short = s.commit?.slice(0, 7);
  return short && !s.label.startsWith(short) ? `${s.label} (${short})` : s.label;
}

export function diffSummaryLine(d: WorkspaceDiff): string {
  const s = d.summary;
  if (d.empty)
    return `No changes: ${sideText(d.head)} deploys the same as ${sideText(d.base)}${s.unchanged ? ` (${s.unchanged} resources)` : ''}.`;
  const parts = [`${s.create} to create`, `${s.update} to update`, `${s.delete} to delete`, `${s.unchanged} unchanged`];
  return `Changes: ${parts.join(', ')}${d.settings.length ? `; rsync.yaml settings changed (${d.settings.length} field${d.settings.length === 1 ? '' : 's'})` : ''}.`;
}

function usedByText(used: string[] | undefined): string {
  if (!used?.length) return '';
  const names = used.length <= 3 ? used.join(', ') : `${used.slice(0, 3).join(', ')} and ${used.length - 3} more`;
  return `used by ${used.length} flow${used.length === 1 ? '' : 's'}: ${names}`;
}

function mappingHeader(m: NonNullable<ResourceChange['mapping']>): string {
  if (m.before && m.after && m.before !== m.after) return `${m.before} → ${m.after}`;
  return m.after ?? m.before ?? 'mapping';
}

function blastRadius(d: WorkspaceDiff): string[] {
  const out: string[] = [];
  for (const m of d.moves) {
    out.push(
      `${m.customer}: ${m.from} → ${m.to} (${m.flows.length} flow${m.flows.length === 1 ? '' : 's'}: ${m.flows.map((f) => f.slice(f.lastIndexOf('/') + 1)).join(', ')})`,
    );
  }
  for (const t of d.templates) {
    const files = t.files.map((f) => `${SYMBOL[f.action]}${f.path.split('/').slice(3).join('/') || f.path}`).join(', ');
    const what = t.action === 'create' ? 'added' : t.action === 'delete' ? 'removed' : 'changed';
    const names =
      t.customers.length <= 5
        ? t.customers.join(', ')
        : `${t.customers.slice(0, 5).join(', ')} and ${t.customers.length - 5} more`;
    const radius = t.flows.length
      ? `${t.customers.length} customer${t.customers.length === 1 ? '' : 's'} (${names}), ${t.flows.length} flow${t.flows.length === 1 ? '' : 's'}`
      : 'no flow changes';
    out.push(`template ${t.template} ${what} [${files}] → ${radius}`);
  }
  return out;
}

function errorsText(side: 'base' | 'head', s: DiffSide): string[] {
  if (s.valid) return [];
  const out = [
    `✗ ${side} (${sideText(s)}) has ${s.errors.length} error${s.errors.length === 1 ? '' : 's'}; the diff shows what could be read:`,
  ];
  for (const e of s.errors) {
    const where = e.file ? `${String(e.file)}:${String(e.line)}:${String(e.column)}` : '(workspace)';
    out.push(
      `  ${where} error ${String(e.code)} ${String(e.summary)}${e.address ? ` [${String(e.address)}]` : ''}`,
      `      ${String(e.detail)}`,
    );
  }
  out.push('');
  return out;
}

function grouped(changes: ResourceChange[]): Map<string, ResourceChange[]> {
  const by = new Map<string, ResourceChange[]>();
  for (const c of changes) {
    const k = c.customer ?? '(partner-wide)';
    by.set(k, [...(by.get(k) ?? []), c]);
  }
  return new Map(
    [...by].sort((a, b) => (a[0] === '(partner-wide)' ? -1 : b[0] === '(partner-wide)' ? 1 : a[0] < b[0] ? -1 : 1)),
  );
}

function counts(list: ResourceChange[]): string {
  const n = { create: 0, update: 0, delete: 0 };
  for (const c of list) n[c.action]++;
  return `+${n.create} ~${n.update} -${n.delete}`;
}

export function renderDiffText(d: WorkspaceDiff, opts: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  out.push(
    `rsync diff: ${sideText(d.base)} → ${sideText(d.head)}${d.env ? `, as ${d.env} deploys it` : ''}${d.customers ? `, customers: ${d.customers.join(', ')}` : ''}`,
  );
  if (d.head.workingTree) out.push('  (the head side is the working tree, uncommitted changes included)');
  out.push('');
  out.push(...errorsText('base', d.base), ...errorsText('head', d.head));
  let listed = 0;
  for (const [customer, list] of grouped(d.changes)) {
    if (!opts.verbose && listed >= MAX_LISTED) break;
    out.push(`${customer}  ${counts(list)}`);
    for (const c of list) {
      if (!opts.verbose && listed++ >= MAX_LISTED) break;
      out.push(`  ${SYMBOL[c.action]} ${c.address}  (${c.reason})`);
      for (const f of c.fields) out.push(`      ${f.path}: ${show(f.before)} → ${show(f.after)}`);
      if (c.mapping) {
        out.push(`      ${mappingHeader(c.mapping)}:`);
        for (const l of c.mapping.diff) out.push(`        ${l}`);
      }
      const used = usedByText(c.usedBy);
      if (used && c.action !== 'create') out.push(`      ${used}`);
    }
    out.push('');
  }
  if (!opts.verbose && listed < d.changes.length)
    out.push(
      `… and ${d.changes.length - listed} more changes (see --verbose, --format json, or narrow with --customer)`,
      '',
    );
  if (d.settings.length) {
    out.push('rsync.yaml (Workspace settings; not deployed)');
    for (const f of d.settings) out.push(`  ~ ${f.path}: ${show(f.before)} → ${show(f.after)}`);
    out.push('');
  }
  const radius = blastRadius(d);
  if (radius.length) {
    out.push('Templates:');
    for (const r of radius) out.push(`  ${r}`);
    out.push('');
  }
  out.push(diffSummaryLine(d));
  return out.join('\n');
}

function mdSide(s: DiffSide): string {
  if (s.workingTree) return 'the working tree';
  return `\`${s.label}\`${s.commit && !s.label.startsWith(s.commit.slice(0, 7)) ? ` at \`${s.commit.slice(0, 7)}\`` : ''}`;
}

/** `limit`: the characters the Markdown may take (a pull request comment's 65,536 by default; less when it shares one). */
export function renderDiffMarkdown(d: WorkspaceDiff, opts: { limit?: number } = {}): string {
  const b = d.branding;
  const product = b.productName ?? 'rsync';
  const out: string[] = [];
  const logo = b.logoUrl ? `<img src="${b.logoUrl}" alt="${mdEscape(product)}" height="20"> ` : '';
  out.push(`### ${logo}${mdEscape(product)} changes`);
  out.push('');
  out.push(
    `${mdSide(d.base)} → ${mdSide(d.head)}${d.env ? ` · as \`${d.env}\` deploys it` : ''}${d.customers ? ` · customers: ${d.customers.map((c) => `\`${c}\``).join(', ')}` : ''}`,
  );
  for (const [name, s] of [
    ['base', d.base],
    ['head', d.head],
  ] as const) {
    if (s.valid) continue;
    out.push(
      '',
      `> [!CAUTION]`,
      `> The ${name} (${mdSide(s)}) has ${s.errors.length} validation error${s.errors.length === 1 ? '' : 's'}; the diff shows what could be read.`,
      '',
    );
    for (const e of s.errors.slice(0, 50)) {
      const where = e.file ? `\`${String(e.file)}:${String(e.line)}\` ` : '';
      out.push(`- ${where}**${mdEscape(String(e.summary))}** (${String(e.code)}): ${mdEscape(String(e.detail))}`);
    }
    if (s.errors.length > 50) out.push(`- … and ${s.errors.length - 50} more`);
  }
  out.push('', `**${diffSummaryLine(d)}**`);
  const radius = blastRadius(d);
  if (radius.length) {
    out.push('', '#### Templates', '');
    for (const r of radius) out.push(`- ${mdEscape(r)}`);
  }
  const byCustomer = grouped(d.changes);
  if (byCustomer.size) {
    out.push(...customerTable(d.summary.byCustomer));
  }
  out.push(
    ...customerSections(
      byCustomer,
      (c) => {
        const used = c.action !== 'create' ? usedByText(c.usedBy) : '';
        return {
          line: `- \`${SYMBOL[c.action]}\` **${c.kind}** \`${c.name}\` — ${mdEscape(c.reason)}${used ? ` (${mdEscape(used)})` : ''}`,
          ...(c.action === 'update'
            ? updateBlocks(c.fields, c.mapping && { header: mappingHeader(c.mapping), diff: c.mapping.diff })
            : { block: [], hunk: [] }),
        };
      },
      {
        used: out.join('\n').length,
        everything: '`rsync diff --format json` has every change; `--customer` narrows the diff.',
        limit: opts.limit,
      },
    ),
  );
  if (d.settings.length) {
    out.push('', '#### rsync.yaml', '', 'Workspace settings (not deployed):', '', '```diff');
    for (const f of d.settings) {
      if (f.before !== undefined) out.push(`- ${f.path}: ${show(f.before)}`);
      if (f.after !== undefined) out.push(`+ ${f.path}: ${show(f.after)}`);
    }
    out.push('```');
  }
  out.push(
    '',
    '---',
    `<sub>${mdEscape(b.footer ?? `${b.partner ? `${b.partner} · ` : ''}compared by ${product}`)}</sub>`,
  );
  return out.join('\n');
}
