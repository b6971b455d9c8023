/**
 * Root help that lists every command, those under a topic (`db status`, `audit verify`) included, each with its
 * one-line summary: `rsync --help` is the whole map. Help for a command that does not exist (`rsync help plna`,
 * `rsync plna -h`) is the unknown-command error (exit 64, did you mean), as running it would be.
 */
import { Help } from '@oclif/core';
import { unknownCommand } from './unknown.js';

export default class RsyncHelp extends Help {
  async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv);
    } catch (e) {
      const m = /^Command (.+) not found\.?$/.exec((e as Error).message ?? '');
      if (!m) throw e;
      unknownCommand(this.config, m[1], argv);
    }
  }

  protected async showRootHelp(): Promise<void> {
    const bin = this.config.bin;
    this.log(`${this.config.pjson.description ?? bin}\n`);
    this.log(`USAGE\n  $ ${bin} COMMAND [--json]\n`);
    const commands = this.sortedCommands.filter((c) => !c.hidden);
    this.log(this.formatCommands(commands));
    this.log('');
    this.log(
      `Run \`${bin} help COMMAND\` (or \`${bin} COMMAND -h\`) for a command's flags. \`retail-sync\` is the same program: use it where \`rsync\` is the Unix file-copy tool (\`${bin} doctor\` tells).`,
    );
  }
}
