/**
 * The report's PDF: its HTML printed by headless Chromium — the system's own (Debian's /usr/bin/chromium, or
 * RSYNC_CHROMIUM), driven by playwright-core, which downloads no browser. Without one, a clear error (exit 69)
 * says how to install it.
 */
import { existsSync } from 'node:fs';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';

/** The Chromium rsync drives: RSYNC_CHROMIUM, else Debian's. */
export function chromiumPath(): string {
  return process.env.RSYNC_CHROMIUM || '/usr/bin/chromium';
}

const INSTALL =
  "Install Chromium from your system's packages (Debian and Ubuntu: `sudo apt-get install chromium`), or set RSYNC_CHROMIUM to a Chromium or Chrome binary; `--format html` needs no browser.";

/** Launch headless Chromium (the caller closes it), or a clear error when there is none. */
export async function launchChromium(): Promise<import('playwright-core').Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath))
    throw new RsyncError(
      `No Chromium at ${executablePath}: rsync prints PDFs with headless Chromium.`,
      ExitCode.UNAVAILABLE,
      INSTALL,
    );
  const { chromium } = await import('playwright-core');
  try {
    return await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  } catch (e) {
    const first = String((e as Error).message ?? e).split('\n')[0];
    throw new RsyncError(`Chromium at ${executablePath} did not start: ${first}`, ExitCode.UNAVAILABLE, INSTALL);
  }
}

/** Print `html` to an A4 PDF, backgrounds included. */
export async function htmlToPdf(html: string): Promise<Buffer> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // A self-contained page: nothing to fetch, so nothing may be fetched.
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  } finally {
    await browser.close();
  }
}
