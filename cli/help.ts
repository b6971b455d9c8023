/**
 * Root help that lists every command, those under a topic (`db status`, `audit verify`) included, each with its
 * one-line summary: `rsync --help` is the whole map.
 */
import { Help } from '@oclif/core';

export default class RsyncHelp extends Help {
  protected async showRootHelp(): Promise<void> {
    const bin = this.config.bin;
    this.log(`${this.config.pjson.description ?? bin}\n`);
    this.log(`USAGE\n  $ ${bin} COMMAND [--json]\n`);
    const commands = this.sortedCommands.filter((c) => !c.hidden);
    this.log(this.formatCommands(commands));
    this.log('');
    this.log(`Run \`${bin} COMMAND --help\` for a command's flags. \`retail-sync\` is the same program.`);
  }
}
