/**
 * report/: a customer's monthly SLA report (`rsync report`), white-labelled with the partner's branding — the
 * figures (data.ts, from the state database through runtime/sla.ts and state/), the self-contained HTML
 * (html.ts), and its PDF printed by the system's headless Chromium (pdf.ts). It reads one customer's flows only
 * and writes nothing to the database.
 */
export * from './data.js';
export { reportHtml } from './html.js';
export { chromiumPath, htmlToPdf, launchChromium } from './pdf.js';
