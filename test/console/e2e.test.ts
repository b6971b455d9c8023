/**
 * The console end to end in Debian's headless Chromium (playwright-core), against a real worker serving it
 * (test/console/setup.ts): an operator signs in with a token, opens a dead letter, edits its payload and retries
 * it, and sees it written — the letter replayed, the ledger and the target holding the key; a customer viewer
 * signs in and reaches none of another customer's pages or objects, tried with guessed addresses and ids and with
 * search. A screenshot of each page is kept in test/artifacts/console-*.png. Without Chromium this test fails
 * (CI installs it: .ci/run).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from '../../engine/report/pdf.js';
import { ROOT } from '../helpers/cli.js';
import { type ConsoleWorld, consoleWorld, PII, planAwaitingApproval } from './setup.js';

const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
let w: ConsoleWorld;
let browser: Browser;

async function signedIn(token: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  await page.goto(`${w.base}/`);
  await page.getByRole('heading', { name: 'Sign in to Acme Connect' }).waitFor();
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return page;
}

/** The text of `selector` as rendered: what a reader sees (cells apart, hidden parts left out). */
// biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what a reader sees
const rendered = (page: Page, selector: string) => page.locator(selector).innerText();

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });

describe('the console in Chromium', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (!existsSync(chromiumPath()))
      throw new Error(
        `No Chromium at ${chromiumPath()}: this test drives the console in it. Install Debian's chromium (sudo apt-get install chromium) or set RSYNC_CHROMIUM.`,
      );
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await consoleWorld('console_e2e');
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  it('lets an operator edit and retry a dead letter, and shows it written', async () => {
    const page = await signedIn(w.tokens.operator);
    // The overview: both customers' flows, their health, the open dead letters; the partner's branding.
    await page.getByRole('link', { name: 'stock' }).first().waitFor();
    const overview = await rendered(page, 'main');
    expect(overview).toContain('4 flows');
    expect(overview).toContain('2 open dead letters');
    expect(overview).toMatch(/acme\s+stock/);
    expect(overview).toMatch(/globex\s+stock/);
    expect(await rendered(page, '.product')).toBe('Acme Connect');
    expect(await rendered(page, 'footer')).toContain('Managed by Acme Retail Integrations');
    await shot(page, 'overview');

    // The flow page: revision, trigger, runs with their counts, the chart, the mapping and the policy.
    await page.getByRole('link', { name: 'stock' }).first().click();
    await page.getByRole('heading', { name: 'Recent runs' }).waitFor();
    const flow = await rendered(page, 'main');
    expect(flow).toContain('acme / stock');
    expect(flow).toMatch(/revision\s+1/);
    expect(flow).toContain('manual');
    expect(flow).toContain('$number(qty)');
    expect(await page.locator('svg.chart rect.bar').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: /#\d+/ }).first().click();
    await shot(page, 'flow');

    // The dead letters: listed by flow and error; the acme one opened.
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'By flow and error' }).waitFor();
    await page.getByRole('link', { name: `#${w.letters.acme.id}` }).waitFor();
    expect(await rendered(page, 'main')).not.toContain(PII);
    await shot(page, 'dead-letters');
    await page.getByRole('link', { name: `#${w.letters.acme.id}` }).click();
    await page.getByRole('heading', { name: 'Edit and retry' }).waitFor();
    const editor = page.getByLabel('edited payload');
    const shown = JSON.parse(await editor.inputValue());
    expect(shown.customer.email).toBe('***'); // PII masked in what is shown
    expect(shown.qty).toBe('not-a-number');
    // Invalid JSON cannot be sent.
    await editor.fill('{ "qty": ');
    expect(await page.getByRole('button', { name: 'Save and retry' }).isDisabled()).toBe(true);
    await editor.fill(JSON.stringify({ ...shown, qty: '7' }, null, 2));
    await page.getByLabel('Reason (kept in the audit log)').fill('qty was typed as text');
    await shot(page, 'dead-letter');
    await page.getByRole('button', { name: 'Save and retry' }).click();
    await page.getByText('edited and retried: written').waitFor();
    await page.locator('.badge.s-replayed').waitFor();
    await shot(page, 'dead-letter-retried');

    const letter = await w.pool.query(
      `SELECT status, resolved_by, edited_shown, payload FROM rsync.dead_letters WHERE id = $1`,
      [w.letters.acme.id],
    );
    expect(letter.rows[0].status).toBe('replayed');
    expect(letter.rows[0].resolved_by).toMatch(/^token:[a-z0-9]{12} olga \(operator\)$/);
    expect(letter.rows[0].payload.qty).toBe('not-a-number'); // the original, kept beside the edit
    expect(letter.rows[0].edited_shown.qty).toBe('7');
    const ledger = await w.pool.query(
      `SELECT target_id FROM rsync.ledger WHERE address = 'acme/flow/stock' AND key = $1`,
      [w.letters.acme.key],
    );
    expect(ledger.rows).toHaveLength(1);
    const target = await w.pool.query(
      `SELECT record FROM rsync_sandbox.writes WHERE system = 'acme/shop' AND key = $1`,
      [w.letters.acme.key],
    );
    expect(target.rows[0].record.available).toBe(7);

    // The record's journey: dead-lettered, edited, replayed, written.
    await page.getByRole('link', { name: 'journey', exact: true }).click();
    await page.locator('.journey').first().waitFor();
    const journey = await rendered(page, 'main');
    for (const step of ['dead-lettered', 'edited', 'replayed', 'written']) expect(journey).toContain(step);
    expect(journey).toContain(ledger.rows[0].target_id);
    await shot(page, 'journey');

    // Changes: the apply, with its commit and summary.
    await page.getByRole('link', { name: 'Changes' }).click();
    await page.getByRole('heading', { name: 'Applies and promotions' }).waitFor();
    expect(await rendered(page, 'main')).toMatch(/apply[\s\S]*change\(s\)/);
    await shot(page, 'changes');
    await page.context().close();
  });

  it("keeps a customer viewer to its own customer: no page, object or search result of another's", async () => {
    const page = await signedIn(w.tokens.acmeViewer);
    await page.getByRole('link', { name: 'stock' }).first().waitFor();
    const overview = await rendered(page, 'body');
    expect(overview).toContain('2 flows');
    expect(overview.toLowerCase()).not.toContain('globex');
    await shot(page, 'customer-overview');

    const guessed = [
      '/flows/globex/stock',
      '/flows/globex/orders',
      `/dead-letters/${w.letters.globex.id}`,
      '/dead-letters?flow=globex/flow/stock',
      `/journey?q=${encodeURIComponent(w.letters.globex.key)}`,
      '/journey?q=stock-2001',
    ];
    for (const p of guessed) {
      await page.goto(w.base + p);
      await page
        .getByText(/Not found|No dead letters match|Nothing found/)
        .first()
        .waitFor();
      const text = await rendered(page, 'body');
      expect(text.toLowerCase().replace(/stock-2\d{3}|globex\/flow\/stock/g, ''), p).not.toContain('globex');
      expect(text).not.toContain(PII);
    }
    await shot(page, 'customer-guessed');
    // Its own dead letter: shown without payload and without actions.
    await page.goto(`${w.base}/dead-letters/${w.letters.acme.id}`);
    await page.getByRole('heading', { name: `Dead letter #${w.letters.acme.id}` }).waitFor();
    expect(await page.getByRole('heading', { name: /Payload/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Replay' }).count()).toBe(0);
    // The API behind the pages, called from the page with its session: the other's objects are 404.
    const statuses = await page.evaluate(
      async (ids) =>
        Promise.all(
          [`/api/dead-letters/${ids.globex}`, '/api/flows/globex/stock', `/api/dead-letters/${ids.acme}`].map(
            async (u) => (await fetch(u)).status,
          ),
        ),
      { globex: w.letters.globex.id, acme: w.letters.acme.id },
    );
    expect(statuses).toEqual([404, 404, 200]);
    await page.context().close();
  });

  it('shows a plan awaiting approval with n of N approvals, and an Approve button to an operator only', async () => {
    const { hash, restore } = await planAwaitingApproval(w);
    try {
      const viewer = await signedIn(w.tokens.viewer);
      await viewer.goto(`${w.base}/changes`);
      await viewer.getByText('0 of 2 approvals').waitFor();
      expect(await viewer.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      await viewer.context().close();

      const page = await signedIn(w.tokens.operator);
      await page.getByRole('link', { name: 'Changes' }).click();
      await page.getByText('0 of 2 approvals').waitFor();
      expect(await rendered(page, '.approval')).toContain(hash.slice(0, 12));
      await page.getByLabel('reason').fill('looks right');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByText('1 of 2 approvals').waitFor();
      expect(await rendered(page, '.approval')).toMatch(/olga \(operator\).*“looks right”/);
      await shot(page, 'changes-approval');
      // Again, by the same person: accepted, and still 1 of 2 once the page has reloaded the list.
      const [again] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/approve')),
        page.getByRole('button', { name: 'Approve' }).click(),
      ]);
      expect(((await again.json()) as { recorded: boolean }).recorded).toBe(false);
      await page.waitForResponse((r) => r.url().endsWith('/api/changes'));
      expect(await rendered(page, '.approval')).toContain('1 of 2 approvals');
      await page.context().close();
    } finally {
      await restore();
    }
  });
});
