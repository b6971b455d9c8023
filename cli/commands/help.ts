/**
 * `rsync help [COMMAND…]`: the help of the whole CLI or of one command, the same text as `--help` / `-h` (oclif's
 * plugin-help gives this command; ours is these few lines rather than one more dependency).
 */
import { Args, Command, loadHelpClass } from '@oclif/core';

export default class HelpCommand extends Command {
  static summary = 'Show the help of rsync, or of a command (the same as COMMAND --help or -h).';
  static examples = ['<%= config.bin %> help', '<%= config.bin %> help plan', '<%= config.bin %> help db status'];
  static strict = false;
  static args = {
    command: Args.string({ description: 'the command, its words separated by spaces', required: false }),
  };

  async run(): Promise<void> {
    const { argv } = await this.parse(HelpCommand);
    const Help = await loadHelpClass(this.config);
    await new Help(this.config, this.config.pjson.oclif.helpOptions ?? this.config.pjson.helpOptions).showHelp(
      argv as string[],
    );
  }
}
