import { Args } from '@oclif/core';
import { embeddedStatus } from '../../../engine/state/embedded.js';
import { redactUrl } from '../../../engine/state/db.js';
import { RsyncCommand } from '../../base.js';
import { workspaceRoot } from '../../database.js';

export interface DbStatus {
  version: 1;
  mode: 'external' | 'embedded';
  url: string | null;
  initialised: boolean;
  running: boolean;
  dataDir: string | null;
  port: number | null;
  note: string | null;
}

export default class DbStatusCommand extends RsyncCommand<DbStatus> {
  static summary = "Show which database rsync uses, and whether the workspace's embedded PostgreSQL runs.";
  static args = { path: Args.string({ description: 'the workspace', default: '.' }) };

  async run(): Promise<DbStatus> {
    const { args } = await this.parse(DbStatusCommand);
    if (process.env.DATABASE_URL) {
      const out: DbStatus = {
        version: 1,
        mode: 'external',
        url: redactUrl(process.env.DATABASE_URL),
        initialised: true,
        running: true,
        dataDir: null,
        port: null,
        note: 'DATABASE_URL is set; the embedded database is not used.',
      };
      if (!this.json) this.log(`Database: ${out.url} (from DATABASE_URL)`);
      return out;
    }
    const s = await embeddedStatus(await workspaceRoot(args.path));
    const out: DbStatus = {
      version: 1,
      mode: 'embedded',
      url: s.url ? redactUrl(s.url) : null,
      initialised: s.initialised,
      running: s.running,
      dataDir: s.state?.dataDir ?? null,
      port: s.state?.port ?? null,
      note: s.state?.fallback ?? null,
    };
    if (!this.json) {
      if (!s.initialised)
        this.log('Embedded PostgreSQL: not created yet (the first command that needs it creates it).');
      else {
        this.log(
          `Embedded PostgreSQL: ${s.running ? `running on 127.0.0.1:${s.state!.port}` : 'stopped (the next command starts it)'}`,
        );
        this.log(`Data: ${s.state!.dataDir}`);
        if (s.state!.fallback) this.log(`Note: ${s.state!.fallback}.`);
      }
    }
    return out;
  }
}
