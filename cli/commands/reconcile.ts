import { Args, Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import {
  deployedReconciliations,
  type ReconciliationDef,
  reconciliationLine,
  runReconciliation,
} from '../../engine/runtime/reconcile/index.js';
import type { ReconciliationRun } from '../../engine/state/reconciliations.js';
import { RsyncCommand } from '../base.js';
import { parseDurationFlag } from '../flags.js';
import { openRuntime, runtimeFlags } from '../runtime.js';
import { green, red } from '../views/diagnostics.js';
import { stages } from '../views/progress.js';

export interface ReconcileOutput extends ReconciliationRun {
  version: 1;
}

/** The longest window a run may be asked for: a year. */
const MAX_WINDOW_MS = 366 * 86_400_000;

export default class Reconcile extends RsyncCommand<ReconcileOutput> {
  static summary = 'Run a reconciliation check now: compare two systems over a window by count, money and key.';
  static description = `Runs the deployed Reconciliation <customer>/<name> (or <name>, when one customer has it) of
the environment: reads each side's records in the window (a stream through its connector, or an entity read back
from the target by the ids rsync wrote), and compares their counts, their sums of money per currency (exact
decimals) and their keys. The result is stored (rsync status, /metrics and a rollout's gate show the latest) and
printed: the keys only one side has, the amounts that differ, keys twice on a side, with whole counts.
--sandbox reads the sandbox's simulated systems, as rsync worker --sandbox does.
Exit code 0 when the two sides agree, 1 when they do not or a side could not be read.`;
  static examples = [
    '<%= config.bin %> reconcile northwind/orders-vs-erp',
    '<%= config.bin %> reconcile orders-vs-erp --window 7d --env production --json',
  ];
  static args = {
    name: Args.string({ description: '<customer>/<name> of a deployed Reconciliation (or <name>)', required: true }),
  };
  static flags = {
    ...runtimeFlags,
    window: Flags.string({ description: "how far back to look instead of the check's own window (e.g. 1d, 12h)" }),
    sandbox: Flags.boolean({
      description: "read the sandbox's simulated systems (as rsync worker --sandbox)",
      default: false,
    }),
  };

  async run(): Promise<ReconcileOutput> {
    const { args, flags } = await this.parse(Reconcile);
    const windowMs = parseDurationFlag('window', flags.window, { min: 1000, max: MAX_WINDOW_MS });
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const def = pick(await deployedReconciliations(db.pool, env), args.name, env);
      const progress = stages(`Reconciling ${def.customer}/${def.name}`, ['left', 'right'], !this.json);
      let run: ReconciliationRun;
      try {
        run = await runReconciliation({ db: db.pool, sandbox: flags.sandbox }, def, {
          trigger: 'manual',
          windowMs,
          onRead: (side, n) => {
            progress.stage(side);
            progress.count(n, n, `records of ${def[side].connection.system}`);
          },
        });
      } finally {
        progress.done();
      }
      if (!this.json) this.log(render(run));
      this.exitCode = run.ok ? ExitCode.OK : ExitCode.FAILED;
      return { version: 1, ...run };
    } finally {
      await db.close();
    }
  }
}

/** The check `name` names among the deployed ones, or an error naming those there are. */
function pick(defs: ReconciliationDef[], name: string, env: string): ReconciliationDef {
  const found = name.includes('/')
    ? defs.filter((d) => `${d.customer}/${d.name}` === name)
    : defs.filter((d) => d.name === name);
  if (found.length === 1) return found[0];
  const names = defs.map((d) => `${d.customer}/${d.name}`);
  if (found.length > 1)
    throw new RsyncError(
      `${found.length} customers have a reconciliation ${name} in ${env}`,
      ExitCode.USAGE,
      `Name one: ${found.map((d) => `${d.customer}/${d.name}`).join(', ')}.`,
    );
  throw new RsyncError(
    `no reconciliation ${name} is deployed in ${env}`,
    ExitCode.FAILED,
    names.length
      ? `Deployed: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}. Apply the workspace first (rsync plan, rsync apply).`
      : `None is deployed in ${env}: declare a Reconciliation in integrations/<customer>/, then rsync plan and rsync apply.`,
  );
}

function render(run: ReconciliationRun): string {
  const head = `${run.ok ? green('OK') : red(run.error ? 'FAILED' : 'MISMATCH')}: ${reconciliationLine(run)}`;
  const r = run.result;
  if (!r) return head;
  const lines = [head];
  const list = (title: string, l: { count: number; keys: string[] }) => {
    if (!l.count) return;
    const more = l.count > l.keys.length ? ` (first ${l.keys.length} of ${l.count})` : '';
    lines.push(`  ${title}${more}: ${l.keys.join(', ')}`);
  };
  list(`only in ${r.left.system} (${r.left.reads}), missing in ${r.right.system}`, r.onlyLeft);
  list(`only in ${r.right.system} (${r.right.reads}), missing in ${r.left.system}`, r.onlyRight);
  if (r.amounts.count) {
    const more =
      r.amounts.count > r.amounts.keys.length ? ` (first ${r.amounts.keys.length} of ${r.amounts.count})` : '';
    lines.push(`  amounts differ${more}:`);
    for (const a of r.amounts.keys)
      lines.push(`    ${a.key}: ${r.left.system} ${a.left}, ${r.right.system} ${a.right}`);
  }
  for (const c of r.currencies.filter((x) => !x.ok))
    lines.push(
      `  ${c.currency ?? 'sum'}: ${r.left.system} ${c.left}, ${r.right.system} ${c.right} (difference ${c.difference})`,
    );
  for (const s of [r.left, r.right]) {
    list(`twice in ${s.system}`, s.duplicates);
    if (s.invalid.count)
      lines.push(`  not comparable in ${s.system}: ${s.invalid.count} (${s.invalid.reasons.join('; ')})`);
  }
  return lines.join('\n');
}
