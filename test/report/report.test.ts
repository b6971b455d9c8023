/**
 * The monthly SLA report (issue 16, part 5): a month seeded in a real database — runs, webhook deliveries, dead
 * letters and SLA events — for two customers of one partner; `rsync report` for one of them as JSON, HTML and
 * PDF. Its figures are checked against the database with queries of this test's own; the HTML is rendered in
 * Debian's headless Chromium (through playwright-core) and its text checked, with a screenshot kept in
 * test/artifacts/; the PDF is a PDF with the customer's name; the other customer's name, the dead letters' PII and
 * the connection's secret appear nowhere. Without Chromium this test fails (CI installs it: .ci/run).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from '../../engine/report/pdf.js';
import { buildProblem, ROOT, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  cli,
  ENV,
  HOOK_ORDERS,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  stockFlow,
} from '../helpers/runtime.js';

const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const PII = 'jane.doe@example.com';
const OTHER = ['globex', 'Globex Outfitters'];
const day = (d: number, hh = 6, mm = 0) => new Date(Date.UTC(2026, 10, d, hh, mm));

/** Seed November 2026 (and a little of October and December) for a customer, scaled so the two differ. */
async function seedMonth(pool: pg.Pool, customer: string, scale: number): Promise<void> {
  const stock = `${customer}/flow/stock`;
  const orders = `${customer}/flow/orders`;
  const run = (address: string, trigger: string, end: Date, read: number, dead: number, status = 'succeeded') =>
    pool.query(
      `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at, finished_at, read, written, unchanged, filtered, dead)
       VALUES ($1, $2, 1, $3, $4, 'seed', $5, $6, $7, $8, $9, $10, $11)`,
      [ENV, address, trigger, status, new Date(end.getTime() - 60_000), end, read, read - dead - 7, 5, 2, dead],
    );
  for (let d = 1; d <= 30; d++) {
    await run(stock, 'schedule', day(d), scale * (100 + d), d === 10 ? 3 : 0);
    await run(orders, 'event', day(d, 13), scale * 20 + 7, 0);
  }
  await run(stock, 'schedule', new Date('2026-10-31T06:00:00Z'), 999, 9); // another month: not counted
  await run(stock, 'schedule', new Date('2026-12-01T06:00:00Z'), 888, 8);
  // 10 webhook deliveries a day at noon, 1–10 s to be written; on Nov 15 each took 45 s.
  for (let d = 1; d <= 30; d++)
    for (let i = 0; i < 10; i++) {
      const received = day(d, 12, i);
      const ms = d === 15 ? 45_000 : (i + 1) * 1000 * scale;
      await pool.query(
        `INSERT INTO rsync.deliveries (env, address, delivery_id, topic, records, received_at, done_at)
         VALUES ($1, $2, $3, 'orders/create', '[]', $4, $5)`,
        [ENV, orders, `${d}-${i}`, received, new Date(received.getTime() + ms)],
      );
    }
  const letter = (created: Date, status: string, resolved: Date | null) =>
    pool.query(
      `INSERT INTO rsync.dead_letters (env, address, customer, revision, stage, error, payload, status, created_at, resolved_at)
       VALUES ($1, $2, $3, 1, 'write', $4, $5, $6, $7, $8)`,
      [ENV, stock, customer, `the target refused ${PII}`, JSON.stringify({ email: PII }), status, created, resolved],
    );
  await letter(new Date('2026-10-30T10:00:00Z'), 'replayed', day(2)); // opened in October, resolved in November
  await letter(day(10), 'replayed', day(12));
  await letter(day(10), 'discarded', day(13));
  await letter(day(10), 'open', null);
  const event = (address: string, objective: string, target: string, start: Date, end: Date | null, cause: string) =>
    pool.query(
      `INSERT INTO rsync.sla_events (env, address, customer, sla, objective, target, started_at, ended_at, worst, cause)
       VALUES ($1, $2, $3, 'silver', $4, $5, $6, $7, '2h', $8)`,
      [ENV, address, customer, objective, target, start, end, cause],
    );
  await event(stock, 'freshness', '1h', day(20, 7), day(21, 6), 'no successful run for more than 1h: 1 run failed');
  await event(
    orders,
    'latencyP95',
    '30s',
    day(15, 12),
    day(15, 13),
    "the p95 of the last hour's 10 deliveries was 45s",
  );
  if (customer === 'globex')
    await event(stock, 'successRate', '99%', day(3), day(4), 'Globex Outfitters: every record of the night dead');
}

