import { Flags } from '@oclif/core';
import { listTokens, type TokenRow } from '../../../engine/auth/tokens.js';
import { RsyncCommand } from '../../base.js';
import { openDatabase, workspaceRoot } from '../../database.js';
import { cliIdentity } from '../../identity.js';
import { table } from '../../runtime.js';

export default class TokenList extends RsyncCommand<{ version: 1; tokens: TokenRow[] }> {
  static summary = 'List the tokens: id, holder, role, customer, expiry, last use (never a secret).';
  static flags = {
    all: Flags.boolean({ description: 'include revoked tokens' }),
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
  };

  async run() {
    const { flags } = await this.parse(TokenList);
    const root = await workspaceRoot(flags.path);
    const db = await openDatabase(root, this.json);
    try {
      await cliIdentity(db, root, 'admin');
      const tokens = await listTokens(db.pool, { all: flags.all });
      if (!this.json)
        this.log(
          tokens.length
            ? table(
                ['ID', 'NAME', 'ROLE', 'CUSTOMER', 'EXPIRES', 'LAST USED', 'CREATED BY', 'REVOKED'],
                tokens.map((t) => [
                  t.id,
                  t.name,
                  t.role,
                  t.customer ?? '-',
                  t.expiresAt ?? 'never',
                  t.lastUsedAt ?? 'never',
                  t.createdBy,
                  t.revokedAt ? `${t.revokedAt} by ${t.revokedBy}` : '-',
                ]),
              )
            : 'No tokens. Create one with: rsync token create <name> --role <role>',
        );
      return { version: 1 as const, tokens };
    } finally {
      await db.close();
    }
  }
}
