import { Args, Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { awaitBackfill, backfillWindows, createBackfill } from '../../engine/runtime/backfill.js';
import { parseDuration } from '../../engine/util/duration.js';
import { deployedFlow } from '../../engine/runtime/flows.js';
import { RsyncCommand } from '../base.js';
import { parseDurationFlag } from '../flags.js';
import { logFlags } from '../log.js';
import { cliIdentity } from '../identity.js';
import { openRuntime, runtimeFlags } from '../runtime.js';

export interface BackfillOutput {
  version: 1;
  env: string;
  flow: string;
  backfill: number;
  windows: number;
  done: number;
  read: number;
}

function time(flag: string, text: string): Date {
  const rel = parseDuration(text);
  const d = rel !== undefined ? new Date(Date.now() - rel) : new Date(text);
  // Years 1 to 9999, as ISO 8601 writes them: PostgreSQL refuses a timestamp outside its range.
  const year = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || year < 1 || year > 9999)
    throw new RsyncError(
      `--${flag} ${text} is not a time${Number.isNaN(d.getTime()) ? '' : ' from year 1 to 9999'}.`,
      ExitCode.USAGE,
      'Give an ISO-8601 time (2026-01-01, 2026-01-01T00:00:00Z) or an age (7d, 12h).',
    );
  return d;
}

export default class Backfill extends RsyncCommand<BackfillOutput> {
  static summary =
    'Re-sync a flow over a time range, in windows that workers run in parallel and resume after a crash.';
  static description =
    `Cuts [--since, --until) into windows (--window, default 1d). Workers (\`rsync worker\`) claim the windows,
each resuming from its own cursor, so a killed worker loses nothing; records already delivered with the same
content are skipped by the ledger. With --wait a counter shows windows done and records read (on a terminal).`;
  static examples = [
    '<%= config.bin %> backfill northwind/orders-to-erp --since 2026-01-01 --env staging --wait',
    '<%= config.bin %> backfill orders-to-erp --customer northwind --since 30d --window 6h',
  ];
  static args = {
    flow: Args.string({ description: '<customer>/<flow>, or the flow name with --customer', required: true }),
  };
  static flags = {
    ...runtimeFlags,
    ...logFlags,
    customer: Flags.string({ char: 'c', description: 'the customer, when the flow is given by name alone' }),
    since: Flags.string({ description: 'from this time (ISO-8601) or age (30d)', required: true }),
    until: Flags.string({ description: 'up to this time (default: now)' }),
    window: Flags.string({
      description: 'the size of a window (at least 1s, and at most 10,000 windows in all)',
      default: '1d',
    }),
    wait: Flags.boolean({ description: 'wait until every window is done, with progress', default: false }),
  };

  async run(): Promise<BackfillOutput> {
    const { args, flags } = await this.parse(Backfill);
    this.startLog(flags);
    const since = time('since', flags.since);
    const until = flags.until ? time('until', flags.until) : new Date();
    if (until <= since) throw new RsyncError('--until must be after --since.', ExitCode.USAGE);
    const windowMs = parseDurationFlag('window', flags.window)!;
    backfillWindows(since, until, windowMs); // before the database: a window too small is refused at once
    const { db, env, root } = await openRuntime(flags, this.json);
    try {
      const { actor } = await cliIdentity(db, root, 'operate');
      const flow = await deployedFlow(db.pool, env, args.flow, flags.customer);
      const b = await createBackfill(db.pool, flow, since, until, windowMs, actor);
      this.note(
        `backfill ${b.id} of ${flow.address}: ${since.toISOString()} → ${until.toISOString()} in ${b.windows} windows`,
      );
      const out: BackfillOutput = {
        version: 1,
        env,
        flow: flow.address,
        backfill: b.id,
        windows: b.windows,
        done: 0,
        read: 0,
      };
      if (!flags.wait) return out;
      // A counter on a terminal (windows done, records read); nothing in --json, in CI or when piped.
      const live = !this.json && Boolean(process.stderr.isTTY) && !process.env.CI;
      const p = await awaitBackfill(db.pool, b.id, (p) => {
        if (live)
          process.stderr.write(
            `\rbackfill ${b.id}: ${p.done}/${p.windows} windows, ${p.read.toLocaleString('en-US')} records read `,
          );
      });
      out.done = p.done;
      out.read = p.read;
      if (live) process.stderr.write('\n');
      if (!this.json) this.log(`backfill ${b.id} done: ${out.windows} windows, ${out.read} records read`);
      return out;
    } finally {
      await db.close();
    }
  }
}