describe('rsync report', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  const out = (f: string) => path.join(dir, f);
  /** `rsync report` of acme's November in a format, into a file of the workspace's folder. */
  const report = (format: string, file: string, env: Record<string, string> = {}) =>
    runCli(
      ['report', '--env', ENV, '--customer', 'acme', '--month', '2026-11', '--format', format, '--out', out(file)],
      dir,
      {
        url: db.url,
        actor: 'ops',
        env,
      },
    );

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts', 'cli/commands/report.ts']);
    if (problem) throw new Error(problem);
    // Never skipped: a machine without Chromium fails here, saying so (CI installs Debian's: .ci/run).
    if (!existsSync(chromiumPath()))
      throw new Error(
        `No Chromium at ${chromiumPath()}: this test renders the report in it. Install Debian's chromium (sudo apt-get install chromium) or set RSYNC_CHROMIUM.`,
      );
    db = await testDatabase('report');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test report' });
    dir = runtimeWorkspace('rsync-report-', { connections: SANDBOX_SYSTEMS, flows: [HOOK_ORDERS, stockFlow()] });
    const ws = path.join(dir, 'rsync.yaml');
    writeFileSync(
      ws,
      readFileSync(ws, 'utf8')
        .replace(
          'partner: { name: Acme Retail Integrations }',
          'partner: { name: Northstar Integrations }\n  branding: { productName: Northstar Connect, primaryColor: "#7C3AED", footer: Managed for you by Northstar Integrations }',
        )
        .replace(
          'spec: { freshness: 1h, successRate: "99%" }',
          'spec: { freshness: 1h, latencyP95: 30s, successRate: "99%" }',
        ),
    );
    cpSync(path.join(dir, 'integrations', 'acme'), path.join(dir, 'integrations', 'globex'), { recursive: true });
    const cy = path.join(dir, 'integrations', 'globex', 'customer.yaml');
    writeFileSync(
      cy,
      readFileSync(cy, 'utf8').replace('name: acme', 'name: globex').replace('Acme Stores', 'Globex Outfitters'),
    );
    await applyWorkspace(dir, db.url);
    await seedMonth(pool, 'acme', 1);
    await seedMonth(pool, 'globex', 3);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("gives the month's figures as the database has them (JSON), for that customer only", async () => {
    const r = await report('json', 'acme.json');
    expect(r.status, show(r)).toBe(0);
    expect(r.stderr).toContain('JSON report of acme for 2026-11');
    const text = readFileSync(out('acme.json'), 'utf8');
    const figures = JSON.parse(text);
    const q = async (sql: string, ...args: unknown[]) => (await pool.query(sql, args)).rows;
    const [totals] = await q(
      `SELECT sum(read)::int AS read, sum(written)::int AS written, sum(unchanged)::int AS unchanged,
              sum(filtered)::int AS filtered, sum(dead)::int AS dead
         FROM rsync.runs WHERE address LIKE 'acme/%' AND started_at >= '2026-11-01Z' AND started_at < '2026-12-01Z'`,
    );
    expect(figures.totals).toEqual({ ...totals, flows: 2 });
    expect(totals.read).toBe(30 * 100 + 465 + 30 * 27); // hand check of the seeding: Σ(100 + d) + 30 × 27
    const byFlow = await q(
      `SELECT split_part(address, '/', 3) AS flow, sum(read)::int AS read, sum(dead)::int AS dead FROM rsync.runs
        WHERE address LIKE 'acme/%' AND started_at >= '2026-11-01Z' AND started_at < '2026-12-01Z' GROUP BY 1 ORDER BY 1`,
    );
    expect(
      figures.flows.map((f: { flow: string; records: { read: number; dead: number } }) => ({
        flow: f.flow,
        read: f.records.read,
        dead: f.records.dead,
      })),
    ).toEqual(byFlow);
    expect(figures.customer).toEqual({ name: 'acme', displayName: 'Acme Stores' });
    expect(figures.branding).toEqual({
      productName: 'Northstar Connect',
      partner: 'Northstar Integrations',
      primaryColor: '#7C3AED',
      footer: 'Managed for you by Northstar Integrations',
    });
    const [dl] = await q(
      `SELECT count(*) FILTER (WHERE created_at >= '2026-11-01Z' AND created_at < '2026-12-01Z')::int AS opened,
              count(*) FILTER (WHERE resolved_at >= '2026-11-01Z' AND resolved_at < '2026-12-01Z')::int AS resolved
         FROM rsync.dead_letters WHERE customer = 'acme'`,
    );
    expect(figures.deadLetters).toEqual({ ...dl, replayed: 2, discarded: 1, openAtEnd: 1 });
    expect(dl).toEqual({ opened: 3, resolved: 3 });
    // Breaches: the two of acme's, with their durations in the month.
    expect(
      figures.breaches.map((b: { flow: string; objective: string; durationMs: number }) => [
        b.flow,
        b.objective,
        b.durationMs,
      ]),
    ).toEqual([
      ['orders', 'latencyP95', 3_600_000],
      ['stock', 'freshness', 23 * 3_600_000],
    ]);
    // Daily figures: one per day, summing to the month; Nov 15's latency p95 is its 45 s.
    expect(figures.daily).toHaveLength(30);
    expect(figures.daily.reduce((n: number, d: { read: number }) => n + d.read, 0)).toBe(totals.read);
    expect(figures.daily[14]).toMatchObject({ day: '2026-11-15', latencyP95Ms: 45_000 });
    const [p95] = await q(
      `SELECT round(1000 * percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - received_at)))::int AS ms
         FROM rsync.deliveries WHERE address = 'acme/flow/orders' AND done_at >= '2026-11-03Z' AND done_at < '2026-11-04Z'`,
    );
    expect(figures.daily[2].latencyP95Ms).toBe(p95.ms);
    // Attainment: orders' month p95 against 30 s, stock's success rate: (read − dead) / read.
    const stock = figures.flows.find((f: { flow: string }) => f.flow === 'stock');
    const sr = stock.objectives.find((o: { objective: string }) => o.objective === 'successRate');
    const stockRow = byFlow.find((f) => f.flow === 'stock')!;
    expect(sr.attainment).toBe(
      `${(Math.floor(((stockRow.read - stockRow.dead) / stockRow.read) * 10_000) / 100).toFixed(2)}%`,
    );
    expect(sr.budget).toMatchObject({ unit: 'records', allowed: stockRow.read / 100, used: 3 });
    for (const s of [...OTHER, PII, 'rsync-sandbox']) expect(text).not.toContain(s);
  });

  it('renders the HTML in headless Chromium with the figures, the chart and the branding, and nothing of another customer', async () => {
    const r = await report('html', 'acme.html');
    expect(r.status, show(r)).toBe(0);
    const html = readFileSync(out('acme.html'), 'utf8');
    for (const s of [...OTHER, PII]) expect(html).not.toContain(s);
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i); // self-contained: nothing fetched
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1024, height: 900 } });
      const requests: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      await page.setContent(html, { waitUntil: 'load' });
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'report-acme-2026-11.png'), fullPage: true });
      expect(requests).toEqual([]);
      // As the PDF lays it out: print media, an A4 page's width.
      const print = await browser.newPage({ viewport: { width: 794, height: 1123 } });
      await print.emulateMedia({ media: 'print' });
      await print.setContent(html, { waitUntil: 'load' });
      await print.screenshot({ path: path.join(ARTIFACTS, 'report-acme-2026-11-print.png'), fullPage: true });
      // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what a reader sees
      const text = await page.locator('body').innerText();
      const json = JSON.parse(readFileSync(out('acme.json'), 'utf8'));
      expect(text).toContain('Northstar Connect');
      expect(text).toContain('Acme Stores');
      expect(text).toContain('November 2026');
      expect(text).toContain('Managed for you by Northstar Integrations');
      expect(text).toContain(json.totals.read.toLocaleString('en-US'));
      expect(text).toMatch(/dead letters opened \/ resolved/);
      expect(text).toContain('no successful run for more than 1h: 1 run failed');
      expect(text).toContain('over by 948 minutes');
      expect(text).toMatch(/stock\s+Freshness 1h\s+Nov 20, 07:00 UTC\s+Nov 21, 06:00 UTC\s+23h/);
      for (const f of json.flows) expect(text).toContain(f.records.read.toLocaleString('en-US'));
      // The chart: 30 days of bars (Nov 10 has dead letters on top) and the latency line.
      expect(await page.locator('svg.chart rect').count()).toBe(31);
      expect(await page.locator('svg.chart polyline').count()).toBe(1);
      const box = await page.locator('svg.chart').boundingBox();
      expect(box!.width).toBeGreaterThan(600);
      for (const s of OTHER) expect(text).not.toContain(s);
    } finally {
      await browser.close();
    }
  });

  it('prints the PDF with Chromium, and says how to install it when there is none', async () => {
    const r = await report('pdf', 'acme.pdf');
    expect(r.status, show(r)).toBe(0);
    const pdf = readFileSync(out('acme.pdf'));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(10_000);
    // Chromium writes the page's title (product — customer — month) into the PDF's Info dictionary.
    const latin = pdf.toString('latin1');
    const utf16 = Buffer.from('Acme Stores', 'utf16le').swap16().toString('hex').toUpperCase();
    expect(latin.includes('Acme Stores') || latin.toUpperCase().includes(utf16)).toBe(true);
    for (const s of OTHER) {
      expect(latin).not.toContain(s);
      expect(latin.toUpperCase()).not.toContain(Buffer.from(s, 'utf16le').swap16().toString('hex').toUpperCase());
    }
    const none = await report('pdf', 'none.pdf', { RSYNC_CHROMIUM: path.join(dir, 'no-chromium') });
    expect(none.status, show(none)).toBe(69);
    expect(none.stderr).toContain(`No Chromium at ${path.join(dir, 'no-chromium')}`);
    expect(none.stderr).toContain('sudo apt-get install chromium');
    const unknown = await cli(
      dir,
      db.url,
      'report',
      '--env',
      ENV,
      '--customer',
      'initech',
      '--month',
      '2026-11',
      '--format',
      'json',
    );
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('No customer "initech" is deployed in staging.');
  });
});
