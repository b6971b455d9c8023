/**
 * The monthly report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no font, image or
 * stylesheet fetched from anywhere (it renders the same offline, in a mail client, and as the PDF). White-labelled:
 * the partner's product name, colour and footer; rsync is not named. Every text from the database is escaped.
 */
import { formatDuration } from '../util/duration.js';
import type { MonthlyReport } from './data.js';

const esc = (s: unknown): string =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const n = (x: number): string => x.toLocaleString('en-US');

/** `2026-11-04T10:00:00.000Z` → `Nov 4, 10:00 UTC`. */
function when(iso: string | null): string {
  if (!iso) return 'ongoing';
  const d = new Date(iso);
  return `${d.toLocaleString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' })}, ${iso.slice(11, 16)} UTC`;
}

const OBJECTIVE: Record<string, string> = {
  freshness: 'Freshness',
  latencyP95: 'Latency (p95)',
  successRate: 'Success rate',
};

function monthLabel(r: MonthlyReport): string {
  return new Date(r.from).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** A round axis maximum at or above `max`: 1, 2, 2.5 or 5 × a power of ten. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Daily records (bars: written, and dead-lettered on top) and the day's webhook latency p95 (a line, right axis). */
function dailyChart(r: MonthlyReport): string {
  const W = 720;
  const H = 240;
  const L = 56;
  const R = 56;
  const T = 16;
  const B = 36;
  const days = r.daily;
  const cw = (W - L - R) / Math.max(1, days.length);
  const maxRecords = niceMax(Math.max(0, ...days.map((d) => d.read)));
  const latencies = days.map((d) => d.latencyP95Ms).filter((x): x is number => x !== null);
  const maxLatency = niceMax(Math.max(0, ...latencies));
  const y = (v: number) => T + (H - T - B) * (1 - v / maxRecords);
  const yl = (v: number) => T + (H - T - B) * (1 - v / maxLatency);
  const color = r.branding.primaryColor;
  const out: string[] = [
    `<svg class="chart" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Records per day and webhook latency p95 per day" xmlns="http://www.w3.org/2000/svg">`,
  ];
  for (const f of [0, 0.5, 1]) {
    const yy = y(maxRecords * f);
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#e2e8f0"/>`,
      `<text x="${L - 6}" y="${yy + 4}" text-anchor="end" class="axis">${esc(n(maxRecords * f))}</text>`,
    );
    if (latencies.length)
      out.push(
        `<text x="${W - R + 6}" y="${yl(maxLatency * f) + 4}" class="axis">${f === 0 ? '0' : esc(formatDuration(Math.round(maxLatency * f)))}</text>`,
      );
  }
  days.forEach((d, i) => {
    const x = L + i * cw + cw * 0.15;
    const w = cw * 0.7;
    const ok = d.read - d.dead;
    if (ok > 0)
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(ok).toFixed(1)}" width="${w.toFixed(1)}" height="${(y(0) - y(ok)).toFixed(1)}" fill="${color}" opacity="0.35"><title>${esc(d.day)}: ${esc(n(d.read))} records</title></rect>`,
      );
    if (d.dead > 0)
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(d.read).toFixed(1)}" width="${w.toFixed(1)}" height="${(y(ok) - y(d.read)).toFixed(1)}" fill="#dc2626"><title>${esc(d.day)}: ${esc(n(d.dead))} dead-lettered</title></rect>`,
      );
    if (i % 5 === 0 || i === days.length - 1)
      out.push(
        `<text x="${(L + i * cw + cw / 2).toFixed(1)}" y="${H - B + 16}" text-anchor="middle" class="axis">${esc(Number(d.day.slice(8)))}</text>`,
      );
  });
  const points = days
    .map((d, i) =>
      d.latencyP95Ms === null ? null : `${(L + i * cw + cw / 2).toFixed(1)},${yl(d.latencyP95Ms).toFixed(1)}`,
    )
    .filter((p): p is string => p !== null);
  if (points.length > 1)
    out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#0f172a" stroke-width="2"/>`);
  for (const p of points) {
    const [cx, cy] = p.split(',');
    out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="#0f172a"/>`);
  }
  out.push(
    `<line x1="${L}" x2="${W - R}" y1="${y(0)}" y2="${y(0)}" stroke="#94a3b8"/>`,
    `<text x="${L}" y="${H - 4}" class="axis">day of ${esc(monthLabel(r))} (UTC)</text>`,
    '</svg>',
    `<div class="legend"><span><i style="background:${color};opacity:.35"></i>records synced</span><span><i style="background:#dc2626"></i>dead-lettered</span>${latencies.length ? '<span><i style="background:#0f172a;height:2px"></i>webhook latency p95 (right axis)</span>' : ''}</div>`,
  );
  return out.join('\n');
}

function objectiveRows(r: MonthlyReport): string {
  const rows: string[] = [];
  for (const f of r.flows) {
    if (!f.objectives.length) {
      rows.push(`<tr><td>${esc(f.flow)}</td><td colspan="6" class="muted">no SLA</td></tr>`);
      continue;
    }
    f.objectives.forEach((o, i) => {
      const status =
        o.met === null
          ? '<span class="muted">no data</span>'
          : o.met
            ? '<span class="ok">met</span>'
            : '<span class="bad">missed</span>';
      const budget = o.budget
        ? `${o.budget.left < 0 ? `<span class="bad">over by ${esc(n(-o.budget.left))} ${esc(o.budget.unit)}</span>` : esc(o.budget.leftShare)} <span class="muted">(${esc(n(o.budget.used))} of ${esc(n(o.budget.allowed))} ${esc(o.budget.unit)} used)</span>`
        : '<span class="muted">—</span>';
      rows.push(
        `<tr>${i === 0 ? `<td rowspan="${f.objectives.length}">${esc(f.flow)}<div class="muted">${esc(f.sla ?? '')}</div></td>` : ''}<td>${esc(OBJECTIVE[o.objective])}</td><td>${esc(o.target)}</td><td>${esc(o.attainment ?? '—')}</td><td>${status}</td><td class="num">${esc(n(o.breaches))}${o.breachMs ? ` <span class="muted">(${esc(formatDuration(o.breachMs))})</span>` : ''}</td><td>${budget}</td></tr>`,
      );
    });
  }
  return rows.join('\n');
}

export function reportHtml(r: MonthlyReport): string {
  const b = r.branding;
  const objectives = r.flows.flatMap((f) => f.objectives);
  const measured = objectives.filter((o) => o.met !== null);
  const met = measured.filter((o) => o.met).length;
  const title = `${b.productName} — ${r.customer.displayName} — ${monthLabel(r)}`;
  const synced = r.flows
    .map(
      (f) =>
        `<tr><td>${esc(f.flow)}</td><td class="num">${esc(n(f.records.written))}</td><td class="num">${esc(n(f.records.unchanged))}</td><td class="num">${esc(n(f.records.filtered))}</td><td class="num">${f.records.dead ? `<span class="bad">${esc(n(f.records.dead))}</span>` : '0'}</td><td class="num"><b>${esc(n(f.records.read))}</b></td></tr>`,
    )
    .join('\n');
  const t = r.totals;
  const breaches = r.breaches.length
    ? r.breaches
        .map(
          (x) =>
            `<tr><td>${esc(x.flow)}</td><td>${esc(OBJECTIVE[x.objective])} ${esc(x.target)}</td><td class="when">${esc(when(x.start))}</td><td class="when">${esc(when(x.end))}</td><td class="num">${esc(formatDuration(x.durationMs))}</td><td>${esc(x.worst ?? '')}</td><td>${esc(x.cause ?? '')}</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="7" class="muted">No breach this month.</td></tr>';
  const d = r.deadLetters;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  :root { --brand: ${b.primaryColor}; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #0f172a; background: #fff; }
  main { max-width: 960px; margin: 0 auto; padding: 28px 32px 40px; }
  header { display: flex; justify-content: space-between; align-items: flex-end; border-bottom: 4px solid var(--brand); padding-bottom: 14px; }
  .brand { font-size: 20px; font-weight: 700; color: var(--brand); letter-spacing: .01em; }
  h1 { font-size: 24px; margin: 4px 0 0; }
  h2 { font-size: 15px; margin: 28px 0 10px; color: var(--brand); text-transform: uppercase; letter-spacing: .06em; }
  .period { text-align: right; color: #475569; }
  .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 20px; }
  .card { border: 1px solid #e2e8f0; border-radius: 8px; padding: 12px 14px; break-inside: avoid; }
  .card .v { font-size: 22px; font-weight: 700; }
  .card .k { color: #475569; font-size: 12px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
  th { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #475569; background: #f8fafc; }
  tr { break-inside: avoid; }
  td.when { white-space: nowrap; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  tfoot td { font-weight: 700; border-top: 2px solid #cbd5e1; }
  .muted { color: #64748b; font-size: 12px; }
  .ok { color: #15803d; font-weight: 600; }
  .bad { color: #dc2626; font-weight: 600; }
  .chart { display: block; margin-top: 4px; }
  .chart .axis { font-size: 10px; fill: #64748b; }
  .legend { display: flex; gap: 18px; color: #475569; font-size: 12px; margin-top: 4px; }
  .legend i { display: inline-block; width: 12px; height: 10px; margin-right: 6px; vertical-align: middle; }
  footer { margin-top: 36px; padding-top: 12px; border-top: 1px solid #e2e8f0; color: #64748b; font-size: 12px; display: flex; justify-content: space-between; }
  @page { size: A4; margin: 14mm 12mm; }
  @media print { main { padding: 0; } }
</style>
</head>
<body>
<main>
<header>
  <div>
    <div class="brand">${esc(b.productName)}</div>
    <h1>${esc(r.customer.displayName)}</h1>
    <div class="muted">Monthly service report · ${esc(monthLabel(r))}</div>
  </div>
  <div class="period">${esc(r.env)}<br>${esc(r.from.slice(0, 10))} to ${esc(new Date(new Date(r.to).getTime() - 1).toISOString().slice(0, 10))}${r.until < r.to ? `<br><span class="muted">figures up to ${esc(when(r.until))}</span>` : ''}</div>
</header>

<section class="cards">
  <div class="card"><div class="v">${esc(n(t.read))}</div><div class="k">records synced by ${esc(n(t.flows))} flows</div></div>
  <div class="card"><div class="v">${esc(measured.length ? `${met} of ${measured.length}` : '—')}</div><div class="k">SLA objectives met</div></div>
  <div class="card"><div class="v">${esc(n(r.breaches.length))}</div><div class="k">SLA breaches</div></div>
  <div class="card"><div class="v">${esc(n(d.opened))} / ${esc(n(d.resolved))}</div><div class="k">dead letters opened / resolved</div></div>
</section>

<h2>Daily volume and latency</h2>
${dailyChart(r)}

<h2>What was synced</h2>
<table>
  <thead><tr><th>flow</th><th class="num">written</th><th class="num">unchanged</th><th class="num">filtered</th><th class="num">dead-lettered</th><th class="num">records</th></tr></thead>
  <tbody>
${synced}
  </tbody>
  <tfoot><tr><td>total</td><td class="num">${esc(n(t.written))}</td><td class="num">${esc(n(t.unchanged))}</td><td class="num">${esc(n(t.filtered))}</td><td class="num">${esc(n(t.dead))}</td><td class="num">${esc(n(t.read))}</td></tr></tfoot>
</table>

<h2>SLA attainment</h2>
<table>
  <thead><tr><th>flow</th><th>objective</th><th>target</th><th>attained</th><th>status</th><th class="num">breaches</th><th>error budget left</th></tr></thead>
  <tbody>
${objectiveRows(r)}
  </tbody>
</table>

<h2>Breaches</h2>
<table>
  <thead><tr><th>flow</th><th>objective</th><th>start</th><th>end</th><th class="num">duration</th><th>worst</th><th>cause</th></tr></thead>
  <tbody>
${breaches}
  </tbody>
</table>

<h2>Dead letters</h2>
<table>
  <tbody>
    <tr><td>opened this month</td><td class="num">${esc(n(d.opened))}</td></tr>
    <tr><td>resolved this month</td><td class="num">${esc(n(d.resolved))} <span class="muted">(${esc(n(d.replayed))} replayed, ${esc(n(d.discarded))} discarded)</span></td></tr>
    <tr><td>still open at the end of the month</td><td class="num">${esc(n(d.openAtEnd))}</td></tr>
  </tbody>
</table>

<footer><span>${esc(b.footer)}</span><span>Generated ${esc(when(r.generatedAt))}</span></footer>
</main>
</body>
</html>
`;
}
