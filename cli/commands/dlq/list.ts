import { Flags } from '@oclif/core';
import { listDeadLetters, type DeadLetter } from '../../../engine/state/dead-letters.js';
import { RsyncCommand } from '../../base.js';
import { renderDeadLetters } from '../../views/dead-letters.js';
import { deadLetterFlags, filterOf } from '../../dead-letters.js';
import { countFlag, MAX_LIST } from '../../flags.js';
import { openRuntime } from '../../runtime.js';

export default class DlqList extends RsyncCommand<{ version: 1; env: string; letters: DeadLetter[] }> {
  static summary = 'List dead letters (open ones by default) with their flow, revision, key, stage and error.';
  static examples = [
    '<%= config.bin %> dlq list --env staging',
    '<%= config.bin %> dlq list --flow northwind/orders-to-erp --status all',
  ];
  static flags = {
    ...deadLetterFlags,
    status: Flags.string({
      description: 'which letters',
      options: ['open', 'replayed', 'discarded', 'resolved', 'all'],
      default: 'open',
    }),
    limit: countFlag({ char: 'n', description: 'at most this many', default: 100, max: MAX_LIST }),
  };

  async run() {
    const { flags } = await this.parse(DlqList);
    const { db, env } = await openRuntime(flags, this.json);
    try {
      const letters = await listDeadLetters(db.pool, {
        ...filterOf(env, flags, []),
        status: flags.status as 'open',
        limit: flags.limit,
      });
      if (!this.json)
        this.log(
          letters.length
            ? renderDeadLetters(letters)
            : `No ${flags.status === 'all' ? '' : flags.status + ' '}dead letters in ${env}.`,
        );
      return { version: 1 as const, env, letters };
    } finally {
      await db.close();
    }
  }
}
