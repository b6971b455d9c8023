import { Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { setLongTimeout } from '../../engine/util/duration.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { declaredOidcRoutes } from '../../engine/console/oidc.js';
import { consoleListener } from '../../engine/console/serve.js';
import { RsyncCommand } from '../base.js';
import { DEFAULT_LIMITS } from '../../engine/runtime/server.js';
import { countFlag, LONGEST_TIMER_MS, parseDurationFlag, parseSizeFlag, portFlag } from '../flags.js';
import { logFlags } from '../log.js';
import { openRuntime, runtimeFlags } from '../runtime.js';
import { openController, syncFlags } from '../sync.js';
import { handleGitHook } from '../../engine/gitops/git-hook.js';

export interface WorkerResult {
  version: 1;
  env: string;
  worker: string;
  port: number | null;
  drained: boolean;
  totals: RsyncWorker['totals'];
}

export default class Worker extends RsyncCommand<WorkerResult> {
  static jsonLogs = true;
  static summary =
    'Run the applied flows of an environment: schedules, webhooks, manual runs, backfills; follows new applies live.';
  static description =
    `A long-running process. It works the environment's pg-boss queues with its own fetch loop (woken by
NOTIFY, not bound by a polling interval), starts scheduled flows on their cron in their time zone, serves
POST /hooks/<customer>/<flow> (signature verified, de-duplicated by delivery id), GET /healthz, GET /readyz and
GET /metrics (Prometheus's text format), and works backfill windows. Start more workers, on more machines, against the same database to scale out.

SIGTERM or SIGINT drains: no new work is taken, running jobs finish until --drain-timeout, then they are
interrupted where they stand (their cursors are committed per page, so the next worker resumes).

--sandbox serves every connection with the sandbox connector (simulated systems in the state database).

--sync also runs the controller for the worker's environment (as \`rsync controller --env <env>\` does): each new
commit of its branch is applied where rsync.yaml allows it, and POST /hooks/git (with --webhook-secret-env) wakes it.`;
  static examples = [
    '<%= config.bin %> worker --env staging',
    '<%= config.bin %> worker --env staging --sandbox --port 8787',
    '<%= config.bin %> worker --env production --concurrency 8 --drain-timeout 60s',
  ];
  static flags = {
    ...runtimeFlags,
    ...logFlags,
    port: portFlag({
      char: 'p',
      description: 'port of the webhook and health endpoints, 0 to 65535 (0: any free port)',
      default: 8787,
      env: 'RSYNC_PORT',
    }),
    host: Flags.string({ description: 'address to listen on', default: process.env.RSYNC_HOST ?? '127.0.0.1' }),
    sandbox: Flags.boolean({
      description: 'serve every connection with the sandbox connector',
      default: process.env.RSYNC_SANDBOX === '1',
    }),
    concurrency: countFlag({ description: 'runs in flight at once in this worker', default: 4, max: 1000 }),
    threads: countFlag({ description: 'mapping threads (default: one per core)', min: 0, max: 256 }),
    for: Flags.string({ description: 'stop (and drain) after this long, e.g. 30s — for demos and tests' }),
    'max-body': Flags.string({
      description: 'largest webhook body taken (413 beyond it, read no further), 1KB to 64MB',
      default: '5MB',
    }),
    'body-timeout': Flags.string({
      description: 'a webhook request must arrive whole within this (408 and closed after), 1s to 10m',
      default: '30s',
    }),
    'max-deliveries': countFlag({
      description: 'deliveries of one flow read and stored at once (429 with Retry-After beyond)',
      default: DEFAULT_LIMITS.maxDeliveriesPerFlow,
      max: 10_000,
    }),
    'metrics-flows': Flags.string({
      description: 'label /metrics figures by flow (on), or sum them per customer (off: for thousands of flows)',
      options: ['on', 'off'],
      default: process.env.RSYNC_METRICS_FLOWS ?? 'on',
    }),
    'drain-timeout': Flags.string({
      description: 'how long running jobs may take to finish when stopping (at most 24d)',
      default: '30s',
    }),
    'sla-every': Flags.string({
      description: "how often the environment's SLAs are evaluated (one worker at a time), 1s to 1h; 0 for never",
      default: '30s',
    }),
    sync: Flags.boolean({
      description:
        "also sync the environment from Git (the controller: rsync controller's --interval, --webhook-secret-env)",
      default: false,
    }),
    ...syncFlags,
    console: Flags.boolean({
      description: "also serve the web console (pages and /api/) on the worker's port",
      default: false,
    }),
    'alert-interval': Flags.string({
      description: 'how often the alerts are evaluated, 1s to 1h (0: never, in this worker)',
      default: '30s',
    }),
    'retention-every': Flags.string({
      description:
        "how often what the policies' retention no longer keeps is deleted (one worker at a time), 1m to 7d; 0 for never",
      default: '1h',
    }),
    'reconcile-interval': Flags.string({
      description:
        'how often due Reconciliation checks are looked for and run (one worker at a time), 1s to 1h (0: never, in this worker)',
      default: '30s',
    }),
    'rollout-interval': Flags.string({
      description:
        "how often the rollouts' gates are judged and the next cohorts applied, 1s to 1h (0: never, in this worker)",
      default: '10s',
    }),
  };

  async run(): Promise<WorkerResult> {
    const { flags } = await this.parse(Worker);
    // --for may be any length (it waits in steps: one Node timer fires at once past 24.8 days); the drain's wait
    // is one timer in the worker, so it is bounded.
    const forMs = parseDurationFlag('for', flags.for);
    const drainMs = parseDurationFlag('drain-timeout', flags['drain-timeout'], { max: LONGEST_TIMER_MS })!;
    const slaEveryMs =
      flags['sla-every'] === '0'
        ? 0
        : parseDurationFlag('sla-every', flags['sla-every'], { min: 1000, max: 3_600_000 });
    const alertMs =
      flags['alert-interval'] === '0'
        ? 0
        : parseDurationFlag('alert-interval', flags['alert-interval'], { min: 1000, max: 3_600_000 })!;
    const retentionEveryMs =
      flags['retention-every'] === '0'
        ? 0
        : parseDurationFlag('retention-every', flags['retention-every'], { min: 60_000, max: 7 * 86_400_000 })!;
    const { db, env, root } = await openRuntime(flags, this.json);
    const oidc = flags.console
      ? await declaredOidcRoutes(db.pool, root).catch(async (e) => {
          await db.close();
          throw e;
        })
      : undefined;
    const sync = flags.sync ? await openController(db, root, [env], flags, (line) => this.note(line)) : undefined;
    const worker = new RsyncWorker({
      route: sync && ((req, res, pathname) => handleGitHook(sync.hook, req, res, pathname)),
      slaEveryMs,
      retentionEveryMs,
      pool: db.pool,
      url: db.url,
      env,
      port: flags.port,
      host: flags.host,
      sandbox: flags.sandbox,
      concurrency: flags.concurrency,
      threads: flags.threads,
      limits: {
        maxBodyBytes: parseSizeFlag('max-body', flags['max-body'], { min: 1024, max: 64 * 1024 * 1024 }),
        bodyTimeoutMs: parseDurationFlag('body-timeout', flags['body-timeout'], { min: 1000, max: 600_000 }),
        maxDeliveriesPerFlow: flags['max-deliveries'],
      },
      alertIntervalMs: alertMs,
      reconcileIntervalMs:
        flags['reconcile-interval'] === '0'
          ? 0
          : parseDurationFlag('reconcile-interval', flags['reconcile-interval'], { min: 1000, max: 3_600_000 }),
      rolloutIntervalMs:
        flags['rollout-interval'] === '0'
          ? 0
          : parseDurationFlag('rollout-interval', flags['rollout-interval'], { min: 1000, max: 3_600_000 }),
      metricsByFlow: flags['metrics-flows'] !== 'off',
      log: (line, fields) => this.note(line, fields),
      otherPaths: flags.console
        ? (rt) => consoleListener({ pool: db.pool, env, root, rt, oidc, log: (line) => this.note(line) })
        : undefined,
    });
    this.startLog(flags, { worker: worker.id, env });
    try {
      await worker.start();
    } catch (e) {
      await db.close();
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE')
        throw new RsyncError(
          `Port ${flags.port} is in use.`,
          ExitCode.UNAVAILABLE,
          'Pass another --port (0 picks a free one), or stop what listens there.',
        );
      if (err.code === 'EACCES')
        throw new RsyncError(
          `Port ${flags.port} on ${flags.host} needs privileges this process does not have.`,
          ExitCode.UNAVAILABLE,
          'Pass a --port above 1023 (0 picks a free one).',
        );
      if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
        throw new RsyncError(
          `--host ${flags.host} is not an address of this machine.`,
          ExitCode.USAGE,
          'Give an address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its own.',
        );
      throw e;
    }
    sync?.controller.start();
    this.note(
      `worker ${worker.id} on ${env}${flags.sandbox ? ' (sandbox systems)' : ''}: database ${db.describe}` +
        (worker.port !== null ? `; webhooks on http://${flags.host}:${worker.port}/hooks/<customer>/<flow>` : '') +
        (worker.port !== null && flags.console ? `; console on http://${flags.host}:${worker.port}/` : ''),
    );
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
      if (forMs !== undefined) setLongTimeout(() => resolve(`--for ${flags.for}`), forMs).unref();
    });
    const why = await stopped;
    this.note(`stopping (${why}): draining for up to ${flags['drain-timeout']}`);
    await sync?.controller.stop();
    const { drained } = await worker.stop(drainMs);
    await db.close();
    const t = worker.totals;
    this.note(
      `stopped${drained ? '' : ' (running jobs interrupted; they resume on the next worker)'}: ${t.runs} runs, ${t.read} read, ${t.written} written, ${t.unchanged} unchanged, ${t.filtered} filtered, ${t.dead} dead-lettered`,
    );
    this.exitCode = ExitCode.OK;
    return { version: 1, env, worker: worker.id, port: worker.port, drained, totals: t };
  }
}
