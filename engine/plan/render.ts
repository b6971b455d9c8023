/** Renderings of a plan: text for a terminal, Markdown for a pull-request comment (white-labelled). */
import { customerSections, customerTable, MAX_LISTED, mdEscape, show, SYMBOL, updateBlocks } from './markdown.js';
import { targetDriftText } from './target-drift.js';
import { impactMarkdown, impactText } from './impact-render.js';
import { radiusLines } from './radius.js';
import type { Change, Drift, Plan } from './types.js';

export function summaryLine(plan: Plan): string {
  const s = plan.summary;
  if (plan.empty)
    return `No changes. ${plan.env} matches ${plan.ref ?? 'the workspace'}${s.unchanged ? ` (${s.unchanged} resources)` : ''}.`;
  const parts = [`${s.create} to create`, `${s.update} to update`, `${s.delete} to delete`, `${s.unchanged} unchanged`];
  return `Plan: ${parts.join(', ')}${s.drift ? `; ${s.drift} drifted object${s.drift === 1 ? '' : 's'} to heal` : ''}.`;
}

function blastRadius(plan: Plan): string[] {
  if (plan.summary.radius) return radiusLines(plan.summary.radius);
  return Object.entries(plan.summary.byTemplate)
    .sort((a, b) => b[1].flows - a[1].flows)
    .map(
      ([t, n]) =>
        `template ${t} → ${n.customers} customer${n.customers === 1 ? '' : 's'} (${n.flows} flow${n.flows === 1 ? '' : 's'})`,
    );
}

function perCustomer(plan: Plan): string[] {
  return Object.entries(plan.summary.byCustomer)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([c, n]) => `${c}: +${n.create} ~${n.update} -${n.delete}`);
}

/** A partial plan's selection and what it leaves out, as lines (empty for a plan of everything). */
function selectionLines(plan: Plan, max: number): string[] {
  const sel = plan.selection;
  if (!sel) return [];
  const asked = [
    ...sel.targets.map((t) => `--target ${t}`),
    ...Object.entries(sel.selector).map(([k, v]) => `--selector ${k}=${v}`),
    ...sel.excludes.map((e) => `--exclude ${e}`),
  ].join(' ');
  const n = sel.leftOut;
  if (!n.count) return [`Partial plan (${asked}): nothing else is pending.`];
  const out = [
    `Partial plan (${asked}): ${n.count} other change${n.count === 1 ? '' : 's'} left out (${n.create} to create, ${n.update} to update, ${n.delete} to delete), still pending:`,
  ];
  for (const a of n.addresses.slice(0, max)) out.push(`  ${a}`);
  if (n.addresses.length > max) out.push(`  … and ${n.addresses.length - max} more (--format json lists them all)`);
  return out;
}

function driftText(d: Drift): string {
  const who = d.addresses.length
    ? ` — serves ${d.addresses.length <= 3 ? d.addresses.join(', ') : `${d.addresses.slice(0, 3).join(', ')} and ${d.addresses.length - 3} more`}`
    : '';
  return `${d.type} ${d.object} ${d.problem}: ${d.detail}${who}`;
}

export function renderPlanText(plan: Plan, opts: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  const at = plan.ref ? ` @ ${plan.ref}${plan.commit ? ` (${plan.commit.slice(0, 7)})` : ''}` : ' (working tree)';
  out.push(`rsync plan for ${plan.env}${at}${plan.customers ? `, customers: ${plan.customers.join(', ')}` : ''}`);
  out.push('');
  const listed = opts.verbose ? plan.changes : plan.changes.slice(0, MAX_LISTED);
  for (const c of listed) {
    out.push(`  ${SYMBOL[c.action]} ${c.address} — ${c.reason}`);
    if (c.action === 'update') {
      for (const f of c.fields) {
        if (f.path.startsWith('mapping.')) continue;
        out.push(`      ${f.path}: ${show(f.before)} → ${show(f.after)}`);
      }
      if (c.mappingDiff?.length) {
        const file = (c.after?.spec.mapping as { file?: string } | undefined)?.file ?? 'mapping';
        out.push(`      ${file}:`);
        for (const l of c.mappingDiff) out.push(`        ${l}`);
      }
    }
  }
  if (listed.length < plan.changes.length) {
    out.push(
      `  … and ${plan.changes.length - listed.length} more changes (see --verbose, --format json, or narrow with --customer)`,
    );
  }
  if (plan.drift.length) {
    out.push('', 'Drift (changed outside rsync; apply heals it):');
    for (const d of plan.drift) out.push(`  ! ${driftText(d)}`);
  }
  if (plan.targetDrift?.length) {
    out.push(
      '',
      'Target schemas changed (outside rsync; apply does not heal it: alter the target back, or change the mapping and apply, then rsync resume):',
    );
    for (const d of plan.targetDrift) out.push(`  ! ${targetDriftText(d)}`);
  }
  if (plan.changes.length) out.push('');
  out.push(summaryLine(plan));
  const customers = perCustomer(plan);
  if (customers.length > 1 && customers.length <= 20) out.push(`  ${customers.join('   ')}`);
  else if (customers.length > 20) out.push(`  ${customers.length} customers affected`);
  for (const b of blastRadius(plan)) out.push(`  ${b}`);
  const left = selectionLines(plan, opts.verbose ? Number.POSITIVE_INFINITY : 20);
  if (left.length) out.push('', ...left);
  out.push(...impactText(plan.impact, opts));
  return out.join('\n');
}

