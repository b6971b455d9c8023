import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { diagnosticToJSON } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import {
  DEFAULT_CUSTOMER,
  DEFAULT_TEMPLATE,
  ERP_CHOICES,
  scaffoldWorkspace,
  type ScaffoldResult,
} from '../../engine/scaffold/scaffold.js';
import { renderTree } from '../../engine/scaffold/tree.js';
import { RsyncCommand } from '../base.js';
import { dim, green, plural, red, renderDiagnostic } from '../views/diagnostics.js';
import { renderCase } from '../views/mapping-tests.js';

export interface InitResult extends Omit<ScaffoldResult, 'check'> {
  check?: Omit<NonNullable<ScaffoldResult['check']>, 'diagnostics'> & { diagnostics: Record<string, unknown>[] };
}

export default class Init extends RsyncCommand<InitResult> {
  static summary = 'Create a partner workspace: rsync.yaml, a first customer on a template, README and a CI workflow.';
  static description = [
    'Writes rsync.yaml (partner, branding, staging and production environments, defaults, and a partner-wide Policy ',
    'and SLA), integrations/<customer>/ using a template of this rsync installation (copied into templates/, with the ',
    'fixtures its mapping tests read), .gitignore, README.md and .github/workflows/rsync.yml. Then it validates the ',
    'new workspace and runs its mapping tests, and runs `git init` when the folder is not in a repository (nothing ',
    'is committed). A folder that already has rsync.yaml is refused unless --force.',
  ].join('');
  static examples = [
    '<%= config.bin %> init acme-integrations --partner "Acme Retail Integrations" --customer northwind',
    '<%= config.bin %> init . --customer "Northwind Traders" --erp sandbox',
    `<%= config.bin %> init acme --template ${DEFAULT_TEMPLATE} --json`,
  ];
  static args = {
    dir: Args.string({ description: 'the folder to create the workspace in (created when missing)', default: '.' }),
  };
  static flags = {
    partner: Flags.string({ description: "the partner's name (default: from the folder's name)" }),
    customer: Flags.string({
      description: `the first customer, a folder name or a display name (default ${DEFAULT_CUSTOMER})`,
    }),
    template: Flags.string({ description: 'the template the customer uses, name@version', default: DEFAULT_TEMPLATE }),
    erp: Flags.string({
      description: 'the ERP connector, when the template writes to an ERP',
      options: [...ERP_CHOICES],
      default: 'netsuite',
    }),
    from: Flags.string({
      description:
        'take the template (and its fixtures) from this folder with templates/<name>/<version>/ instead of the rsync installation',
    }),
    force: Flags.boolean({ description: 'overwrite the files init writes, even in an existing workspace' }),
  };

  async run(): Promise<InitResult> {
    const { args, flags } = await this.parse(Init);
    const r = await scaffoldWorkspace({
      dir: args.dir,
      partner: flags.partner,
      customer: flags.customer,
      template: flags.template,
      erp: flags.erp,
      force: flags.force,
      from: flags.from,
    });
    const ok = !r.check || (r.check.valid && r.check.failed === 0);
    this.exitCode = ok ? ExitCode.OK : ExitCode.FAILED;
    if (!this.json) this.show(r, ok);
    const { check, ...rest } = r;
    return { ...rest, ...(check ? { check: { ...check, diagnostics: check.diagnostics.map(diagnosticToJSON) } } : {}) };
  }

  private show(r: ScaffoldResult, ok: boolean): void {
    const where = path.relative(process.cwd(), r.workspace) || '.';
    this.log(
      `Created the rsync workspace of ${r.partner} in ${where}, with customer ${r.customer} on template ${r.template}:\n`,
    );
    this.log(renderTree(`${where}/`, r.files));
    if (r.kept.length) this.log(dim(`(kept as it was: ${r.kept.join(', ')})`));
    this.log('');
    if (r.check) {
      const c = r.check;
      for (const d of c.diagnostics) this.log(renderDiagnostic(d));
      for (const f of c.failures) this.log(renderCase(f));
      const summary = `validate: ${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')}; test: ${c.passed} passed, ${c.failed} failed`;
      this.log(
        ok
          ? `${green('✓')} ${summary}`
          : `${red('✗')} ${summary}: the template does not work as copied; please report it.`,
      );
    }
    const git = {
      initialized: 'Git: initialised a repository (nothing committed yet).',
      existing: 'Git: the folder is inside an existing repository; nothing was committed.',
      skipped: '',
      unavailable: 'Git: could not run git; run `git init` yourself.',
    }[r.git];
    if (git) this.log(git);
    if (r.secrets.length) {
      this.log(
        `\nThe connections read these secrets from the environment when flows run (validate and test need none):`,
      );
      for (const s of r.secrets) this.log(`  ${s}`);
    }
    if (r.notes.length) {
      this.log('\nTo finish by hand:');
      for (const n of r.notes) this.log(`  - ${n}`);
    }
    this.log('\nNext:');
    for (const n of r.next) this.log(`  ${n}`);
    this.log(
      `\nThen, to run the flows: the connections' settings are placeholders, and a worker that reached the systems they name would dead-letter every record (\`retail-sync runs\` would say so). Until they are real, run the flows against simulated systems (the sandbox, in the state database):`,
    );
    for (const n of r.run) this.log(`  ${n}`);
    this.log(`Without --sandbox once each connection's settings and the secrets above are set.`);
  }
}
