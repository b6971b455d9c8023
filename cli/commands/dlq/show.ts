import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { listDeadLetters, type DeadLetter } from '../../../engine/state/dead-letters.js';
import { RsyncCommand } from '../../base.js';
import { DEAD_LETTER, deadLetterFlags } from '../../dead-letters.js';
import { idArg } from '../../flags.js';
import { openRuntime } from '../../runtime.js';

export default class DlqShow extends RsyncCommand<{ version: 1; letter: DeadLetter }> {
  static summary = 'Show one dead letter: its error, the revision that failed, and the source record (PII masked).';
  static examples = ['<%= config.bin %> dlq show 42 --env staging'];
  static args = { id: idArg(...DEAD_LETTER) };
  static flags = deadLetterFlags;

  async run() {
    const { args, flags } = await this.parse(DlqShow);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const [letter] = await listDeadLetters(db.pool, { env, ids: [args.id], status: 'all' });
      if (!letter)
        throw new RsyncError(
          `No dead letter ${args.id} in ${env}.`,
          ExitCode.NO_INPUT,
          'See `rsync dlq list --status all`.',
        );
      if (!this.json) {
        this.log(`dead letter ${letter.id} — ${letter.status}`);
        this.log(`  flow      ${letter.address} (revision ${letter.revision}, run ${letter.runId ?? '-'})`);
        this.log(`  key       ${letter.key ?? '-'}`);
        this.log(`  failed    at ${letter.stage} after ${letter.attempts} attempt(s), ${letter.createdAt}`);
        this.log(`  error     ${letter.error}`);
        if (letter.resolvedAt)
          this.log(`  resolved  ${letter.resolvedAt} by ${letter.resolvedBy}: ${JSON.stringify(letter.resolution)}`);
        this.log(`  record (PII masked):\n${JSON.stringify(letter.payload, null, 2).replace(/^/gm, '    ')}`);
      }
      return { version: 1 as const, letter };
    } finally {
      await db.close();
    }
  }
}
