import { Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { serveGitHook } from '../../engine/gitops/git-hook.js';
import { closeServer } from '../../engine/runtime/server.js';
import { setLongTimeout } from '../../engine/util/duration.js';
import { declaredSyncSettings } from '../../engine/workspace/index.js';
import { RsyncCommand } from '../base.js';
import { openDatabase, workspaceRoot } from '../database.js';
import { parseDurationFlag, portFlag } from '../flags.js';
import { openController, syncFlags } from '../sync.js';

export interface ControllerResult {
  version: 1;
  envs: string[];
  actor: string;
  port: number | null;
}

export default class ControllerCommand extends RsyncCommand<ControllerResult> {
  static jsonLogs = true;
  static summary = 'Sync environments from Git: apply each new commit of their branch where they allow it, heal drift.';
  static description =
    `A long-running process. For each environment it fetches the branch rsync.yaml binds it to (from the workspace
clone's origin) every --interval, or at once when POST /hooks/git (a push webhook, verified with
X-Hub-Signature-256) wakes it; plans the branch's commit and applies it when the environment says autoSync: true
(inside one of its syncWindows, when it declares any), and heals drift with selfHeal: true. An environment with
requiresApproval: true is never applied: it is reported out of sync. \`rsync status\` shows "synced at <commit>" or
"out of sync (<commit> not applied: <why>)". Every automatic apply is in the apply log as rsync-controller@<host>.
Run several for availability: one acts per environment, the others take over when it stops.`;
  static examples = [
    '<%= config.bin %> controller',
    '<%= config.bin %> controller --env staging --interval 10s',
    'GITHUB_WEBHOOK_SECRET=… <%= config.bin %> controller --port 8790 --webhook-secret-env GITHUB_WEBHOOK_SECRET',
  ];
  static flags = {
    env: Flags.string({
      char: 'e',
      description: 'an environment to sync (repeatable; default: every one)',
      multiple: true,
    }),
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
    ...syncFlags,
    port: portFlag({
      char: 'p',
      description: 'port of POST /hooks/git and GET /healthz, 0 to 65535 (0: any free port)',
      default: 8790,
      env: 'RSYNC_CONTROLLER_PORT',
    }),
    host: Flags.string({ description: 'address to listen on', default: process.env.RSYNC_HOST ?? '127.0.0.1' }),
    for: Flags.string({ description: 'stop after this long, e.g. 30s — for demos and tests' }),
  };

  async run(): Promise<ControllerResult> {
    const { flags } = await this.parse(ControllerCommand);
    const forMs = parseDurationFlag('for', flags.for);
    const root = await workspaceRoot(flags.path);
    const envs = flags.env?.length ? flags.env : (await declaredSyncSettings(root)).map((s) => s.env);
    const db = await openDatabase(root, this.json);
    let served: Awaited<ReturnType<typeof serveGitHook>> | undefined;
    const { controller, hook } = await openController(db, root, envs, flags, (line) => this.note(line));
    try {
      served = await serveGitHook(hook, flags.port, flags.host);
    } catch (e) {
      await db.close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new RsyncError(
          `Port ${flags.port} is in use.`,
          ExitCode.UNAVAILABLE,
          'Pass another --port (0 picks a free one).',
        );
      throw e;
    }
    controller.start();
    this.note(
      `controller ${controller.actor} syncing ${envs.join(', ')} every ${flags.interval}: database ${db.describe}; ` +
        (hook.secret
          ? `push webhook on http://${flags.host}:${served.port}/hooks/git`
          : 'no push webhook (--webhook-secret-env)'),
    );
    const why = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
      if (forMs !== undefined) setLongTimeout(() => resolve(`--for ${flags.for}`), forMs).unref();
    });
    this.note(`stopping (${why})`);
    await controller.stop();
    await closeServer(served.server);
    await db.close();
    return { version: 1, envs, actor: controller.actor, port: served.port };
  }
}
