/**
 * `rsync completion [bash|zsh]`: prints a shell completion script (cli/views/completion.ts) built from this
 * installation's commands and flags. Our own small command rather than @oclif/plugin-autocomplete: one dependency
 * fewer, and the script completes `rsync` only where it is not the Unix rsync.
 */
import { Args } from '@oclif/core';
import { RsyncCommand } from '../base.js';
import { bashCompletion, completionCommands, zshCompletion } from '../views/completion.js';

export default class Completion extends RsyncCommand<{ version: 1; shell: string; script: string }> {
  static summary = 'Print a shell completion script for bash or zsh.';
  static description = `Completes commands, flags and the values of flags with a fixed list (--format, --erp). Add to
~/.bashrc: eval "$(retail-sync completion bash)"; to ~/.zshrc: eval "$(retail-sync completion zsh)". It completes
retail-sync, and rsync only when the rsync on PATH is this program.`;
  static examples = ['<%= config.bin %> completion bash >> ~/.bashrc', '<%= config.bin %> completion zsh'];
  static args = {
    shell: Args.string({ description: 'the shell', options: ['bash', 'zsh'], default: 'bash' }),
  };

  async run() {
    const { args } = await this.parse(Completion);
    const commands = completionCommands(this.config);
    const script = args.shell === 'zsh' ? zshCompletion(commands) : bashCompletion(commands);
    if (!this.json) process.stdout.write(script);
    return { version: 1 as const, shell: args.shell, script };
  }
}
