import { Args, Flags } from '@oclif/core';
import { renderDiffMarkdown, renderDiffText } from '../../engine/diff/render.js';
import { diffWorkspace, type WorkspaceDiff } from '../../engine/diff/index.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { RsyncCommand } from '../base.js';

export default class Diff extends RsyncCommand<WorkspaceDiff> {
  static summary =
    'Show what a change to the workspace does, as resources: per customer, what is created, updated or deleted.';
  static description =
    `Compares the workspace at <refA> with <refB> (default: the working tree, uncommitted changes included) the way plan sees them: flows, mappings (with JSONata line diffs), schedules, SLAs, policies and connections, per customer, with field-level diffs; and which customers' flows change through a template (blast radius). No database is needed.

<refA> may also be a range: A..B (A against B) or A...B (where B forked from A, against B: what a pull request shows). A second argument that is not a Git ref but an existing folder is taken as the path.

Both sides are validated; when either has errors they are listed first and the exit code is 1. Otherwise the exit code is 0, changes or not; with --detailed-exitcode it is 0 when nothing changes and 2 when something does.

Without --env, resources are compared as declared and their environment overlays as fields of their own; with --env, as that environment deploys them.`;
  static examples = [
    '<%= config.bin %> diff main',
    '<%= config.bin %> diff origin/main...HEAD --format markdown > comment.md',
    '<%= config.bin %> diff v1.4.0 v1.5.0 --customer northwind --env production',
  ];
  static args = {
    refA: Args.string({ description: 'the base: a branch, tag or commit, or a range A..B / A...B', required: true }),
    refB: Args.string({ description: 'the head: a branch, tag or commit (default: the working tree)' }),
    path: Args.string({ description: 'the workspace (default: the current folder)' }),
  };
  static flags = {
    format: Flags.string({ description: 'output format', options: ['text', 'markdown', 'json'], default: 'text' }),
    env: Flags.string({ char: 'e', description: "merge this environment's overlays into both sides" }),
    customer: Flags.string({ char: 'c', description: 'limit the diff to this customer (repeatable)', multiple: true }),
    'detailed-exitcode': Flags.boolean({
      description: 'exit 0 when nothing changes, 2 when something does, 1 when a side is invalid',
    }),
    verbose: Flags.boolean({ char: 'v', description: 'list every change, however many' }),
  };

  async run(): Promise<WorkspaceDiff> {
    const { args, flags } = await this.parse(Diff);
    const diff = await diffWorkspace({
      path: args.path,
      base: args.refA,
      head: args.refB,
      env: flags.env,
      customers: flags.customer,
    });
    if (!this.json) {
      if (flags.format === 'json') this.log(JSON.stringify(diff, null, 2));
      else if (flags.format === 'markdown') this.log(renderDiffMarkdown(diff));
      else this.log(renderDiffText(diff, { verbose: flags.verbose }));
    }
    const invalid = !diff.base.valid || !diff.head.valid;
    this.exitCode = invalid
      ? ExitCode.FAILED
      : flags['detailed-exitcode'] && !diff.empty
        ? ExitCode.CHANGES
        : ExitCode.OK;
    return diff;
  }
}
