/**
 * Schedules: a cron expression (5 fields, minute precision, as pg-boss runs them) in an IANA time zone. The
 * parser is cron-parser, the library pg-boss itself schedules with, so what validates here is what runs.
 */
import cronParser from 'cron-parser';

const zoneCache = new Map<string, boolean>();

export function isValidTimeZone(tz: string): boolean {
  let ok = zoneCache.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    zoneCache.set(tz, ok);
  }
  return ok;
}

export type CronCheck = { ok: true; maxGapMs: number } | { ok: false; message: string };

const cronCache = new Map<string, CronCheck>();
/** A fixed start, so the same expression always yields the same gap (and caches well). */
const FROM = new Date('2026-01-05T00:00:00Z');
const SAMPLES = 400;

/**
 * Check a cron expression and measure the longest wait between two runs (over the next few hundred runs), which
 * bounds how fresh a scheduled flow's data can be.
 */
export function checkCron(expr: string, tz: string): CronCheck {
  const key = `${expr}\u0000${tz}`;
  const hit = cronCache.get(key);
  if (hit) return hit;
  let result: CronCheck;
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    result = {
      ok: false,
      message:
        fields.length === 6
          ? 'it has 6 fields; rsync schedules at minute precision, so write 5: minute hour day-of-month month day-of-week'
          : `it has ${fields.length} field${fields.length === 1 ? '' : 's'}; write 5: minute hour day-of-month month day-of-week`,
    };
  } else {
    try {
      const it = cronParser.parseExpression(expr, { tz, currentDate: FROM });
      let prev = it.next().getTime();
      let maxGap = 0;
      for (let i = 0; i < SAMPLES; i++) {
        let next: number;
        try {
          next = it.next().getTime();
        } catch {
          break; // no further occurrence (e.g. a date that never comes round again)
        }
        maxGap = Math.max(maxGap, next - prev);
        prev = next;
        if (next - FROM.getTime() > 400 * 86_400_000) break;
      }
      result = { ok: true, maxGapMs: maxGap };
    } catch (e) {
      result = { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  }
  cronCache.set(key, result);
  return result;
}
