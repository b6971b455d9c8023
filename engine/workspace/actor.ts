/** The actor: who an apply, a promotion or a dead-letter replay is recorded as. */
import os from 'node:os';
import { configuredUser } from '../git/index.js';

/** Who is acting: RSYNC_ACTOR, else the Git user, else user@host. */
export async function currentActor(cwd: string): Promise<string> {
  if (process.env.RSYNC_ACTOR) return process.env.RSYNC_ACTOR;
  return (await configuredUser(cwd)) ?? `${os.userInfo().username}@${os.hostname()}`;
}
