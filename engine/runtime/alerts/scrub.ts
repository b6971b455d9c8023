/**
 * What an alert may say of a record: nothing. A run's error text quotes values ("Unable to cast \"dana@example.com\"",
 * a 422 body echoing a field), so every text an alert carries from a run is scrubbed: the secrets this process
 * resolved (connectors/secrets.ts `redact`), the values of the policy's PII fields in the records the run
 * dead-lettered (runtime/mask.ts), and, whatever the policy says, anything shaped like an e-mail address or an
 * international phone number.
 */
import { redact, resolveSecret } from '../../connectors/secrets.js';
import { maskPiiText, piiNames } from '../mask.js';

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const PHONE = /\+\d[\d ().-]{6,}\d/g;
/** Long enough to say what went wrong; a Slack section or a PagerDuty summary holds it. */
const MAX = 600;

/**
 * `secrets`: references whose values must go too (the flow's connections'): resolved here, if this process can,
 * so that `redact` knows them even when this worker never ran the flow.
 */
export function scrub(
  text: string,
  pii: readonly string[],
  records: readonly unknown[] = [],
  secrets: readonly unknown[] = [],
): string {
  for (const ref of secrets) {
    try {
      resolveSecret(ref);
    } catch {
      /* not set here: nothing of it to scrub here either, beyond what closeRun already redacted */
    }
  }
  let out = redact(text);
  if (pii.length && records.length) out = maskPiiText(out, piiNames(pii), ...records);
  out = out.replace(EMAIL, '***').replace(PHONE, '***');
  return out.length > MAX ? `${out.slice(0, MAX - 1)}…` : out;
}