/** `limit`: the characters the Markdown may take (a pull request comment's 65,536 by default; less when it shares one). */
export function renderPlanMarkdown(plan: Plan, opts: { limit?: number } = {}): string {
  const b = plan.branding;
  const product = b.productName ?? 'rsync';
  const out: string[] = [];
  const logo = b.logoUrl ? `<img src="${b.logoUrl}" alt="${mdEscape(product)}" height="20"> ` : '';
  out.push(`### ${logo}${mdEscape(product)} plan for \`${plan.env}\``);
  out.push('');
  out.push(
    `${plan.ref ? `Ref \`${plan.ref}\`${plan.commit ? ` at \`${plan.commit.slice(0, 7)}\`` : ''}` : 'Working tree'}${plan.customers ? ` · customers: ${plan.customers.map((c) => `\`${c}\``).join(', ')}` : ''}`,
  );
  out.push('');
  out.push(`**${summaryLine(plan)}**`);
  const left = selectionLines(plan, 20);
  if (left.length) {
    const [head, ...rest] = left;
    out.push('', `> [!NOTE]`, `> ${mdEscape(head)}`);
    for (const l of rest) out.push(l.trim().startsWith('…') ? `> ${l.trim()}` : `> - \`${l.trim()}\``);
  }
  const radius = blastRadius(plan);
  if (radius.length) {
    out.push('');
    for (const r of radius) out.push(`- ${r}`);
  }
  out.push(...impactMarkdown(plan.impact));
  if (Object.keys(plan.summary.byCustomer).length) {
    out.push(...customerTable(plan.summary.byCustomer));
  }
  const byCustomer = new Map<string, Change[]>();
  for (const c of plan.changes) {
    const k = c.customer ?? '(partner-wide)';
    byCustomer.set(k, [...(byCustomer.get(k) ?? []), c]);
  }
  out.push(
    ...customerSections(
      byCustomer,
      (c) => {
        const fields = c.fields.filter((f) => !f.path.startsWith('mapping.'));
        return {
          line: `- \`${SYMBOL[c.action]}\` **${c.kind}** \`${c.name}\` — ${mdEscape(c.reason)}`,
          ...(c.action === 'update' ? updateBlocks(fields, { diff: c.mappingDiff ?? [] }) : { block: [], hunk: [] }),
        };
      },
      {
        used: out.join('\n').length,
        everything:
          '`rsync plan --format json` (or `--out plan.json`) has every change; `--customer` narrows the plan.',
        limit: opts.limit,
      },
    ),
  );
  if (plan.drift.length) {
    out.push('', '#### Drift', '', 'Changed outside rsync; applying this plan heals it.', '');
    for (const d of plan.drift) out.push(`- ${mdEscape(driftText(d))}`);
  }
  if (plan.targetDrift?.length) {
    out.push(
      '',
      '#### Target schemas changed',
      '',
      'Outside rsync; applying does not heal it. The flows are paused.',
      '',
    );
    for (const d of plan.targetDrift) out.push(`- ${mdEscape(targetDriftText(d))}`);
  }
  out.push(
    '',
    '---',
    `<sub>${mdEscape(b.footer ?? `${b.partner ? `${b.partner} · ` : ''}planned by ${product}`)}</sub>`,
  );
  return out.join('\n');
}
