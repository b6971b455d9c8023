/** Flags and rendering shared by the `rsync dlq` commands. */
import { Args, Flags } from '@oclif/core';
import type { DeadLetter, LetterFilter } from '../engine/state/dead-letters.js';
import { ExitCode, RsyncError } from '../engine/errors.js';
import { runtimeFlags, table } from './runtime.js';

export const dlqFlags = {
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

export function filterOf(env: string, flags: { flow?: string; customer?: string }, ids: number[]): LetterFilter {
  return { env, flow: flags.flow, customer: flags.customer, ids };
}

export function renderLetters(letters: DeadLetter[]): string {
  return table(
    ['ID', 'FLOW', 'REV', 'KEY', 'STAGE', 'ATTEMPTS', 'STATUS', 'ERROR'],
    letters.map((l) => [
      String(l.id),
      l.address.replace('/flow/', '/'),
      String(l.revision),
      l.key ?? '-',
      l.stage,
      String(l.attempts),
      l.status,
      l.error.length > 100 ? l.error.slice(0, 97) + '...' : l.error,
    ]),
  );
}
