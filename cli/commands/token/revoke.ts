import { Args, Flags } from '@oclif/core';
import { revokeToken } from '../../../engine/auth/tokens.js';
import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { RsyncCommand } from '../../base.js';
import { openDatabase, workspaceRoot } from '../../database.js';
import { cliIdentity } from '../../identity.js';

export default class TokenRevoke extends RsyncCommand<{ version: 1; revoked: string }> {
  static summary = 'Revoke a token: refused from its next request on, in the console, the API and the CLI.';
  static args = {
    id: Args.string({ description: "the token's id (rsync token list), or the token itself", required: true }),
  };
  static flags = { path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }) };

  async run() {
    const { args, flags } = await this.parse(TokenRevoke);
    const root = await workspaceRoot(flags.path);
    const db = await openDatabase(root, this.json);
    try {
      const { actor } = await cliIdentity(db, root, 'admin');
      if (!(await revokeToken(db.pool, args.id, actor)))
        throw new RsyncError(`No live token ${args.id}`, ExitCode.FAILED, 'rsync token list shows the live tokens.');
      if (!this.json) this.log(`Revoked token ${args.id.startsWith('rsy_') ? args.id.split('_')[1] : args.id}.`);
      return { version: 1 as const, revoked: args.id.startsWith('rsy_') ? args.id.split('_')[1] : args.id };
    } finally {
      await db.close();
    }
  }
}
