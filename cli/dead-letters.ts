/** Flags and arguments shared by the `rsync dlq` commands (the dead letters). */
import { Args, Flags } from '@oclif/core';
import type { DeadLetterFilter } from '../engine/state/dead-letters.js';
import { parseId } from './flags.js';
import { runtimeFlags } from './runtime.js';

/** How dead letter ids are named in messages, and where to find them. */
export const DEAD_LETTER: [what: string, listed: string] = ['dead letter', 'rsync dlq list --status all'];

export const deadLetterFlags = {
  ...runtimeFlags,
  flow: Flags.string({ char: 'f', description: 'only this flow: <customer>/<flow>' }),
  customer: Flags.string({ char: 'c', description: "only this customer's dead letters" }),
};

export const idsArg = {
  ids: Args.string({ description: 'dead letter ids (comma or space separated); none: all that the filters select' }),
};

/** Dead letter ids, comma or space separated; one that is not a whole number from 1 to MAX_ID is a usage error. */
export function parseIds(argv: string[]): number[] {
  return argv
    .flatMap((a) => a.split(','))
    .filter((s) => s.trim() !== '')
    .map((s) => parseId(s, ...DEAD_LETTER));
}

export function filterOf(env: string, flags: { flow?: string; customer?: string }, ids: number[]): DeadLetterFilter {
  return { env, flow: flags.flow, customer: flags.customer, ids };
}
