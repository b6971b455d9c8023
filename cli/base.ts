/**
 * What every rsync command shares: `--json`, one exit-code table (engine/diagnostics/errors.ts), and errors shown as a message
 * and a hint, never a stack trace (set DEBUG=rsync to see one for a bug report), and never a secret (`redact`).
 */
import { Command, Errors } from '@oclif/core';
import { redact } from '../engine/connectors/secrets.js';
import { ExitCode, RsyncError } from '../engine/diagnostics/errors.js';

export abstract class RsyncCommand<T> extends Command {
  static enableJsonFlag = true;

  /** Set by a command before it returns: the process exit code for its result. */
  protected exitCode: number = ExitCode.OK;

  /** True when the output is for machines (`--json`) — no colours, no progress. */
  protected get json(): boolean {
    return this.jsonEnabled();
  }

  /** Write to standard error unless --json (progress, notes), without any secret this process has resolved. */
  protected note(text: string): void {
    if (!this.json) process.stderr.write(redact(text) + '\n');
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
      message = err.message;
      hint = err.hint;
    } else if (err instanceof Errors.CLIError || err.oclif?.exit !== undefined) {
      // oclif's own parse errors: unknown flags, missing arguments, bad options.
      if (err.oclif?.exit === 0) throw err;
      code = ExitCode.USAGE;
      message = err.message.replace(/\n\s*See more help with --help$/, '');
      hint = `See \`rsync ${this.id?.replace(/:/g, ' ') ?? ''} --help\`.`;
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
