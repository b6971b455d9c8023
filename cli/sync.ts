/**
 * What `rsync controller` and `rsync worker --sync` share: the controller's flags, its webhook secret by reference
 * (the variable's name; its value never appears in a flag, a log or an error), and the controller itself.
 */
import { Flags } from '@oclif/core';
import { rememberSecret } from '../engine/connectors/secrets.js';
import { Controller } from '../engine/gitops/controller.js';
import type { GitHookTarget } from '../engine/gitops/git-hook.js';
import { ExitCode, RsyncError } from '../engine/diagnostics/errors.js';
import type { Database } from '../engine/state/db.js';
import { resolveEnvironment } from '../engine/workspace/index.js';
import { anchorLog, openAudit } from './audit.js';
import { parseDurationFlag } from './flags.js';

export const syncFlags = {
  interval: Flags.string({
    description: "how often each environment's branch is fetched and its drift checked, 1s to 1h",
    default: '30s',
  }),
  'webhook-secret-env': Flags.string({
    description: 'the environment variable holding the push webhook secret: POST /hooks/git is served when given',
  }),
};

/** The push webhook's secret, read from the variable named (undefined: the endpoint is off). */
export function webhookSecret(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const value = process.env[name];
  if (!value)
    throw new RsyncError(
      `--webhook-secret-env ${name}: the variable ${name} is not set, or empty.`,
      ExitCode.USAGE,
      `Set ${name} to the webhook's secret (the one entered at the Git host), or leave the flag out to serve no push webhook.`,
    );
  rememberSecret(value); // never in a log line or an error, in any encoding
  return value;
}

/** A controller of the workspace's environments (each checked against rsync.yaml), anchoring what it applies. */
export async function openController(
  db: Database,
  root: string,
  envs: string[],
  flags: { interval: string; 'webhook-secret-env'?: string },
  log: (line: string) => void,
): Promise<{ controller: Controller; hook: GitHookTarget }> {
  try {
    return await controllerOf(db, root, {
      envs,
      interval: flags.interval,
      secretEnv: flags['webhook-secret-env'],
      log,
    });
  } catch (e) {
    await db.close(); // a bad flag or environment: the command ends here
    throw e;
  }
}

async function controllerOf(
  db: Database,
  root: string,
  o: { envs: string[]; interval: string; secretEnv?: string; log: (line: string) => void },
): Promise<{ controller: Controller; hook: GitHookTarget }> {
  for (const env of o.envs) await resolveEnvironment(root, env);
  const intervalMs = parseDurationFlag('interval', o.interval, { min: 1000, max: 3_600_000 });
  const secret = webhookSecret(o.secretEnv);
  const audit = await openAudit(root);
  const controller = new Controller({
    db,
    root,
    envs: o.envs,
    intervalMs,
    log: o.log,
    onApplied: async (env, commit) => {
      const anchored = await anchorLog(db, audit, { env, commit });
      if (anchored) o.log(anchored);
    },
  });
  const hook: GitHookTarget = {
    secret,
    wake: () => void controller.wake(),
    watching: (branch) => controller.watching(branch),
    log: o.log,
  };
  return { controller, hook };
}
