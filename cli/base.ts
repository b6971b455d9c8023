/**
 * What every rsync command shares: `--json`, one exit-code table (engine/diagnostics/errors.ts), and errors shown as a message
 * and a hint, never a stack trace (set DEBUG=rsync to see one for a bug report), and never a secret (`redact`).
 */
import { Command, Errors, type Interfaces } from '@oclif/core';
import { redact } from '../engine/connectors/secrets.js';
import { ExitCode, RsyncError } from '../engine/diagnostics/errors.js';
import type { LogFields } from '../engine/runtime/page-loop.js';
import { type CommandLog, commandLog } from './log.js';

/** oclif's wrapping of an error thrown while parsing a flag: `Parsing --port \n\t<message>\nSee more help with --help`. */
const FLAG_PARSE = /^Parsing --(\S+) \n\t/;
const SEE_HELP = /\n\s*See more help with --help$/;

/** oclif's FlagOutput and ArgOutput (not exported by @oclif/core). */
// biome-ignore lint/suspicious/noExplicitAny: oclif's own constraint on parsed flags and arguments
type Output = { [name: string]: any };

export abstract class RsyncCommand<T> extends Command {
  static enableJsonFlag = true;

  /** Set by a command before it returns: the process exit code for its result. */
  protected exitCode: number = ExitCode.OK;

  /** True when the output is for machines (`--json`) — no colours, no progress. */
  protected get json(): boolean {
    return this.jsonEnabled();
  }

  /**
   * Under --json, log lines are not written at all (stdout is one JSON value with everything the command did,
   * stderr stays empty) — except for a command that runs until stopped (the worker), whose log is its output:
   * it sets jsonLogs, and writes each line to stderr as one JSON object, `{ "time", "level", "message" }`.
   */
  static jsonLogs = false;

  /** The structured log of a long-running command (startLog), else undefined. */
  protected logger?: CommandLog;

  /**
   * Log through pino from now on (cli/log.ts): JSON lines, or readable ones on a terminal, at the level asked. A
   * command that is not jsonLogs stays quiet under --json unless --log-format json asks for the lines.
   */
  protected startLog(flags: { 'log-level': string; 'log-format': string }, bindings?: Record<string, unknown>): void {
    const jsonLogs = (this.constructor as typeof RsyncCommand).jsonLogs;
    if (this.json && !jsonLogs && flags['log-format'] !== 'json') return;
    this.logger = commandLog({ level: flags['log-level'], format: flags['log-format'], json: this.json, bindings });
  }

  /** Write to standard error (progress, notes), without any secret this process has resolved; see jsonLogs. */
  protected note(text: string, fields?: LogFields): void {
    if (this.logger) return this.logger.write(text, fields);
    if (!this.json) process.stderr.write(redact(text) + '\n');
    else if ((this.constructor as typeof RsyncCommand).jsonLogs)
      process.stderr.write(
        JSON.stringify({ time: new Date().toISOString(), level: 'info', message: redact(text).trim() }) + '\n',
      );
  }

  /**
   * Whatever goes wrong while reading the command line is a usage error (exit 64): oclif's own argument parsers
   * throw plain Errors (`Args.integer` on "abc"), which would otherwise be reported as a bug.
   */
  protected async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv);
    } catch (e) {
      if (e instanceof RsyncError || e instanceof Errors.CLIError || !(e instanceof Error)) throw e;
      if ((e as { oclif?: { exit?: number } }).oclif?.exit !== undefined) throw e;
      throw new RsyncError(e.message.replace(SEE_HELP, ''), ExitCode.USAGE, this.helpHint());
    }
  }

  private helpHint(): string {
    return `See \`rsync ${this.id?.replace(/:/g, ' ') ?? ''} --help\`.`;
  }

  protected async finally(err: Error | undefined): Promise<unknown> {
    if (!err) process.exitCode = this.exitCode;
    return super.finally(err);
  }

  protected async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    let code: number;
    let message: string;
    let hint: string | undefined;
    if (err instanceof RsyncError) {
      code = err.exitCode;
      // One of rsync's flag parsers (cli/flags.ts): its message names the flag and the value already.
      message = err.message.replace(FLAG_PARSE, '').replace(SEE_HELP, '');
      hint = err.hint;
    } else if (err instanceof Errors.CLIError || err.oclif?.exit !== undefined) {
      // oclif's own parse errors: unknown flags, missing arguments, bad options.
      if (err.oclif?.exit === 0) throw err;
      code = ExitCode.USAGE;
      message = err.message.replace(SEE_HELP, '').replace(FLAG_PARSE, '--$1: ');
      hint = this.helpHint();
    } else {
      code = ExitCode.INTERNAL;
      message = `internal error: ${err.message}`;
      hint = 'This is a bug in rsync. Run again with DEBUG=rsync for the stack trace and report it.';
      if (process.env.DEBUG?.includes('rsync')) process.stderr.write(`${redact(err.stack ?? '')}\n`);
    }
    // An error may quote what a system answered: never a secret this process resolved, in any encoding.
    message = redact(message);
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify({ version: 1, error: { exitCode: code, message, hint } }, null, 2) + '\n');
    } else {
      process.stderr.write(`rsync: ${message}\n${hint ? `  ${hint}\n` : ''}`);
    }
    process.exit(code);
  }

  abstract run(): Promise<T>;
}
