/**
 * The log of a long-running command (`rsync worker`, `run`, `backfill`): pino, one JSON object per line on standard
 * error, or the same lines made readable (pino-pretty, one line each) when standard error is a terminal.
 *
 *   {"level":"info","time":"2026-12-03T12:00:00.000Z","worker":"host:4242:m1","env":"staging",
 *    "address":"acme/flow/stock","run":17,"trace":"5f0c…","message":"run 17 acme/flow/stock@3: succeeded — …"}
 *
 * Every line about a run carries the flow's address, the run's id and its trace (a random id per run, kept as the
 * first entry of the run's log in rsync.runs, so that a record's lines can be joined with the run that handled it).
 *
 * What is never logged: a secret this process resolved (every string of a line, message and fields, goes through
 * `redact`, in every encoding it knows), the values at the redact paths below (credentials and the PII fields a
 * policy most often names, should an object carrying them be logged), and the policy's PII values, which the engine
 * masks where it still has the records (maskPiiText) before a line is written.
 */
import pino from 'pino';
import pretty from 'pino-pretty';
import { Flags } from '@oclif/core';
import { redact, redactValue } from '../engine/connectors/secrets.js';
import type { LogFields } from '../engine/runtime/page-loop.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'auto' | 'pretty' | 'json';
export const LOG_LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

export const logFlags = {
  'log-level': Flags.string({
    description: 'the least severe log lines written',
    options: LOG_LEVELS,
    default:
      process.env.RSYNC_LOG_LEVEL && LOG_LEVELS.includes(process.env.RSYNC_LOG_LEVEL as LogLevel)
        ? process.env.RSYNC_LOG_LEVEL
        : 'info',
  }),
  'log-format': Flags.string({
    description: 'log lines as JSON, or readable (auto: readable on a terminal, JSON otherwise and with --json)',
    options: ['auto', 'pretty', 'json'],
    default:
      process.env.RSYNC_LOG_FORMAT && ['auto', 'pretty', 'json'].includes(process.env.RSYNC_LOG_FORMAT)
        ? process.env.RSYNC_LOG_FORMAT
        : 'auto',
  }),
};

/** Field paths whose values are replaced by *** whatever they hold. */
export const REDACT_PATHS = [
  'secret',
  'token',
  'password',
  'authorization',
  'cookie',
  'apiKey',
  'email',
  'phone',
  '*.secret',
  '*.token',
  '*.password',
  '*.authorization',
  '*.cookie',
  '*.apiKey',
  '*.email',
  '*.phone',
  'headers["x-api-key"]',
  '*.secretRef',
  '*.webhookSecret',
];

export interface CommandLog {
  /** Write one line (a note of the command, or a line of the engine's). */
  write(message: string, fields?: LogFields): void;
  /** Flush what is buffered (before the process exits). */
  flush(): void;
}

/**
 * The log for a command: `json` is the command's --json (machine output), `bindings` the fields of every line
 * (the worker's id, the environment). Standard error must be the terminal for pretty lines (auto).
 */
export function commandLog(o: {
  level: string;
  format: string;
  json: boolean;
  bindings?: Record<string, unknown>;
  destination?: NodeJS.WritableStream;
  tty?: boolean;
}): CommandLog {
  const tty = o.tty ?? Boolean(process.stderr.isTTY);
  const asJson = o.format === 'json' || (o.format === 'auto' && (o.json || !tty));
  const stream = asJson
    ? (o.destination ?? pino.destination({ fd: 2, sync: true }))
    : pretty({
        destination: o.destination ?? 2,
        sync: true,
        colorize: tty && !process.env.NO_COLOR,
        singleLine: true,
        messageKey: 'message',
        translateTime: 'SYS:HH:MM:ss',
        // On a terminal the message says it all; a run's id and trace stay, to look it up.
        ignore: 'pid,hostname,worker,env,address,revision,status,read,written,unchanged,filtered,dead,attempt,waitMs',
      });
  const logger = pino(
    {
      level: o.level,
      messageKey: 'message',
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '***' },
      // The value-level scrub: every string of the line, its message and its fields (keys too).
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? redact(a) : redactValue(a))) as Parameters<typeof method>,
          );
        },
      },
    },
    stream,
  );
  const log = o.bindings ? logger.child(redactValue(o.bindings)) : logger;
  return {
    write(message, fields = {}) {
      const { level = 'info', ...rest } = fields;
      log[level](rest, message.trim());
    },
    flush() {
      logger.flush();
    },
  };
}
