/**
 * Values of the command line that every command checks the same way, before anything runs: ports, ids, counts and
 * durations. A bad one is a usage error (exit 64) that says what is wrong and what to give instead, never a value
 * passed on to fail later (a port Node refuses, an id PostgreSQL cannot hold as a bigint, a timer Node fires at once).
 */
import { Args, Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../engine/diagnostics/errors.js';
import { formatDuration, MAX_TIMER_MS, parseDuration } from '../engine/util/duration.js';
import { type Month, parseMonth } from '../engine/runtime/sla.js';

const usage = (message: string, hint: string): never => {
  throw new RsyncError(message, ExitCode.USAGE, hint);
};

/** How a value is named in messages: `--port -1`, or `RSYNC_PORT=-1` when it came from the environment. */
function named(flag: { name: string; env?: string }, fromArgv: boolean, input: string): string {
  return fromArgv || !flag.env ? `--${flag.name} ${input}` : `${flag.env}=${input}`;
}

// ------------------------------------------------------------------------------------------------------- ports

/** A TCP port: 0 to 65535 (0: the system picks a free one). */
export function parsePort(input: string, what = `--port ${input}`): number {
  const n = /^\d{1,5}$/.test(input.trim()) ? Number(input) : Number.NaN;
  if (!(n >= 0 && n <= 65535)) usage(`${what} is not a port.`, 'Give a number from 0 to 65535; 0 picks a free port.');
  return n;
}

/** `--port`, also from `env` (RSYNC_PORT). */
export const portFlag = (o: { description: string; default: number; env: string; char?: 'p' }) =>
  Flags.custom<number>({
    ...o,
    parse: async (input, ctx, flag) => parsePort(input, named(flag, ctx.token !== undefined, input)),
  })();

// ------------------------------------------------------------------------------------------------ ids, counts

/**
 * The largest id rsync accepts: Number.MAX_SAFE_INTEGER (2^53 − 1). Ids are PostgreSQL bigserials, and every id one
 * can have is far below this; past it a JavaScript number is no longer exact (and past 2^63 − 1 PostgreSQL refuses it).
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** A positive whole number up to `max`, written in digits. */
function wholeNumber(input: string, min: number, max: number): number | undefined {
  const t = input.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** An id of a row rsync shows (a dead letter, a run, a backfill): a whole number from 1 to MAX_ID. */
export function parseId(input: string, what: string, listed: string): number {
  const n = wholeNumber(input, 1, MAX_ID);
  if (n === undefined)
    usage(
      `"${input}" is not a ${what} id.`,
      `Ids are whole numbers from 1 to ${MAX_ID.toLocaleString('en-US')}, as \`${listed}\` shows them.`,
    );
  return n!;
}

/** A required id argument: `rsync dlq show <id>`. */
export const idArg = (what: string, listed: string) =>
  Args.custom<number>({ parse: async (input) => parseId(input, what, listed) })({
    description: `the ${what} id`,
    required: true,
  });

/** The most rows a listing shows at once (`--limit` of runs, dlq list, history). */
export const MAX_LIST = 10_000;

/** The largest revision: PostgreSQL's integer, which the revision columns are. */
export const MAX_REVISION = 2 ** 31 - 1;

/** The longest `rsync run --wait` waits: 7 days, in seconds. */
export const MAX_WAIT_SECONDS = 7 * 86_400;

/** A count flag (`--limit`, `--records`…): a whole number from `min` to `max`. */
export const countFlag = (o: { description: string; default?: number; min?: number; max: number; char?: 'n' }) => {
  const min = o.min ?? 1;
  return Flags.custom<number>({
    char: o.char,
    description: `${o.description} (${min} to ${o.max.toLocaleString('en-US')})`,
    default: o.default,
    parse: async (input, _ctx, flag) => {
      const n = wholeNumber(input, min, o.max);
      if (n === undefined)
        usage(
          `--${flag.name} ${input} is not a number from ${min} to ${o.max.toLocaleString('en-US')}.`,
          `Give a whole number from ${min} to ${o.max.toLocaleString('en-US')}.`,
        );
      return n!;
    },
  })();
};

// ---------------------------------------------------------------------------------------------------- durations

const DURATION_HINT = 'Write it as a whole number and a unit: 500ms, 30s, 10m, 2h, 7d.';

/**
 * A duration flag's milliseconds (undefined when the flag is absent). `max` bounds it (a timer's longest delay,
 * MAX_TIMER_MS, when the command waits for it in one timer); `min` too.
 */
export function parseDurationFlag(
  flag: string,
  text: string | undefined,
  limits: { min?: number; max?: number } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) usage(`--${flag} ${text} is not a duration.`, DURATION_HINT);
  if (limits.min !== undefined && ms! < limits.min)
    usage(`--${flag} ${text} is too short.`, `Give at least ${formatDuration(limits.min)}.`);
  if (limits.max !== undefined && ms! > limits.max)
    usage(
      `--${flag} ${text} is too long: rsync waits at most ${formatDuration(limits.max)}.`,
      `Give at most ${formatDuration(limits.max)}.`,
    );
  return ms;
}

// ---------------------------------------------------------------------------------------------------- sizes

const SIZES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024, gb: 1024 * 1024 * 1024 };

/** A size flag's bytes (`512KB`, `5MB`, `1048576`; units of 1024), within [min, max]. */
export function parseSizeFlag(flag: string, text: string, limits: { min: number; max: number }): number {
  const m = /^(\d{1,12})\s*(b|kb|mb|gb)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * SIZES[(m[2] ?? 'b').toLowerCase()] : Number.NaN;
  if (!Number.isFinite(bytes))
    usage(`--${flag} ${text} is not a size.`, 'Write it as a whole number and a unit: 512KB, 5MB.');
  if (bytes < limits.min || bytes > limits.max)
    usage(`--${flag} ${text} is out of range.`, `Give from ${limits.min} bytes to ${limits.max / (1024 * 1024)} MB.`);
  return bytes;
}

/** The longest wait a command makes in one Node timer: 24d, under MAX_TIMER_MS (which a longer one overflows). */
export const LONGEST_TIMER_MS = 24 * 86_400_000;
if (LONGEST_TIMER_MS > MAX_TIMER_MS) throw new Error('LONGEST_TIMER_MS must fit in one timer');

// ------------------------------------------------------------------------------------------------------- months

/** `--month 2026-11`: a calendar month in UTC; the current one when absent. */
export const monthFlag = () =>
  Flags.custom<Month>({
    description: 'the month, YYYY-MM, in UTC (default: this month)',
    parse: async (input) =>
      parseMonth(input) ?? usage(`--month ${input} is not a month.`, 'Write it as YYYY-MM, e.g. 2026-11.'),
  })();

// ------------------------------------------------------------------------------------------------- selection

/** `--target`, `--exclude` and `--selector` of plan and apply: a partial plan (engine/plan/select.ts). */
export const selectionFlags = {
  target: Flags.string({
    description: 'plan only this resource and what it depends on (<customer>/<kind>/<name>; repeatable)',
    multiple: true,
  }),
  exclude: Flags.string({
    description: 'leave this resource out (<customer>/<kind>/<name>; repeatable)',
    multiple: true,
  }),
  selector: Flags.string({
    description: 'plan only the customers with this label in customer.yaml (key=value; repeatable, all must hold)',
    multiple: true,
  }),
};

/** The selection request of parsed selection flags. */
export const selectionOf = (flags: { target?: string[]; exclude?: string[]; selector?: string[] }) => ({
  targets: flags.target,
  excludes: flags.exclude,
  selectors: flags.selector,
});
