/**
 * `rsync doctor`: which rsync PATH finds, Node, Git and the database (engine/workspace/doctor.ts); exit 1 only
 * when a check fails, a warning (the Unix rsync first on PATH) alone exits 0.
 */
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { doctor, type DoctorReport } from '../../engine/workspace/doctor.js';
import { RsyncCommand } from '../base.js';
import { green, red, yellow } from '../views/diagnostics.js';

export default class Doctor extends RsyncCommand<DoctorReport> {
  static summary = 'Check this machine: which rsync is on PATH (the Unix one?), Node.js, Git and the database.';
  static description = `Where the Unix file-copy tool is the rsync on PATH (/usr/bin/rsync), type retail-sync for
every rsync command the README and rsync's messages show. Exit 0 when every check passes or only warns, 1 when one fails.`;
  static examples = ['retail-sync doctor', 'retail-sync doctor --json'];

  async run(): Promise<DoctorReport> {
    await this.parse(Doctor);
    const report = await doctor();
    if (!this.json)
      for (const c of report.checks) {
        const mark = c.status === 'ok' ? green('✓') : c.status === 'warn' ? yellow('!') : red('✗');
        this.log(`${mark} ${c.message}`);
        if (c.hint) this.log(`    ${c.hint}`);
      }
    this.exitCode = report.ok ? ExitCode.OK : ExitCode.FAILED;
    return report;
  }
}
