/**
 * Inputs that crashed or hung commands (issue 22), each through the built CLI: its documented exit code, a message
 * that says what is wrong and how to fix it, never a stack trace, never exit 70 (a bug), never a command that does
 * not end. A port out of range, an id that is not one or that overflows PostgreSQL's bigint, a count too large,
 * a duration a Node timer cannot hold (and `worker --for 25d`, which now waits instead of stopping at once), a
 * backfill window that makes too many windows, and rsync.yaml as a folder or a link to /dev/zero.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { buildProblem, runCli, show, type Run } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  ACTOR,
  applyWorkspace,
  cli,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  spawnWorker,
  stockFlow,
  until,
} from '../helpers/runtime.js';

/** The run ended with `code`, said `message` (and `hint`) on stderr as rsync does, and showed no stack trace. */
function refused(r: Run, code: number, message: string | RegExp, hint?: string | RegExp): void {
  expect(r.status, show(r)).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('rsync: ') && !l.includes('embedded PostgreSQL'));
  expect(at, show(r)).toBeGreaterThanOrEqual(0);
  const said = lines[at].slice('rsync: '.length);
  if (typeof message === 'string') expect(said, show(r)).toBe(message);
  else expect(said, show(r)).toMatch(message);
  if (hint !== undefined) {
    const h = (lines[at + 1] ?? '').trim();
    if (typeof hint === 'string') expect(h, show(r)).toBe(hint);
    else expect(h, show(r)).toMatch(hint);
  }
  expect(r.stderr + r.stdout).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.stderr).not.toContain('internal error');
}

