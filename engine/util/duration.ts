/** Durations as written in rsync files: `500ms`, `30s`, `5m`, `2h`, `90d`. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds, or undefined when the text is not a duration. A number of milliseconds past
 * Number.MAX_SAFE_INTEGER (about 285,000 years) is not one either: it could not be added to a time or compared.
 */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A readable duration: 90000 → "1m30s", 86400000 → "1d". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/**
 * The longest delay one Node timer takes: 2^31 − 1 ms (24 days, 20 hours and a bit). A longer one fires at once
 * (with a TimeoutOverflowWarning), which is why setLongTimeout waits in steps.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer of any length; `unref()` lets the process exit while it waits, as a Node timer's does. */
export interface LongTimeout {
  clear(): void;
  unref(): LongTimeout;
}

/** setTimeout for any delay: one beyond MAX_TIMER_MS waits in steps of at most that, then calls `fn` once. */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  const end = Date.now() + Math.max(0, ms);
  let unref = false;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = end - Date.now();
    timer = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.min(Math.max(left, 0), MAX_TIMER_MS));
    if (unref) timer.unref();
  };
  arm();
  const handle: LongTimeout = {
    clear: () => clearTimeout(timer),
    unref: () => {
      unref = true;
      timer.unref();
      return handle;
    },
  };
  return handle;
}
