import { Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { discardDeadLetters } from '../../../engine/state/dead-letters.js';
import { RsyncCommand } from '../../base.js';
import { deadLetterFlags, filterOf, idsArg, parseIds } from '../../dead-letters.js';
import { anchorLog, openAudit } from '../../audit.js';
import { cliIdentity } from '../../identity.js';
import { openRuntime } from '../../runtime.js';

export default class DlqDiscard extends RsyncCommand<{ version: 1; env: string; discarded: number[] }> {
  static summary =
    'Discard dead letters that must not be replayed; they stay listed as discarded, with who and why (audited).';
  static examples = [
    '<%= config.bin %> dlq discard 42 --reason "test order"',
    '<%= config.bin %> dlq discard --flow northwind/orders-to-erp --reason "duplicates of #1001"',
  ];
  static strict = false;
  static args = idsArg;
  static flags = {
    ...deadLetterFlags,
    reason: Flags.string({ description: 'why (kept with the letter and in the audit log)' }),
  };

  async run() {
    const { argv, flags } = await this.parse(DlqDiscard);
    const ids = parseIds(argv as string[]);
    if (!ids.length && !flags.flow && !flags.customer) {
      throw new RsyncError(
        'Name the letters to discard.',
        ExitCode.USAGE,
        'Give their ids, or --flow / --customer to discard every open letter of a flow or customer.',
      );
    }
    const { db, env, root } = await openRuntime(flags, this.json);
    const audit = await openAudit(root);
    try {
      const { actor } = await cliIdentity(db, root, 'operate');
      const discarded = await discardDeadLetters(db.pool, filterOf(env, flags, ids), actor, flags.reason);
      const anchored = discarded.length ? await anchorLog(db, audit, { env }) : undefined;
      if (!this.json && anchored) this.note(anchored);
      if (!this.json)
        this.log(
          discarded.length
            ? `discarded ${discarded.length} dead letter(s): ${discarded.join(', ')}`
            : 'No open dead letters match.',
        );
      return { version: 1 as const, env, discarded };
    } finally {
      await db.close();
    }
  }
}
