/**
 * An unknown command is a usage error (exit 64, the table's "wrong command line"), never oclif's default exit 2,
 * which the table gives to "the plan has changes": a CI script that mistypes `rsync plna --detailed-exitcode`
 * must not read as a plan with changes. The message names the nearest commands (did you mean) and `rsync help`.
 * Used by the command_not_found hook and by `rsync help <unknown>` / `rsync <unknown> -h`.
 */
import type { Interfaces } from '@oclif/core';
import { ExitCode } from '../engine/diagnostics/errors.js';

/** Edit distance (insert, delete, substitute, swap of two neighbours): typos are mostly these. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * The commands a mistyped one most likely meant, nearest first: within an edit distance of a third of its length
 * (at least 2), or that it is the start of (`rsync val`). `typed` and `ids` are written with spaces (`db stat`).
 */
export function suggestCommands(typed: string, ids: string[]): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  return ids
    .map((id) => ({ id, d: id.startsWith(typed) ? 0.5 : editDistance(typed, id) }))
    .filter((c) => c.d <= limit)
    .sort((x, y) => x.d - y.d || x.id.localeCompare(y.id))
    .slice(0, 3)
    .map((c) => c.id);
}

/** Every visible command of this installation, as typed (`db status`). */
export function commandNames(config: Interfaces.Config): string[] {
  return config.commands.filter((c) => !c.hidden).map((c) => c.id.replace(/:/g, ' '));
}

/** Report an unknown command (on stderr, or as rsync's JSON error under --json) and set exit code 64. */
export function unknownCommand(config: Interfaces.Config, id: string, argv: readonly string[]): void {
  const typed = id.replace(/:/g, ' ');
  const near = suggestCommands(typed, commandNames(config));
  const message = `"${typed}" is not an rsync command.`;
  const hint = `${near.length ? `Did you mean ${near.map((n) => `\`rsync ${n}\``).join(' or ')}? ` : ''}Run \`rsync help\` for the list.`;
  if (argv.includes('--json'))
    process.stdout.write(
      `${JSON.stringify({ version: 1, error: { exitCode: ExitCode.USAGE, message, hint, suggestions: near } }, null, 2)}\n`,
    );
  else process.stderr.write(`rsync: ${message}\n  ${hint}\n`);
  process.exitCode = ExitCode.USAGE;
}
