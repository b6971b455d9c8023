/** Who Git says the user is: the author identity of commits, and the configured user for the actor. */
import { git } from './run.js';

/** The identity Git would record as author, or undefined when none is configured. */
export async function authorIdent(top: string): Promise<string | undefined> {
  const r = await git(top, ['var', 'GIT_AUTHOR_IDENT'], { allowFail: true });
  if (r.code !== 0) return undefined;
  // "Name <email> 1700000000 +0100": drop the time stamp.
  return r.stdout.trim().replace(/\s+\d+\s+[+-]\d{4}$/, '');
}

/** The configured user as "Name <email>", or undefined when Git has none (or `cwd` is no repository). */
export async function configuredUser(cwd: string): Promise<string | undefined> {
  const [name, email] = await Promise.all([
    git(cwd, ['config', 'user.name'], { allowFail: true }),
    git(cwd, ['config', 'user.email'], { allowFail: true }),
  ]).catch(() => [undefined, undefined]);
  // Both must be readable, as before: an unset user.name means no Git identity at all.
  if (name?.code !== 0 || email?.code !== 0) return undefined;
  const n = name.stdout.trim();
  const e = email.stdout.trim();
  if (!n && !e) return undefined;
  return `${n}${e ? ` <${e}>` : ''}`.trim();
}
