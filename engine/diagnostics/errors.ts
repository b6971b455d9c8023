/**
 * Errors a user can cause and fix (no workspace here, an unknown Git ref, a database that does not answer).
 * They carry the process exit code from the one table below (ExitCode) and are shown without a stack trace.
 * Problems *in* a workspace's files are not errors but diagnostics (engine/diagnostics).
 */
export class RsyncError extends Error {
  constructor(
    message: string,
    /** The exit code (see ExitCode). */
    readonly exitCode: number,
    /** One sentence on how to fix it. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'RsyncError';
  }
}

/** The exit codes of every rsync command: one table, documented in the README. */
export const ExitCode = {
  /** Success; for `plan --detailed-exitcode`: no changes. */
  OK: 0,
  /** The workspace has errors, mapping tests failed, or the command could not do what was asked. */
  FAILED: 1,
  /** `plan --detailed-exitcode`: the plan has changes; `diff --detailed-exitcode`: the two sides differ. */
  CHANGES: 2,
  /** Wrong command line: an unknown flag, a missing argument, a bad value (out of its range: cli/flags.ts). */
  USAGE: 64,
  /**
   * Input that is not a workspace: no rsync.yaml, an unknown Git ref, an unreadable plan file; a file that is a
   * folder, a device, a FIFO or too large to read (util/files.ts).
   */
  NO_INPUT: 66,
  /** The database (or another service) could not be reached or started. */
  UNAVAILABLE: 69,
  /** A bug in rsync: please report it with the output of DEBUG=rsync. */
  INTERNAL: 70,
  /**
   * Refused: another apply holds the environment's lock, a saved plan is stale or was made in another workspace,
   * confirmation was declined.
   */
  REFUSED: 75,
} as const;
