import { Args, Flags } from '@oclif/core';
import { createToken, ROLES, type Role, type TokenRow } from '../../../engine/auth/tokens.js';
import { RsyncCommand } from '../../base.js';
import { openDatabase, workspaceRoot } from '../../database.js';
import { parseDurationFlag } from '../../flags.js';
import { cliIdentity } from '../../identity.js';

export default class TokenCreate extends RsyncCommand<{ version: 1; token: string; row: TokenRow }> {
  static summary =
    'Create a token for the console, the API or a CLI (RSYNC_TOKEN): a role, and a customer for a viewer.';
  static description = `The token is printed once and never stored (only its SHA-256 is): keep it in a secret store.
Roles: admin (everything, tokens too), operator (run, replay, edit and retry, discard, resolve, pause, approve), viewer
(reads everything, no changes), customer-viewer (one customer's flows and figures only: no payloads, no PII).`;
  static examples = [
    '<%= config.bin %> token create ci --role operator --expires 90d',
    '<%= config.bin %> token create northwind-it --role customer-viewer --customer northwind --expires 30d',
  ];
  static args = { name: Args.string({ description: 'who or what holds it (a person, a job)', required: true }) };
  static flags = {
    role: Flags.string({ description: 'what it may do', options: [...ROLES], required: true }),
    customer: Flags.string({ description: "a customer viewer's one customer" }),
    expires: Flags.string({ description: 'how long it is valid (e.g. 30d, 12h; default: until revoked)' }),
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
  };

  async run() {
    const { args, flags } = await this.parse(TokenCreate);
    const expiresInMs = parseDurationFlag('expires', flags.expires, { min: 60_000 });
    const root = await workspaceRoot(flags.path);
    const db = await openDatabase(root, this.json);
    try {
      const { actor } = await cliIdentity(db, root, 'admin');
      const made = await createToken(db.pool, {
        name: args.name,
        role: flags.role as Role,
        customer: flags.customer,
        expiresInMs,
        createdBy: actor,
      });
      if (!this.json) {
        this.log(made.token);
        this.note(
          `Created token ${made.row.id} for ${made.row.name} (${made.row.role}${made.row.customer ? ` of ${made.row.customer}` : ''}${made.row.expiresAt ? `, until ${made.row.expiresAt}` : ''}). It is shown only now.`,
        );
      }
      return { version: 1 as const, ...made };
    } finally {
      await db.close();
    }
  }
}
