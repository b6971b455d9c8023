import { tenantIsolation } from '../../engine/state/tenancy.js';
import { Flags } from '@oclif/core';
import { declaredOidcRoutes } from '../../engine/console/oidc.js';
import { serveConsole } from '../../engine/console/serve.js';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { Mapper } from '../../engine/runtime/mapping/mapper.js';
import { workerId } from '../../engine/runtime/page-loop.js';
import { setLongTimeout } from '../../engine/util/duration.js';
import { closeServer } from '../../engine/runtime/server.js';
import { RsyncCommand } from '../base.js';
import { parseDurationFlag, portFlag } from '../flags.js';
import { openRuntime, runtimeFlags } from '../runtime.js';

export interface ConsoleResult {
  version: 1;
  env: string;
  url: string;
}

export default class Console extends RsyncCommand<ConsoleResult> {
  static jsonLogs = true;
  static summary = 'Serve the web console of an environment: overview, flows, dead letters, record journeys, changes.';
  static description =
    `A long-running process serving the console's pages and its JSON API (under /api/) on one port. Sign in with a
token (\`rsync token create --role R\`); scripts send it as \`Authorization: Bearer <token>\`. Every request is
authorised on the server by the token's role; a customer viewer sees only its customer.

Replays and retries from the console run in this process (--sandbox: on the sandbox systems, as a worker
--sandbox does). \`rsync worker --console\` serves the same console on the worker's port instead.`;
  static examples = [
    '<%= config.bin %> console --env staging',
    '<%= config.bin %> console --env production --port 8080 --host 0.0.0.0',
  ];
  static flags = {
    ...runtimeFlags,
    port: portFlag({
      char: 'p',
      description: 'port of the console, 0 to 65535 (0: any free port)',
      default: 8788,
      env: 'RSYNC_CONSOLE_PORT',
    }),
    host: Flags.string({ description: 'address to listen on', default: process.env.RSYNC_HOST ?? '127.0.0.1' }),
    sandbox: Flags.boolean({
      description: 'replays write to the sandbox systems (as `rsync worker --sandbox`)',
      default: process.env.RSYNC_SANDBOX === '1',
    }),
    for: Flags.string({ description: 'stop after this long, e.g. 30s — for demos and tests' }),
  };

  async run(): Promise<ConsoleResult> {
    const { flags } = await this.parse(Console);
    const forMs = parseDurationFlag('for', flags.for);
    const { db, env, root } = await openRuntime(flags, this.json);
    const oidc = await declaredOidcRoutes(db.pool, root).catch(async (e) => {
      await db.close();
      throw e;
    });
    const mapper = new Mapper(0);
    let served: Awaited<ReturnType<typeof serveConsole>>;
    try {
      served = await serveConsole(
        {
          pool: db.pool,
          env,
          root,
          oidc,
          rt: { db: db.pool, mapper, worker: `console:${workerId()}`, sandbox: flags.sandbox },
          log: (line) => this.note(line),
        },
        flags.port,
        flags.host,
      );
    } catch (e) {
      await mapper.close();
      await db.close();
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES')
        throw new RsyncError(
          `Port ${flags.port} on ${flags.host} cannot be used: ${err.code === 'EADDRINUSE' ? 'it is in use' : 'it needs privileges'}.`,
          ExitCode.UNAVAILABLE,
          'Pass another --port (0 picks a free one).',
        );
      throw e;
    }
    const url = `http://${flags.host}:${served.port}/`;
    const isolation = await tenantIsolation(db.pool);
    if (!isolation.enforced)
      this.note(
        `warning: customer viewers' queries run on their SQL filters alone, not under row-level security: ${isolation.reason}`,
      );
    this.note(
      `console of ${env} on ${url} (database ${db.describe}); sign in with a token (rsync token create <name> --role viewer)${oidc ? ` or at /auth/oidc/login (${oidc.label.slice('Sign in with '.length)})` : ''}`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
      if (forMs !== undefined) setLongTimeout(() => resolve(), forMs).unref();
    });
    await closeServer(served.server);
    await mapper.close();
    await db.close();
    return { version: 1, env, url };
  }
}
