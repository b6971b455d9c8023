/**
 * Which scheduled flows a tick starts (worker.ts tick), from the minutes it claimed (state/ticks.ts):
 *  - each recent minute (the current one and the GRACE_MINUTES before it: a tick job that came late) starts the
 *    flows whose cron, in their own time zone, matches it, as it always did;
 *  - a gap before those — minutes no worker ticked (every worker was down, or the clock jumped forward) — starts
 *    each flow whose cron fired in the gap ONCE, however many times it fired: a day without workers is one catch-up
 *    run, not 96 of a 15-minute schedule. A policy's `missedRuns: skip` starts nothing for the gap.
 * A paused flow (state/pauses.ts) starts nothing, recent or missed: the ticks of a pause are not caught up later.
 * Only the tick that claimed the gap's first minute is given the gap (`since`), so one worker catches it up.
 */
import cronParser from 'cron-parser';
import type { FlowDef } from './flows.js';

/** Minutes before the current one that still start as themselves (a tick job runs a little late at times). */
export const GRACE_MINUTES = 5;

export interface ScheduledStart {
  flow: FlowDef;
  /** pg-boss's singletonKey of the run's job: the flow and the minute (or the gap) it is for. */
  key: string;
  missed: boolean;
}

/** Whether a cron expression, in a time zone, fires at `minute` (a whole minute). */
export function cronMatches(cron: string, timezone: string, minute: Date): boolean {
  try {
    const it = cronParser.parseExpression(cron, { currentDate: new Date(minute.getTime() - 1000), tz: timezone });
    return it.next().getTime() === minute.getTime();
  } catch {
    return false;
  }
}

/** Whether the cron fires at least once in [from, to). */
export function firesBetween(cron: string, timezone: string, from: Date, to: Date): boolean {
  try {
    const it = cronParser.parseExpression(cron, { currentDate: new Date(from.getTime() - 1000), tz: timezone });
    return it.next().getTime() < to.getTime();
  } catch {
    return false;
  }
}

export function scheduledStarts(
  flows: Iterable<FlowDef>,
  claimed: { minutes: Date[]; since: Date | null },
  now: Date,
  paused: { has(address: string): boolean },
): { starts: ScheduledStart[]; note?: string } {
  const current = Math.floor(now.getTime() / 60_000) * 60_000;
  const recentFrom = current - GRACE_MINUTES * 60_000;
  const scheduled = [...flows].filter((f) => f.enabled && f.schedule && !paused.has(f.address));
  const starts: ScheduledStart[] = [];
  for (const minute of claimed.minutes) {
    if (minute.getTime() < recentFrom) continue;
    for (const f of scheduled)
      if (cronMatches(f.schedule!.cron, f.schedule!.timezone, minute))
        starts.push({ flow: f, key: `${f.address}@${minute.toISOString()}`, missed: false });
  }
  const since = claimed.since;
  if (!since || since.getTime() >= recentFrom) return { starts };
  const to = new Date(recentFrom);
  let caught = 0;
  let skipped = 0;
  for (const f of scheduled) {
    if (!firesBetween(f.schedule!.cron, f.schedule!.timezone, since, to)) continue;
    if (f.missedRuns === 'skip') {
      skipped++;
      continue;
    }
    caught++;
    starts.push({ flow: f, key: `${f.address}@missed@${since.toISOString()}`, missed: true });
  }
  const gap = Math.round((recentFrom - since.getTime()) / 60_000);
  return {
    starts,
    note: `schedules: no tick ran for ${gap} minute(s) from ${since.toISOString()}: ${caught} flow(s) whose schedule fired then start once now${skipped ? `, ${skipped} skipped (missedRuns: skip)` : ''}`,
  };
}
