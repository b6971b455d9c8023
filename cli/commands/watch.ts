import path from 'node:path';
import { Args } from '@oclif/core';
import { diagnosticToJSON, formatDiagnostic, type Diagnostic } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { WorkspaceWatcher, type WatchEvent } from '../../engine/watch/watcher.js';
import { RsyncCommand } from '../base.js';
import { dim, green, plural, red, renderDiagnostic } from '../views/diagnostics.js';
import { renderCase } from '../views/mapping-tests.js';

/** The last line of `--json` output, after Ctrl-C. */
export interface WatchResult {
  version: 1;
  stopped: string;
  workspace: string;
  runs: number;
}

export default class Watch extends RsyncCommand<WatchResult> {
  static summary = 'Validate and run the mapping tests, then again on every save, printing only what changed.';
  static description = [
    'Runs `rsync validate` and `rsync test` once and prints the summary. Then, on every save of a .yaml, .yml, ',
    '.jsonata or .json file of the workspace, it re-validates and re-runs the mapping tests the change can affect ',
    '(those whose file, mapping or fixture changed, and those of a mapping whose flows changed), and prints what is ',
    'different: new problems, problems fixed, test cases that started or stopped failing, with the time and how long ',
    'it took. With --json, one JSON object per run on its own line (NDJSON). Ctrl-C stops it (exit code 0).',
  ].join('');
  static examples = [
    '<%= config.bin %> watch',
    '<%= config.bin %> watch integrations/northwind',
    '<%= config.bin %> watch --json | jq .summary',
  ];
  static args = {
    path: Args.string({ description: 'the workspace, or a folder inside it', default: '.' }),
  };

  async run(): Promise<WatchResult> {
    const { args } = await this.parse(Watch);
    const watcher = new WorkspaceWatcher({ path: args.path, onEvent: (e) => this.report(e) });
    // Ctrl-C ends the watch normally (exit 0); a second one, while stopping, falls back to Node's default.
    let interrupt = () => {};
    const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      await watcher.start();
      if (process.stderr.isTTY)
        this.note(dim(`Watching ${path.relative(process.cwd(), watcher.workspace) || '.'} for saves; Ctrl-C to stop.`));
      await interrupted;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await watcher.stop();
    }
    this.exitCode = ExitCode.OK;
    return { version: 1, stopped: new Date().toISOString(), workspace: watcher.workspace, runs: watcher.runCount };
  }

  /** NDJSON: the final record on one line too. */
  logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json) + '\n');
  }

  private report(e: WatchEvent): void {
    if (this.json) {
      const toJson = (ds: Diagnostic[]) => ds.map(diagnosticToJSON);
      process.stdout.write(
        JSON.stringify({
          ...e,
          diagnostics: { added: toJson(e.diagnostics.added), fixed: toJson(e.diagnostics.fixed) },
        }) + '\n',
      );
      return;
    }
    const time = dim(new Date(e.at).toLocaleTimeString('en-GB', { hour12: false }));
    const took = dim(`(${e.durationMs} ms)`);
    const totals = `${plural(e.summary.errors, 'error')}, ${plural(e.summary.warnings, 'warning')}; ${e.summary.failing} of ${plural(e.summary.tests, 'test case')} failing`;
    if (e.error) {
      this.log(`${time} ${e.changed.join(', ')}: ${red('could not load the workspace')}: ${e.error} ${took}`);
      return;
    }
    if (e.trigger === 'start') {
      for (const d of e.diagnostics.added) this.log(renderDiagnostic(d));
      for (const c of e.tests.failing) this.log(renderCase(c));
      const ok = e.summary.errors === 0 && e.summary.failing === 0;
      this.log(`${time} ${ok ? green('✓') : red('✗')} ${totals} ${took}`);
      return;
    }
    const lines: string[] = [];
    for (const d of e.diagnostics.added) lines.push(indent(`${red('+')} ${renderDiagnostic(d)}`));
    for (const d of e.diagnostics.fixed) lines.push(indent(`${green('fixed')} ${formatDiagnostic(d).split('\n')[0]}`));
    for (const c of e.tests.failing) lines.push(indent(renderCase(c)));
    for (const c of e.tests.passing) lines.push(indent(`${renderCase(c)} ${dim('(was failing)')}`));
    for (const c of e.tests.removed)
      lines.push(indent(`${dim('removed')} ${c.file}:${c.line} ${c.test} › ${c.case} ${dim('(was failing)')}`));
    const files =
      e.changed.length > 3
        ? `${e.changed.slice(0, 3).join(', ')} and ${e.changed.length - 3} more`
        : e.changed.join(', ');
    if (!lines.length) {
      this.log(`${time} ${files}: ${dim(`no change — ${totals}`)} ${took}`);
      return;
    }
    this.log(`${time} ${files} ${took}`);
    for (const l of lines) this.log(l);
    this.log(indent(`${e.summary.errors === 0 && e.summary.failing === 0 ? green('✓') : red('✗')} ${totals}`));
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
