import { Args, Flags } from '@oclif/core';
import { diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { runMappingTests, type CaseResult, type TestReport } from '../../engine/mapping/test-runner.js';
import { openAndValidate } from '../../engine/workspace/open.js';
import { RsyncCommand } from '../base.js';
import { renderDiagnostic } from '../views/diagnostics.js';
import { renderCase } from '../views/mapping-tests.js';

export interface TestResult extends TestReport {
  /** Mapping files that do not compile (their cases are counted as failed too). */
  diagnostics: Record<string, unknown>[];
}

export default class Test extends RsyncCommand<TestResult> {
  static summary = 'Run the mapping tests beside each mapping, with the real JSONata engine.';
  static description = `Each case maps an input (inline or a fixture file) and compares the output with the expected
one, or checks that it is a valid canonical entity. Every case also checks that the mapping is deterministic and
that the idempotency key of each flow using the mapping gives a non-empty string. Exit code 0 when all pass, 1
otherwise. The last line reads "N passed, N failed".`;
  static examples = ['<%= config.bin %> test', '<%= config.bin %> test templates/shopify-orders-to-erp --json'];
  static args = {
    path: Args.string({ description: 'the workspace, or a folder or file inside it', default: '.' }),
  };
  static flags = {
    ref: Flags.string({ description: 'test the workspace as it is at this Git ref' }),
    verbose: Flags.boolean({ char: 'v', description: 'list passing cases too' }),
  };

  async run(): Promise<TestResult> {
    const { args, flags } = await this.parse(Test);
    const v = await openAndValidate({ path: args.path, ref: flags.ref });
    const broken = v.shown.filter((d) => d.code === 'jsonata-syntax' && d.range?.file.endsWith('.jsonata'));
    const report = await runMappingTests(v.ws, v.mappings, { scope: v.scope });
    if (!this.json) {
      for (const d of broken) this.log(renderDiagnostic(d));
      for (const c of report.cases) if (flags.verbose || c.status !== 'passed') this.log(renderCase(c));
      if (report.cases.length === 0) this.log('No mapping tests found (MappingTest documents beside the mappings).');
      this.log(`${report.passed} passed, ${report.failed} failed`);
    }
    this.exitCode = report.failed || broken.length ? ExitCode.FAILED : ExitCode.OK;
    // Durations vary from run to run: they are in the text output only, so --json stays stable.
    const cases = report.cases.map(({ durationMs: _ms, ...rest }) => rest as CaseResult);
    return { ...report, cases, diagnostics: broken.map(diagnosticToJSON) };
  }
}
