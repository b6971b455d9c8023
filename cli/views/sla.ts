/** `rsync sla` as text: per flow and objective, attainment, breaches and budget left; then each breach. */
import { type FlowSla, formatBudget, type Month } from '../../engine/runtime/sla.js';
import { formatDuration } from '../../engine/util/duration.js';
import { table } from '../runtime.js';

const at = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : 'ongoing');

export function renderSla(env: string, month: Month, flows: FlowSla[]): string {
  const withSla = flows.filter((f) => f.objectives.length);
  if (!withSla.length) return `No flow in ${env} has an SLA objective to evaluate (${month.name}).`;
  const rows: string[][] = [];
  for (const f of withSla)
    for (const o of f.objectives)
      rows.push([
        `${f.customer}/${f.flow}`,
        f.sla ?? '-',
        o.objective,
        o.target,
        o.attainment ?? '-',
        o.met === null ? 'no data' : o.met ? 'met' : 'missed',
        o.breaches ? `${o.breaches} (${formatDuration(o.breachMs)})` : '0',
        o.budget
          ? `${o.budget.left < 0 ? `over by ${formatBudget(-o.budget.left)}` : `${formatBudget(o.budget.left)} (${o.budget.leftShare})`} of ${formatBudget(o.budget.allowed)} ${o.budget.unit}`
          : '-',
      ]);
  const out = [
    `${env}, ${month.name} (UTC):`,
    table(['FLOW', 'SLA', 'OBJECTIVE', 'TARGET', 'ATTAINED', 'STATUS', 'BREACHES', 'BUDGET LEFT'], rows),
  ];
  const breaches = withSla.flatMap((f) => f.breaches.map((b) => ({ flow: `${f.customer}/${f.flow}`, ...b })));
  if (breaches.length) {
    out.push(
      '',
      'Breaches:',
      table(
        ['FLOW', 'OBJECTIVE', 'START', 'END', 'DURATION', 'WORST', 'CAUSE'],
        breaches
          .sort((a, b) => a.start.localeCompare(b.start))
          .map((b) => [
            b.flow,
            `${b.objective} ${b.target}`,
            at(b.start),
            at(b.end),
            formatDuration(b.durationMs),
            b.worst ?? '-',
            b.cause ?? '',
          ]),
      ),
    );
  }
  return out.join('\n');
}
