import { writeFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { htmlToPdf, type MonthlyReport, monthlyReport, reportHtml } from '../../engine/report/index.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { monthOf } from '../../engine/runtime/sla.js';
import { declaredBrandingAt } from '../../engine/workspace/index.js';
import { customerQueryable } from '../../engine/state/tenancy.js';
import { RsyncCommand } from '../base.js';
import { monthFlag } from '../flags.js';
import { openRuntime, runtimeFlags } from '../runtime.js';

export type ReportOutput = MonthlyReport & { out?: string; format: string; bytes?: number };

export default class Report extends RsyncCommand<ReportOutput> {
  static summary = "A customer's monthly SLA report, white-labelled with the partner's branding: HTML, PDF or JSON.";
  static description =
    `What was synced (records by flow and outcome), SLA attainment per objective, breaches with their durations and
causes, dead letters opened and resolved, and a chart of daily volume and webhook latency. The HTML is one
self-contained page (inline CSS and SVG); the PDF is that page printed by headless Chromium (RSYNC_CHROMIUM, else
/usr/bin/chromium). It holds counts, times, flow and SLA names only: no record, no PII, no secret, no other customer.
The month defaults to the last complete one (UTC).`;
  static examples = [
    '<%= config.bin %> report --customer northwind --month 2026-11 --format pdf --out northwind-2026-11.pdf',
    '<%= config.bin %> report --customer contoso --format html > contoso.html',
  ];
  static flags = {
    ...runtimeFlags,
    customer: Flags.string({ char: 'c', description: 'the customer', required: true }),
    month: monthFlag(),
    format: Flags.string({ options: ['html', 'pdf', 'json'], default: 'html', description: 'what to write' }),
    out: Flags.string({ char: 'o', description: 'write the report to this file (default: standard output)' }),
  };

  async run(): Promise<ReportOutput> {
    const { flags } = await this.parse(Report);
    const now = new Date();
    const month = flags.month ?? monthOf(new Date(monthOf(now).start.getTime() - 1));
    if (flags.format === 'pdf' && !flags.out && process.stdout.isTTY)
      throw new RsyncError(
        'A PDF is not written to a terminal.',
        ExitCode.USAGE,
        'Give --out FILE, or redirect standard output to a file.',
      );
    const { db, env, root } = await openRuntime(flags, this.json);
    let report: MonthlyReport;
    try {
      // The customer's rows only, under row-level security (state/tenancy.ts): a report names no other tenant.
      const scoped = customerQueryable(db.pool, flags.customer);
      const flows = await loadFlows(scoped, env);
      const branding = await declaredBrandingAt(root);
      report = await monthlyReport(scoped, {
        env,
        customer: flags.customer,
        month,
        flows: flows.values(),
        branding,
        now,
      });
    } finally {
      await db.close();
    }
    const body: string | Buffer =
      flags.format === 'json'
        ? `${JSON.stringify(report, null, 2)}\n`
        : flags.format === 'pdf'
          ? await htmlToPdf(reportHtml(report))
          : reportHtml(report);
    const bytes = Buffer.byteLength(body);
    if (flags.out) {
      try {
        writeFileSync(flags.out, body);
      } catch (e) {
        throw new RsyncError(
          `Cannot write ${flags.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
          ExitCode.FAILED,
          'Give a path in a folder you may write to.',
        );
      }
      this.note(
        `${flags.format.toUpperCase()} report of ${flags.customer} for ${month.name}: ${flags.out} (${bytes.toLocaleString('en-US')} bytes)`,
      );
    } else if (!this.json) process.stdout.write(body);
    return { ...report, format: flags.format, ...(flags.out ? { out: flags.out, bytes } : {}) };
  }
}
