import { Args } from '@oclif/core';
import { ExitCode } from '../../../engine/diagnostics/errors.js';
import { findWorkspaceRoot } from '../../../engine/workspace/index.js';
import { verifyLog, type VerifyResult } from '../../../engine/state/apply-log.js';
import { readAnchors } from '../../../engine/state/audit-anchors.js';
import { openAudit } from '../../audit.js';
import { RsyncCommand } from '../../base.js';
import { openDatabase, workspaceRoot } from '../../database.js';
import { green, red } from '../../views/diagnostics.js';

export interface AuditVerifyResult extends VerifyResult {
  version: 1;
  /** Where the log was read, without the password. */
  database: string;
}

export default class AuditVerify extends RsyncCommand<AuditVerifyResult> {
  static summary =
    'Check the apply log is intact: every entry unedited, none missing, the newest one where the head says.';
  static description =
    `Recomputes the hash chain of rsync.apply_log: an edited entry no longer matches its hash, a deleted one leaves a gap and a broken link, and deleting the newest entries disagrees with the recorded head. Exit 0 when intact, 1 when not.

Prints OK with the number of entries and the head hash, or each problem. Someone able to rewrite every row and the head consistently is caught by the anchors written outside the database: each apply, replay and discard appends the head to rsync.yaml's spec.audit.anchorFile (or RSYNC_AUDIT_ANCHOR) and records it as a Git note (refs/notes/rsync-audit) on the applied commit, and verify checks every anchored entry still has its anchored hash. With spec.audit.key (a secret reference) new entries are HMACs, which nobody without the key can forge.

Uses DATABASE_URL (then no workspace is needed), else the workspace's embedded database.`;
  static examples = [
    '<%= config.bin %> audit verify',
    'DATABASE_URL=postgres://… <%= config.bin %> audit verify --json',
  ];
  static args = { path: Args.string({ description: 'the workspace (default: the current folder)', default: '.' }) };

  async run(): Promise<AuditVerifyResult> {
    const { args } = await this.parse(AuditVerify);
    // With DATABASE_URL the log does not need a workspace (an auditor may run this anywhere); without, it is the workspace's.
    const root = process.env.DATABASE_URL
      ? ((await findWorkspaceRoot(args.path)) ?? args.path)
      : await workspaceRoot(args.path);
    const db = await openDatabase(root, this.json);
    try {
      const inWorkspace = (await findWorkspaceRoot(root)) !== undefined;
      const audit = await openAudit(inWorkspace ? root : undefined);
      const read = await readAnchors(audit.anchors);
      const checked = await verifyLog(db.pool, read.anchors);
      const problems = [...checked.problems, ...read.problems.map((problem) => ({ n: null, problem }))];
      const result = { ...checked, ok: problems.length === 0, problems };
      if (!this.json) {
        if (result.ok) {
          this.log(
            `${green('OK')}: the apply log is intact — ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'}${result.head ? `, head ${result.head}` : ''} (${db.describe}).`,
          );
          this.log(
            result.anchors
              ? `  ${result.anchors} anchor(s) outside the database match${result.keyed ? `; ${result.keyed} entr${result.keyed === 1 ? 'y is' : 'ies are'} keyed (HMAC)` : ''}.`
              : '  No anchor outside the database was checked: set spec.audit.anchorFile in rsync.yaml (or RSYNC_AUDIT_ANCHOR), or apply from a Git repository, so that a rewritten chain is caught.',
          );
        } else {
          this.log(
            `${red('NOT INTACT')}: the apply log (${result.entries} entr${result.entries === 1 ? 'y' : 'ies'}, ${db.describe}) has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}:`,
          );
          for (const p of result.problems) this.log(`  ${p.n === null ? 'log' : `entry ${p.n}`}: ${p.problem}`);
          if (result.head) this.log(`  recorded head: ${result.head}`);
        }
      }
      this.exitCode = result.ok ? ExitCode.OK : ExitCode.FAILED;
      return { version: 1, ...result, database: db.describe };
    } finally {
      await db.close();
    }
  }
}
