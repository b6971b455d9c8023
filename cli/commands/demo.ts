import { Flags } from '@oclif/core';
import { applyPlan } from '../../engine/apply/apply.js';
import { hasErrors } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/errors.js';
import { runMappingTests } from '../../engine/mapping/test-runner.js';
import { workspaceStats } from '../../engine/model/stats.js';
import { currentActor, planEnvironment } from '../../engine/plan/index.js';
import { renderPlanText, summaryLine } from '../../engine/plan/render.js';
import { projectRoot } from '../../engine/util/paths.js';
import { openAndValidate } from '../../engine/workspace.js';
import { RsyncCommand } from '../base.js';
import { openDatabase } from '../database.js';
import { renderDiagnostic } from '../render/diagnostics.js';

export interface DemoResult {
  version: 1;
  valid: boolean;
  tests: { passed: number; failed: number };
  applied: { create: number; update: number; delete: number } | null;
  env: string;
}

export default class Demo extends RsyncCommand<DemoResult> {
  static summary = "Run the example workspace end to end: validate, test its mappings, plan and apply it to staging.";
  static description = `Uses this installation's example workspace (rsync.yaml, integrations/, templates/) and, with no
DATABASE_URL, the embedded PostgreSQL under its .rsync/ folder.`;
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment to apply to', default: 'staging' }),
  };

  async run(): Promise<DemoResult> {
    const { flags } = await this.parse(Demo);
    const root = projectRoot();
    const say = (s: string) => !this.json && this.log(s);

    say('1. Validate the example workspace');
    const v = await openAndValidate({ path: root });
    const stats = workspaceStats(v.ws);
    for (const d of v.diagnostics) say(renderDiagnostic(d));
    say(`   ${stats.customers} customers, ${stats.flows} flows, ${stats.templates} templates: ${hasErrors(v.diagnostics) ? 'ERRORS' : 'valid'}`);
    const result: DemoResult = { version: 1, valid: !hasErrors(v.diagnostics), tests: { passed: 0, failed: 0 }, applied: null, env: flags.env };
    if (!result.valid) {
      this.exitCode = ExitCode.FAILED;
      return result;
    }

    say('2. Run the mapping tests');
    const report = await runMappingTests(v.ws, v.mappings);
    result.tests = { passed: report.passed, failed: report.failed };
    say(`   ${report.passed} passed, ${report.failed} failed`);

    say(`3. Plan and apply to ${flags.env}`);
    const db = await openDatabase(root, this.json);
    try {
      say(`   database: ${db.describe}`);
      const actor = await currentActor(root);
      const outcome = await planEnvironment(db, { path: root, env: flags.env, actor });
      if (!outcome.ok) {
        for (const d of outcome.diagnostics) say(renderDiagnostic(d));
        this.exitCode = ExitCode.FAILED;
        return result;
      }
      const plan = outcome.plan;
      say(renderPlanText(plan).split('\n').map((l) => `   ${l}`).join('\n'));
      if (!plan.empty) {
        const applied = await applyPlan(db, plan, { actor, url: db.url });
        result.applied = applied.applied;
        say(`   applied: ${applied.applied.create} created, ${applied.applied.update} updated, ${applied.applied.delete} deleted (apply log entry ${applied.logEntry})`);
      } else say(`   ${summaryLine(plan)}`);
    } finally {
      await db.close();
    }
    say('\nNext: rsync plan --env staging (now empty), rsync db status, and see README.md.');
    this.exitCode = report.failed ? ExitCode.FAILED : ExitCode.OK;
    return result;
  }
}
