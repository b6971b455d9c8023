import { Args } from '@oclif/core';
import { stopEmbedded } from '../../../engine/state/embedded.js';
import { RsyncCommand } from '../../base.js';
import { workspaceRoot } from '../../database.js';

export default class DbStop extends RsyncCommand<{ version: 1; stopped: boolean }> {
  static summary = "Stop the workspace's embedded PostgreSQL (its data stays; the next command starts it again).";
  static args = { path: Args.string({ description: 'the workspace', default: '.' }) };

  async run() {
    const { args } = await this.parse(DbStop);
    const stopped = await stopEmbedded(await workspaceRoot(args.path));
    if (!this.json) this.log(stopped ? 'Stopped the embedded PostgreSQL.' : 'The embedded PostgreSQL was not running.');
    return { version: 1 as const, stopped };
  }
}
