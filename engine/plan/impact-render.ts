/** The data impact of a plan (impact.ts) as text for a terminal and as Markdown for a pull-request comment. */
import { formatDiagnostic } from '../diagnostics/diagnostic.js';
import type { FlowImpact, ImpactCounts, PlanImpact, RecordDiff } from './impact.js';
import { mdEscape, show } from './markdown.js';

const int = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${int(n)} ${n === 1 ? one : many}`;

/** What a flow without samples is told. */
export const noSampleText = (address: string) =>
  `no sample: run the flow once (rsync run ${address}), or wait for its next run, so that the worker stores its recent records; nothing is known of its data`;

/** The counts that are not zero, in words: `37 written differently, 60 unchanged, 3 newly filtered`. */
export function countsText(c: ImpactCounts): string {
  const parts: [number, string][] = [
    [c.different, 'written differently'],
    [c.unchanged, 'unchanged'],
    [c.newlyFiltered, 'newly filtered'],
    [c.newlyDead, 'newly dead-lettered'],
    [c.newlyPassing, 'newly passing'],
    [c.newlyWritten, 'newly written'],
  ];
  const said = parts.filter(([n]) => n > 0).map(([n, w]) => `${int(n)} ${w}`);
  const keys = c.keyChanged ? `; ${plural(c.keyChanged, 'new idempotency key')}` : '';
  return `${said.join(', ') || 'none'}${keys}`;
}

const OUTCOME: Record<RecordDiff['outcome'], string> = {
  different: 'written differently',
  newlyFiltered: 'newly filtered',
  newlyDead: 'newly dead-lettered',
  newlyPassing: 'newly passing',
  newlyWritten: 'newly written',
};

function exampleLines(d: RecordDiff): string[] {
  const key = d.newKey ? `${d.key} → new key ${d.newKey}` : (d.key ?? '(no key)');
  const out = [`record ${key}: ${OUTCOME[d.outcome]}${d.reason ? ` (${d.reason})` : ''}`];
  for (const f of d.fields.slice(0, 12)) out.push(`  ${f.path}: ${show(f.before)} → ${show(f.after)}`);
  if (d.fields.length > 12) out.push(`  … and ${d.fields.length - 12} more fields`);
  return out;
}

/** Whether a flow's sample shows any difference. */
const differs = (f: FlowImpact) => f.counts.unchanged < f.counts.sampled;

function flowHead(f: FlowImpact): string {
  const what = `${f.changed.join(', ')} changed`;
  if (!f.sampled) return `${f.address} (${what}): ${noSampleText(f.address)}`;
  const ack = f.acknowledged ? ` — acknowledged (${f.acknowledged})` : '';
  return `${f.address} (${what}): ${plural(f.counts.sampled, 'sampled record')} — ${countsText(f.counts)}${ack}`;
}

/** The totals line: flows, records, and what happens to them. */
export function impactTotals(impact: PlanImpact): string {
  const sampled = impact.flows.length - impact.unsampled;
  const none = impact.unsampled ? `; ${plural(impact.unsampled, 'flow')} without a sample` : '';
  return `Impact: ${plural(impact.flows.length, 'changed flow')} (${int(sampled)} sampled), ${plural(impact.totals.sampled, 'record')}: ${countsText(impact.totals)}${none}.`;
}

export function impactText(impact: PlanImpact | undefined, opts: { verbose?: boolean; max?: number } = {}): string[] {
  if (!impact) return [];
  const max = opts.verbose ? Number.POSITIVE_INFINITY : (opts.max ?? 50);
  const out = [
    '',
    `Data impact (the deployed and the proposed revision over up to ${int(impact.sample)} stored records per flow; no system was called):`,
  ];
  if (!impact.flows.length) out.push('  no flow changes its mapping, parameters, key or canonical entity');
  const shown = impact.flows.filter((f) => !f.sampled || differs(f) || opts.verbose);
  for (const f of shown.slice(0, max)) {
    out.push(`  ${f.sampled ? (differs(f) ? '~' : '=') : '?'} ${flowHead(f)}`);
    for (const d of f.examples) for (const l of exampleLines(d)) out.push(`      ${l}`);
  }
  if (shown.length > max) out.push(`  … and ${int(shown.length - max)} more flows (see --verbose or --format json)`);
  const same = impact.flows.filter((f) => f.sampled && !differs(f)).length;
  if (same && !opts.verbose) out.push(`  ${plural(same, 'flow')} write every sampled record as today`);
  out.push(impactTotals(impact));
  for (const d of impact.diagnostics) out.push(formatDiagnostic(d));
  return out;
}

/** The impact as a Markdown section: the totals, the errors, a table of the flows that differ, a few examples. */
export function impactMarkdown(impact: PlanImpact | undefined, maxRows = 50, maxExamples = 10): string[] {
  if (!impact) return [];
  const out = ['', '#### Data impact', '', mdEscape(impactTotals(impact))];
  const errors = impact.diagnostics.filter((d) => d.severity === 'error');
  if (impact.diagnostics.length) {
    out.push('', errors.length ? '> [!CAUTION]' : '> [!NOTE]');
    for (const d of impact.diagnostics)
      out.push(
        `> **${d.severity} \`${d.code}\`** \`${d.address ?? ''}\`: ${mdEscape(d.summary)}. ${mdEscape(d.detail)}`,
      );
  }
  const rows = impact.flows.filter((f) => !f.sampled || differs(f));
  if (rows.length) {
    out.push(
      '',
      '| flow | changed | sampled | differently | unchanged | newly filtered | newly dead | newly passing | new keys |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const f of rows.slice(0, maxRows)) {
      const c = f.counts;
      out.push(
        f.sampled
          ? `| \`${f.address}\` | ${f.changed.join(', ')} | ${c.sampled} | ${c.different} | ${c.unchanged} | ${c.newlyFiltered} | ${c.newlyDead} | ${c.newlyPassing + c.newlyWritten} | ${c.keyChanged} |`
          : `| \`${f.address}\` | ${f.changed.join(', ')} | no sample | | | | | | |`,
      );
    }
    if (rows.length > maxRows) out.push(`| … ${int(rows.length - maxRows)} more flows | | | | | | | | |`);
  }
  if (impact.unsampled)
    out.push(
      '',
      `${plural(impact.unsampled, 'flow')} without a stored sample: run each once (\`rsync run <customer>/<flow>\`) or wait for its next run; nothing is known of their data.`,
    );
  const withExamples = rows.filter((f) => f.examples.length).slice(0, maxExamples);
  for (const f of withExamples) {
    out.push('', `<details><summary>Records of <code>${mdEscape(f.address)}</code></summary>`, '', '```diff');
    for (const d of f.examples) {
      const key = d.newKey ? `${d.key} → new key ${d.newKey}` : (d.key ?? '(no key)');
      out.push(`@@ record ${key}: ${OUTCOME[d.outcome]}${d.reason ? ` (${d.reason})` : ''} @@`);
      for (const x of d.fields.slice(0, 12)) {
        if (x.before !== undefined) out.push(`- ${x.path}: ${show(x.before)}`);
        if (x.after !== undefined) out.push(`+ ${x.path}: ${show(x.after)}`);
      }
    }
    out.push('```', '', '</details>');
  }
  return out;
}
