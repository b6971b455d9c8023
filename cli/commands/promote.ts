import { createInterface } from 'node:readline/promises';
import { Args, Flags } from '@oclif/core';
import { diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import {
  completePromotion,
  preparePromotion,
  type Promoted,
  type Promotion,
  type Refusal,
} from '../../engine/promote/promote.js';
import { renderPromotionText, renderRefusalDetails } from '../../engine/promote/render.js';
import { recordSkippedSoak } from '../../engine/promote/soak.js';
import { RsyncCommand } from '../base.js';
import { openDatabase, workspaceRoot } from '../database.js';
import { cliIdentity } from '../identity.js';
import { renderDiagnostic } from '../views/diagnostics.js';
import { renderCase } from '../views/mapping-tests.js';

export interface PromoteOutput {
  version: 1;
  /** True when the target branch now has the promotion commit. */
  done: boolean;
  /** --dry-run: the commit was written as an object but no branch points at it. */
  dryRun?: boolean;
  promotion?: Promotion;
  result?: Promoted;
  refused?: Omit<Refusal, 'diagnostics'> & { diagnostics?: Record<string, unknown>[] };
}

export default class Promote extends RsyncCommand<PromoteOutput> {
  static summary = "Promote customers' changes from one environment's Git ref to another's, as one commit.";
  static description =
    `Brings each chosen customer's folder (integrations/<customer>/) as it is at the source environment's
ref, and the template versions those customers use, to the target environment's branch as one commit — built
with Git plumbing, so your working tree, index and current branch are not touched, and never pushed (push it
yourself: it is a fast-forward). rsync.yaml is promoted only with --include-workspace.

It refuses when the source does not validate or its mapping tests fail (exit 1), when the target changed a
promoted file since the last promotion (a conflict, exit 1), when the source environment has not applied what is
promoted (exit 75), or without confirmation (on a terminal it asks; elsewhere --yes is required, exit 75).
It shows the files and how the target environment's resources change before asking.`;
  static examples = [
    '<%= config.bin %> promote --from staging --to production',
    '<%= config.bin %> promote --from staging --to production --customer northwind --yes',
    '<%= config.bin %> promote --from staging --to production --dry-run --json',
  ];
  static args = { path: Args.string({ description: 'the workspace (default: the current folder)', default: '.' }) };
  static flags = {
    from: Flags.string({ description: 'the source environment (its ref in rsync.yaml)', required: true }),
    to: Flags.string({ description: 'the target environment (its ref must be a local branch)', required: true }),
    customer: Flags.string({
      char: 'c',
      description: 'promote this customer (repeatable; default: every customer)',
      multiple: true,
    }),
    'include-workspace': Flags.boolean({ description: 'also promote the partner-wide rsync.yaml' }),
    yes: Flags.boolean({ char: 'y', description: 'promote without asking' }),
    'dry-run': Flags.boolean({ description: 'show what would be promoted, and stop' }),
    'skip-soak': Flags.string({
      description: "promote although the source has not met rsync.yaml's promotion soak; give why (audited)",
    }),
    verbose: Flags.boolean({ char: 'v', description: 'list every resource change, however many' }),
  };

  async run(): Promise<PromoteOutput> {
    const { args, flags } = await this.parse(Promote);
    const root = await workspaceRoot(args.path);
    const db = await openDatabase(root, this.json);
    try {
      const { actor } = await cliIdentity(db, root, 'operate');
      const outcome = await preparePromotion(db, {
        path: root,
        from: flags.from,
        to: flags.to,
        customers: flags.customer,
        includeWorkspace: flags['include-workspace'],
        actor,
        skipSoak: skipSoakReason(flags['skip-soak']),
      });
      if (!outcome.ok) {
        const r = outcome.refusal;
        if (!this.json) {
          for (const d of r.diagnostics ?? []) this.logToStderr(renderDiagnostic(d));
          for (const c of r.cases ?? []) this.logToStderr(renderCase(c));
          this.logToStderr(`rsync: ${r.message}`);
          for (const line of renderRefusalDetails(r)) this.logToStderr(line);
          this.logToStderr(`  ${r.hint}`);
        }
        this.exitCode = r.exitCode;
        const { diagnostics, ...rest } = r;
        return {
          version: 1,
          done: false,
          refused: { ...rest, ...(diagnostics ? { diagnostics: diagnostics.map(diagnosticToJSON) } : {}) },
        };
      }
      const p = outcome.promotion;
      if (!this.json) this.log(renderPromotionText(p, { verbose: flags.verbose }));
      if (!p.commit) return { version: 1, done: false, promotion: p };
      if (flags['dry-run']) {
        this.note(`\nDry run: nothing was promoted (${p.to.branch} is still at ${p.to.commit.slice(0, 7)}).`);
        return { version: 1, done: false, dryRun: true, promotion: p };
      }
      if (!flags.yes) {
        if (!process.stdin.isTTY || this.json) {
          throw new RsyncError(
            'Refusing to promote without confirmation: this is not a terminal.',
            ExitCode.REFUSED,
            'Review the changes (--dry-run shows them), then run again with --yes.',
          );
        }
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(
          `\nPromote to ${p.to.env} (a commit on ${p.to.branch})? Only "yes" is accepted: `,
        );
        rl.close();
        if (answer.trim() !== 'yes')
          throw new RsyncError('Promotion cancelled; nothing was promoted.', ExitCode.REFUSED);
      }
      const result = await completePromotion(p);
      const audited = p.soak?.skipped ? await recordSkippedSoak(db.pool, p, p.soak, result.after) : undefined;
      if (!this.json) {
        this.log(
          `\nPromoted to ${p.to.env}: commit ${result.after.slice(0, 7)} on ${result.branch} (was ${result.before.slice(0, 7)}).`,
        );
        if (audited)
          this.log(
            `  The soak was skipped (${p.soak!.problems.join('; ')}): recorded in the commit and in apply log entry ${audited}.`,
          );
        if (result.checkedOut)
          this.log(`  Updated the promoted files in ${result.checkedOut}, where ${result.branch} is checked out.`);
        this.log(
          `  Next: push it (\`git push origin ${result.branch}\`), then \`rsync plan --env ${p.to.env}\` and apply.`,
        );
      }
      return { version: 1, done: true, promotion: p, result };
    } finally {
      await db.close();
    }
  }
}

/** --skip-soak's reason: it must say why. */
function skipSoakReason(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (!reason.trim())
    throw new RsyncError(
      '--skip-soak needs a reason.',
      ExitCode.USAGE,
      'Say why the soak is skipped, e.g. --skip-soak "hotfix for INC-1234"; it is kept in the commit and the apply log.',
    );
  return reason.trim();
}
