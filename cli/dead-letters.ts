/** Flags and arguments shared by the `rsync dlq` commands (the dead letters). */
import { Args, Flags } from '@oclif/core';
import type { DeadLetterFilter } from '../engine/state/dead-letters.js';
import { ExitCode, RsyncError } from '../engine/diagnostics/errors.js';
import { runtimeFlags } from './runtime.js';

export const deadLetterFlags = {
  ...runtimeFlags,
  flow: Flags.string({ char: 'f', description: 'only this flow: <customer>/<flow>' }),
  customer: Flags.string({ char: 'c', description: "only this customer's dead letters" }),
};

export const idsArg = {
  ids: Args.string({ description: 'dead letter ids (comma or space separated); none: all that the filters select' }),
};

export function parseIds(argv: string[]): number[] {
  const ids = argv
    .flatMap((a) => a.split(','))
    .filter(Boolean)
    .map((s) => Number(s));
  const bad = ids.find((n) => !Number.isInteger(n) || n <= 0);
  if (bad !== undefined)
    throw new RsyncError(
      `"${bad}" is not a dead letter id`,
      ExitCode.USAGE,
      'Ids are the numbers `rsync dlq list` shows.',
    );
  return ids;
}

export function filterOf(env: string, flags: { flow?: string; customer?: string }, ids: number[]): DeadLetterFilter {
  return { env, flow: flags.flow, customer: flags.customer, ids };
}
