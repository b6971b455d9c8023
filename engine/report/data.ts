/**
 * A customer's monthly SLA report as a value: what was synced (records by flow and outcome), SLA attainment per
 * objective, breaches with their durations and causes, dead letters opened and resolved, and the daily volume and
 * latency the charts draw. Only that customer's flows are read, and only counts, times, flow and SLA names and the
 * causes rsync wrote itself: no record, no PII, no secret, and no other customer's name can reach a report.
 */
import type pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import type { FlowDef } from '../runtime/flows.js';
import { type BreachReport, type FlowSla, type Month, monthlySla } from '../runtime/sla.js';
import { customerDisplayName, dailyFigures, deadLetterFigures } from '../state/sla-inputs.js';
import { addCounts, type Counts, zeroCounts } from '../state/runs.js';
import type { Branding } from '../workspace/branding.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface ReportBranding {
  /** The partner's product (white label), else the partner's name. */
  productName: string;
  partner: string;
  /** A CSS hex colour. */
  primaryColor: string;
  footer: string;
}

export interface MonthlyReport {
  version: 1;
  env: string;
  month: string;
  from: string;
  to: string;
  /** Up to when the figures go: the month's end, or the time of the report for the current month. */
  until: string;
  generatedAt: string;
  customer: { name: string; displayName: string };
  branding: ReportBranding;
  totals: Omit<Counts, 'filteredBy'> & { flows: number };
  flows: (Pick<FlowSla, 'flow' | 'sla' | 'objectives'> & { records: Omit<Counts, 'filteredBy'> })[];
  breaches: (BreachReport & { flow: string })[];
  deadLetters: { opened: number; resolved: number; replayed: number; discarded: number; openAtEnd: number };
  daily: { day: string; read: number; written: number; dead: number; latencyP95Ms: number | null }[];
}

const HEX = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

function reportBranding(b: Branding): ReportBranding {
  const partner = b.partner ?? 'rsync';
  return {
    productName: b.productName ?? partner,
    partner,
    primaryColor: b.primaryColor && HEX.test(b.primaryColor) ? b.primaryColor : '#334155',
    footer: b.footer ?? `Managed by ${partner}`,
  };
}

const plain = (c: Counts): Omit<Counts, 'filteredBy'> => ({
  read: c.read,
  written: c.written,
  unchanged: c.unchanged,
  filtered: c.filtered,
  dead: c.dead,
});

/** The report of one customer's month in one environment. */
export async function monthlyReport(
  db: Queryable,
  o: { env: string; customer: string; month: Month; flows: Iterable<FlowDef>; branding: Branding; now: Date },
): Promise<MonthlyReport> {
  const displayName = await customerDisplayName(db, o.env, o.customer);
  const flows = [...o.flows].filter((f) => f.customer === o.customer);
  if (displayName === undefined && !flows.length)
    throw new RsyncError(
      `No customer "${o.customer}" is deployed in ${o.env}.`,
      ExitCode.FAILED,
      `See the deployed customers with \`rsync status --env ${o.env}\`.`,
    );
  const addresses = flows.map((f) => f.address);
  const until = new Date(Math.min(+o.now, +o.month.end));
  const [slas, daily, deadLetters] = await Promise.all([
    monthlySla(db, o.env, flows, o.month, o.now),
    dailyFigures(db, o.env, addresses, o.month.start, o.month.end),
    deadLetterFigures(db, o.env, addresses, o.month.start, o.month.end),
  ]);
  const totals = slas.reduce((t, s) => addCounts(t, s.records), zeroCounts());
  return {
    version: 1,
    env: o.env,
    month: o.month.name,
    from: o.month.start.toISOString(),
    to: o.month.end.toISOString(),
    until: until.toISOString(),
    generatedAt: o.now.toISOString(),
    customer: { name: o.customer, displayName: displayName ?? o.customer },
    branding: reportBranding(o.branding),
    totals: { ...plain(totals), flows: slas.length },
    flows: slas.map((s) => ({ flow: s.flow, sla: s.sla, records: plain(s.records), objectives: s.objectives })),
    breaches: slas
      .flatMap((s) => s.breaches.map((b) => ({ flow: s.flow, ...b })))
      .sort((a, b) => a.start.localeCompare(b.start) || a.flow.localeCompare(b.flow)),
    deadLetters,
    daily,
  };
}
