/** What `rsync pause` and `rsync resume` share: the flow, the state row and its apply-log entry, the workers woken. */
import { Args, Flags } from '@oclif/core';
import { notifyWork } from '../engine/live/notify.js';
import { flowAddress } from '../engine/model/address.js';
import { deployedFlow } from '../engine/runtime/flows.js';
import { isPaused, type Pause, setPaused } from '../engine/state/pauses.js';
import { currentActor } from '../engine/workspace/index.js';
import { anchorLog, openAudit } from './audit.js';
import { openRuntime, runtimeFlags } from './runtime.js';

export interface PauseOutput {
  version: 1;
  env: string;
  flow: string;
  paused: boolean;
  /** False when the flow already was in that state (nothing was logged). */
  changed: boolean;
  /** The apply-log entry of the pause or resume. */
  logEntry: number | null;
  pause: Pause | null;
}

export const pauseArgs = {
  flow: Args.string({ description: '<customer>/<flow>, or the flow name with --customer', required: true }),
};

export const pauseFlags = {
  ...runtimeFlags,
  customer: Flags.string({ char: 'c', description: 'the customer, when the flow is given by name alone' }),
  reason: Flags.string({ char: 'r', description: 'why (shown in rsync status and kept in the apply log)' }),
};

export async function pauseOrResume(
  args: { flow: string },
  flags: { env?: string; path: string; customer?: string; reason?: string },
  pause: boolean,
  json: boolean,
  note: (line: string) => void,
): Promise<PauseOutput> {
  const { db, env, root } = await openRuntime(flags, json);
  try {
    // A pause is of a deployed flow; a resume also clears the pause of one removed since.
    const address = pause
      ? (await deployedFlow(db.pool, env, args.flow, flags.customer)).address
      : flowAddress(args.flow, flags.customer);
    const audit = await openAudit(root);
    const actor = await currentActor(root);
    const r = await setPaused(db.pool, { env, address, actor, reason: flags.reason, pause }, (tx) =>
      // Every worker of the environment looks again at once: a resumed flow's stored webhooks run now.
      notifyWork(tx, env, address),
    );
    if (r.changed) {
      const anchored = await anchorLog(db, audit, { env });
      if (anchored) note(anchored);
    }
    const now = (await isPaused(db.pool, env, address)) ?? null;
    const name = address.replace('/flow/', '/');
    note(
      r.changed
        ? `${pause ? 'paused' : 'resumed'} ${name} in ${env} (apply log entry ${r.entry})`
        : `${name} in ${env} was ${pause ? 'already paused' : 'not paused'}: nothing changed`,
    );
    return {
      version: 1,
      env,
      flow: address,
      paused: now !== null,
      changed: r.changed,
      logEntry: r.entry ?? null,
      pause: now,
    };
  } finally {
    await db.close();
  }
}
