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
    if (zoneCache.size >= 10_000) zoneCache.clear(); // bounded: a long-running process sees ever new texts
    zoneCache.set(tz, ok);
  }
  return ok;
}

export type CronCheck = { ok: true; maxGapMs: number } | { ok: false; message: string };

const cronCache = new Map<string, CronCheck>();

const ALIASES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * Check a cron expression and compute the longest wait between two runs, which bounds how fresh a scheduled
 * flow's data can be. The gap is computed from the expression's fields over eight calendar years (two leap days), in UTC: a
 * daylight-saving shift moves it by an hour at most, which does not matter for freshness objectives. (Iterating
 * cron-parser's own next() with a time zone costs milliseconds per step, far too slow for 10,000 flows.)
 */
export function checkCron(expr: string, tz: string): CronCheck {
  // The gap is computed in UTC and the time zone is checked separately (isValidTimeZone): the expression alone
  // decides the result, so 10,000 flows on a few hundred distinct crons cost a few hundred checks.
  void tz;
  const key = expr;
  const hit = cronCache.get(key);
  if (hit) return hit;
  let result: CronCheck;
  // The shorthands cron-parser (and so pg-boss) accepts, as the 5 fields they stand for.
  const expanded = ALIASES[expr.trim().toLowerCase()] ?? expr;
  const fields = expanded.trim().split(/\s+/);
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
      const parsed = cronParser.parseExpression(expanded, { tz: 'UTC' });
      result = { ok: true, maxGapMs: maxGap(parsed.fields as unknown as CronFields) };
    } catch (e) {
      result = { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  }
  if (cronCache.size >= 10_000) cronCache.clear(); // bounded, as zoneCache
  cronCache.set(key, result);
  return result;
}

interface CronFields {
  minute: readonly number[];
  hour: readonly number[];
  dayOfMonth: readonly (number | 'L')[];
  month: readonly number[];
  dayOfWeek: readonly number[];
}

function maxGap(f: CronFields): number {
  const times: number[] = [];
  for (const h of f.hour) for (const m of f.minute) times.push(h * 60 + m);
  times.sort((a, b) => a - b);
  let intra = 0;
  for (let i = 1; i < times.length; i++) intra = Math.max(intra, times[i] - times[i - 1]);
  const domAll = f.dayOfMonth.length >= 31;
  const dowAll = new Set(f.dayOfWeek.map((d) => d % 7)).size === 7;
  // Every day runs (the common case): the longest wait is within a day or across midnight.
  if (domAll && dowAll && f.month.length === 12)
    return Math.max(intra, 1440 - times[times.length - 1] + times[0]) * 60_000;
  const doms = new Set(f.dayOfMonth);
  const dows = new Set(f.dayOfWeek.map((d) => d % 7));
  const months = new Set(f.month);
  const matches = (d: Date): boolean => {
    if (!months.has(d.getUTCMonth() + 1)) return false;
    const dom = d.getUTCDate();
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    const domOk = doms.has(dom) || (doms.has('L') && dom === last);
    const dowOk = dows.has(d.getUTCDay());
    if (domAll && dowAll) return true;
    if (domAll) return dowOk;
    if (dowAll) return domOk;
    return domOk || dowOk; // both restricted: cron runs on either
  };
  let gap = intra;
  let prevDay = -1;
  const start = Date.UTC(2026, 0, 1);
  const days = 2922;
  let matched = 0;
  for (let day = 0; day < days; day++) {
    if (!matches(new Date(start + day * 86_400_000))) continue;
    if (prevDay >= 0) {
      const between = (day - prevDay) * 1440 - times[times.length - 1] + times[0];
      gap = Math.max(gap, between);
    }
    prevDay = day;
    matched++;
  }
  if (matched < 2) gap = Math.max(gap, days * 1440); // runs once in eight years, or never
  return gap * 60_000;
}