describe('inputs that crashed or hung commands', { timeout: 240_000 }, () => {
  let db: TestDatabase;
  let dir: string;
  const rsync = (...args: string[]) => cli(dir, db.url, ...args);

  beforeAll(async () => {
    const problem = buildProblem([
      'cli/commands/worker.ts',
      'cli/commands/backfill.ts',
      'cli/commands/dlq/show.ts',
      'cli/commands/dlq/replay.ts',
      'cli/commands/dlq/discard.ts',
      'cli/commands/dlq/list.ts',
      'cli/commands/runs.ts',
      'cli/commands/validate.ts',
      'cli/commands/status.ts',
    ]);
    if (problem) throw new Error(problem);
    db = await testDatabase('inputs');
    dir = runtimeWorkspace('rsync-inputs-', { connections: SANDBOX_SYSTEMS, flows: [stockFlow()] });
    await applyWorkspace(dir, db.url);
  });

  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--port out of range or not a number: exit 64, the range to give (from RSYNC_PORT too)', async () => {
    const hint = 'Give a number from 0 to 65535; 0 picks a free port.';
    refused(await rsync('worker', '--port', '-1'), ExitCode.USAGE, '--port -1 is not a port.', hint);
    refused(await rsync('worker', '--port', '99999'), ExitCode.USAGE, '--port 99999 is not a port.', hint);
    refused(await rsync('worker', '--port=abc'), ExitCode.USAGE, '--port abc is not a port.', hint);
    const env = await runCli(['worker'], dir, { url: db.url, actor: ACTOR, env: { RSYNC_PORT: '70000' } });
    refused(env, ExitCode.USAGE, 'RSYNC_PORT=70000 is not a port.', hint);
  });

  it('ids that are not ids, or past what PostgreSQL holds: exit 64, never a bigint overflow', async () => {
    const hint = 'Ids are whole numbers from 1 to 9,007,199,254,740,991, as `rsync dlq list --status all` shows them.';
    refused(await rsync('dlq', 'show', 'abc'), ExitCode.USAGE, '"abc" is not a dead letter id.', hint);
    const big = '99999999999999999999';
    refused(await rsync('dlq', 'show', big), ExitCode.USAGE, `"${big}" is not a dead letter id.`, hint);
    refused(await rsync('dlq', 'show', '0'), ExitCode.USAGE, '"0" is not a dead letter id.', hint);
    refused(await rsync('dlq', 'replay', big), ExitCode.USAGE, `"${big}" is not a dead letter id.`, hint);
    refused(await rsync('dlq', 'discard', `1,${big}`), ExitCode.USAGE, `"${big}" is not a dead letter id.`, hint);
    // The largest id there can be is simply not there.
    refused(
      await rsync('dlq', 'show', '9007199254740991'),
      ExitCode.NO_INPUT,
      'No dead letter 9007199254740991 in staging.',
    );
  });

  it('counts past their limit: exit 64 with the range', async () => {
    const big = '99999999999999999999';
    refused(
      await rsync('dlq', 'list', '-n', big),
      ExitCode.USAGE,
      `--limit ${big} is not a number from 1 to 10,000.`,
      'Give a whole number from 1 to 10,000.',
    );
    refused(await rsync('runs', '--limit', big), ExitCode.USAGE, `--limit ${big} is not a number from 1 to 10,000.`);
    refused(
      await rsync('dlq', 'replay', '1', '--revision', '3000000000'),
      ExitCode.USAGE,
      '--revision 3000000000 is not a number from 1 to 2,147,483,647.',
    );
    refused(
      await rsync('worker', '--threads', '100000'),
      ExitCode.USAGE,
      '--threads 100000 is not a number from 0 to 256.',
    );
    refused(
      await rsync('run', 'acme/stock', '--wait', '--timeout', '0'),
      ExitCode.USAGE,
      '--timeout 0 is not a number from 1 to 604,800.',
    );
  });

  it('durations a timer cannot hold: refused, or (worker --for) waited in steps', async () => {
    refused(
      await rsync('worker', '--drain-timeout', '25d'),
      ExitCode.USAGE,
      '--drain-timeout 25d is too long: rsync waits at most 24d.',
      'Give at most 24d.',
    );
    refused(
      await rsync('worker', '--for', '99999999999999999999d'),
      ExitCode.USAGE,
      '--for 99999999999999999999d is not a duration.',
      'Write it as a whole number and a unit: 500ms, 30s, 10m, 2h, 7d.',
    );
    // 25 days is more than one Node timer holds (2^31 − 1 ms): it used to fire at once and stop the worker.
    const w = spawnWorker(dir, db.url, '--for', '25d', '--threads', '1');
    await until('the worker to start', async () => (/webhooks on http/.test(w.output) ? true : undefined));
    await new Promise((r) => setTimeout(r, 2_000));
    expect(w.exitCode, w.output).toBeNull();
    expect(w.output).not.toContain('TimeoutOverflowWarning');
    w.kill('SIGTERM');
    expect(await w.exited, w.output).toBe(0);
    expect(w.output).toContain('stopping (SIGTERM)');
  });

  it('a backfill window below 1 s, or one that makes more than 10,000 windows: exit 64, the window that fits', async () => {
    const oneDay = (window: string) =>
      rsync(
        'backfill',
        'acme/stock',
        '--since',
        '2026-01-01T00:00:00Z',
        '--until',
        '2026-01-02T00:00:00Z',
        '--window',
        window,
      );
    refused(
      await rsync('backfill', 'acme/stock', '--since', '1d', '--window', '1ms'),
      ExitCode.USAGE,
      'A backfill window of 1ms is too small: the smallest is 1s.',
      'Give --window 9s or more (the default, 1d, suits most backfills).',
    );
    refused(
      await oneDay('1s'),
      ExitCode.USAGE,
      'A backfill window of 1s cuts the 1d from 2026-01-01T00:00:00.000Z to 2026-01-02T00:00:00.000Z into 86,400 windows; a backfill has at most 10,000.',
      'Give --window 9s or more, or a shorter range (--since, --until).',
    );
    refused(
      await rsync('backfill', 'acme/stock', '--since', '100000d'),
      ExitCode.USAGE,
      /^A backfill window of 1d cuts the 100000d from .* into 100,000 windows; a backfill has at most 10,000\.$/,
      'Give --window 10d or more, or a shorter range (--since, --until).',
    );
    refused(
      await rsync('backfill', 'acme/stock', '--since', '-100000-01-01T00:00:00Z', '--window', '100000000d'),
      ExitCode.USAGE,
      '--since -100000-01-01T00:00:00Z is not a time from year 1 to 9999.',
      'Give an ISO-8601 time (2026-01-01, 2026-01-01T00:00:00Z) or an age (7d, 12h).',
    );
    refused(
      await rsync('backfill', 'acme/stock', '--since', '2026-13-45'),
      ExitCode.USAGE,
      '--since 2026-13-45 is not a time.',
    );
    const ok = await oneDay('9s');
    expect(ok.status, show(ok)).toBe(0);
    expect(ok.stderr).toContain('in 9600 windows');
  });

  describe('rsync.yaml that is not a file', () => {
    let broken: string;
    beforeAll(() => {
      broken = mkdtempSync(path.join(os.tmpdir(), 'rsync-inputs-root-'));
      mkdirSync(path.join(broken, 'folder', 'rsync.yaml'), { recursive: true });
      mkdirSync(path.join(broken, 'zero'));
      symlinkSync('/dev/zero', path.join(broken, 'zero', 'rsync.yaml'));
    });
    afterAll(() => rmSync(broken, { recursive: true, force: true }));

    // A link to /dev/zero was read for ever; a folder was EISDIR, an internal error (or "declares no environments").
    for (const [name, what, hint] of [
      ['folder', 'a folder', 'Remove or rename the folder; rsync expects a file there.'],
      ['zero', 'a device', 'Replace it with a file.'],
    ]) {
      it(`${what}: exit 66 at once, naming it, for validate, test, plan and status`, async () => {
        for (const args of [['validate'], ['test'], ['plan'], ['status']]) {
          const started = Date.now();
          const r = await runCli(args, path.join(broken, name), { url: db.url, actor: ACTOR });
          refused(r, ExitCode.NO_INPUT, `Cannot read rsync.yaml: it is ${what}, not a regular file.`, hint);
          expect(Date.now() - started).toBeLessThan(15_000);
        }
      });
    }
  });
});
