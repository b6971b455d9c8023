import { Args, Flags } from '@oclif/core';
import { countDiagnostics, diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { workspaceStats } from '../../engine/model/stats.js';
import { openAndValidate, VALIDATE_STAGES } from '../../engine/workspace/open.js';
import { RsyncCommand } from '../base.js';
import { green, plural, red, renderDiagnostic } from '../views/diagnostics.js';
import { stages } from '../views/progress.js';

export interface ValidateResult {
  version: 1;
  valid: boolean;
  workspace: string;
  ref: string | null;
  commit: string | null;
  env: string | null;
  summary: { errors: number; warnings: number; customers: number; flows: number; templates: number; files: number };
  diagnostics: Record<string, unknown>[];
}

export default class Validate extends RsyncCommand<ValidateResult> {
  static summary = 'Check a workspace: schemas, references, mappings, schedules, ownership, secrets and PII.';
  static description = `Reports every problem in one run, each as file:line:col, severity, code and summary, with a
fix on the next line. Exit code 0 when there are no errors (warnings alone pass), 1 when there are.
Give a path inside the workspace to see only the problems under it.`;
  static examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate integrations/northwind --env production',
    '<%= config.bin %> validate --ref main --json',
  ];
  static args = {
    path: Args.string({ description: 'the workspace, or a folder inside it', default: '.' }),
  };
  static flags = {
    ref: Flags.string({ description: 'validate the workspace as it is at this Git ref (branch, tag, commit)' }),
    env: Flags.string({ description: "merge this environment's overlays before checking" }),
  };

  async run(): Promise<ValidateResult> {
    const { args, flags } = await this.parse(Validate);
    const bar = stages('validate', VALIDATE_STAGES, !this.json);
    const v = await openAndValidate({
      path: args.path,
      ref: flags.ref,
      env: flags.env,
      onStage: (s) => bar.stage(s),
      onCount: (done, total, unit) => bar.count(done, total, unit),
    });
    bar.done();
    const counts = countDiagnostics(v.shown);
    const stats = workspaceStats(v.ws);
    const result: ValidateResult = {
      version: 1,
      valid: counts.errors === 0,
      workspace: v.ws.source.root,
      ref: v.ws.source.ref ?? null,
      commit: v.ws.source.commit ?? null,
      env: v.ws.env ?? null,
      summary: { ...counts, ...stats },
      diagnostics: v.shown.map(diagnosticToJSON),
    };
    if (!this.json) {
      for (const d of v.shown) this.log(renderDiagnostic(d));
      const what = `${plural(stats.customers, 'customer')}, ${plural(stats.flows, 'flow')}, ${plural(stats.templates, 'template')} (${plural(stats.files, 'file')})`;
      const where = v.ws.source.label + (v.scope ? ` (showing ${v.scope})` : '');
      if (counts.errors)
        this.log(
          `${v.shown.length ? '\n' : ''}${red('✗')} ${plural(counts.errors, 'error')}, ${plural(counts.warnings, 'warning')} in ${where}: ${what}`,
        );
      else
        this.log(
          `${v.shown.length ? '\n' : ''}${green('✓')} ${where} is valid${counts.warnings ? ` with ${plural(counts.warnings, 'warning')}` : ''}: ${what}`,
        );
    }
    this.exitCode = counts.errors ? ExitCode.FAILED : ExitCode.OK;
    return result;
  }
}
