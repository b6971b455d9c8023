/**
 * The four failures a call can meet (types.ts FailureKind), made the same way by every vendor connector. The
 * pipeline retries `transient` and `throttled` ones (a throttled one after its Retry-After) and stops at `auth` and
 * `permanent` ones, whose message says what to fix.
 */
import { redact } from '../secrets.js';
import { ConnectorError } from '../types.js';

/** A page token or cursor the system no longer knows: `readSlices` restarts its slice rather than failing. */
export class ExpiredToken extends ConnectorError {
  constructor(message: string) {
    super(message, false, undefined, undefined, 'permanent');
    this.name = 'ExpiredToken';
  }
}

export const failure = {
  transient: (message: string, status?: number) =>
    new ConnectorError(redact(message), true, undefined, status, 'transient'),
  throttled: (message: string, retryAfterMs?: number, status?: number) =>
    new ConnectorError(redact(message), true, retryAfterMs, status, 'throttled'),
  auth: (message: string, status?: number) => new ConnectorError(redact(message), false, undefined, status, 'auth'),
  permanent: (message: string, status?: number) =>
    new ConnectorError(redact(message), false, undefined, status, 'permanent'),
  expired: (message: string) => new ExpiredToken(redact(message)),
};

/** The failure an HTTP status means: 429 throttled; 408 and 5xx transient; 401 and 403 auth; other 4xx permanent. */
export function statusKind(status: number): ConnectorError['kind'] {
  if (status === 429) return 'throttled';
  if (status === 408 || status >= 500) return 'transient';
  if (status === 401 || status === 403) return 'auth';
  return 'permanent';
}

/** Retry-After as milliseconds: delta-seconds ("2", "1.5") or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The short code of a fetch failure (ECONNREFUSED, ECONNRESET, ENOTFOUND…), never its message. */
export function networkCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'connection failed';
}
