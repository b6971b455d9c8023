/**
 * The command-line conventions of issue 21, through the built CLI: an unknown command is exit 64 (not oclif's 2,
 * which the exit-code table gives to "the plan has changes") with the nearest commands suggested, in text and
 * under --json; `-h` is help on every command; `rsync help [COMMAND]` exists; and the completion script, run by a
 * real bash, completes commands, subcommands, flags and flag values from this installation's manifest; validate
 * and plan show their progress on a terminal (a real pseudo-terminal, by script(1)) and not in --json or CI; and
 * under --json a command writes nothing to stderr, but the worker writes its log there as JSON lines.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { buildProblem, CLI, ROOT, runCli, show } from '../helpers/cli.js';
import { testDatabase } from '../helpers/db.js';
import {
  ACTOR as RUNTIME_ACTOR,
  applyWorkspace,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  stockFlow,
} from '../helpers/runtime.js';

const ACTOR = 'conventions-test';
const rsync = (...args: string[]) => runCli(args, os.tmpdir(), { actor: ACTOR });

describe('CLI conventions', { timeout: 120_000 }, () => {
  beforeAll(() => {
    const problem = buildProblem([
      'cli/unknown.ts',
      'cli/help.ts',
      'cli/hooks/command-not-found.ts',
      'cli/commands/help.ts',
      'cli/commands/completion.ts',
    ]);
    if (problem) throw new Error(problem);
  });

  it('an unknown command exits 64 and suggests the nearest commands', async () => {
    const typo = await rsync('valdate');
    expect(typo.status, show(typo)).toBe(ExitCode.USAGE);
    expect(typo.stderr).toBe(
      'rsync: "valdate" is not an rsync command.\n  Did you mean `rsync validate`? Run `rsync help` for the list.\n',
    );
    const sub = await rsync('db', 'stat');
    expect(sub.status, show(sub)).toBe(ExitCode.USAGE);
    expect(sub.stderr).toContain('Did you mean `rsync db status` or `rsync db stop`?');
    const none = await rsync('frobnicate');
    expect(none.status).toBe(ExitCode.USAGE);
    expect(none.stderr).not.toContain('Did you mean');
    const json = await rsync('plna', '--detailed-exitcode', '--json');
    expect(json.status, show(json)).toBe(ExitCode.USAGE);
    expect(JSON.parse(json.stdout)).toEqual({
      version: 1,
      error: {
        exitCode: 64,
        message: '"plna" is not an rsync command.',
        // sla is two edits from plna, within the limit (a third of the length, at least 2), after plan's one swap
        hint: 'Did you mean `rsync plan` or `rsync sla`? Run `rsync help` for the list.',
        suggestions: ['plan', 'sla'],
      },
    });
  });

  it('-h is help on every command, a topic and the root; help of an unknown command is the same exit 64', async () => {
    for (const args of [['validate', '-h'], ['db', 'status', '-h'], ['xref', 'verify', '-h'], ['-h']]) {
      const r = await rsync(...args);
      expect(r.status, show(r)).toBe(0);
      expect(r.stdout).toContain('USAGE');
    }
    const plan = await rsync('plan', '-h');
    expect(plan.stdout).toContain('$ rsync plan [PATH]');
    expect(plan.stdout).toContain('--detailed-exitcode');
    const unknown = await rsync('plna', '-h');
    expect(unknown.status).toBe(ExitCode.USAGE);
    expect(unknown.stderr).toContain('Did you mean `rsync plan` or `rsync sla`?');
  });

  it('rsync help [COMMAND…] prints the same help as --help', async () => {
    const root = await rsync('help');
    expect(root.status).toBe(0);
    expect(root.stdout).toContain('completion');
    expect(root.stdout).toContain('db status');
    const viaHelp = await rsync('help', 'db', 'status');
    const viaFlag = await rsync('db', 'status', '--help');
    expect(viaHelp.status).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    const unknown = await rsync('help', 'aply');
    expect(unknown.status).toBe(ExitCode.USAGE);
    expect(unknown.stderr).toContain('Did you mean `rsync apply`?');
  });

  describe('shell completion', () => {
    let dir: string;
    let script: string;
    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-completion-'));
      const r = await rsync('completion', 'bash');
      expect(r.status, show(r)).toBe(0);
      script = path.join(dir, 'completion.bash');
      writeFileSync(script, r.stdout);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** What bash completes for the words typed, the last one being completed. */
    const complete = (...words: string[]): string[] => {
      const array = ['retail-sync', ...words].map((w) => `'${w}'`).join(' ');
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source '${script}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length}; _retail_sync_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      return r.stdout.split('\n').filter(Boolean).sort();
    };

    it('completes commands, subcommands, flags and option values', () => {
      expect(complete('pl')).toEqual(['plan']);
      expect(complete('d')).toEqual(expect.arrayContaining(['db', 'demo', 'diff', 'dlq']));
      expect(complete('db', '')).toEqual(['status', 'stop']);
      expect(complete('dlq', 're')).toEqual(['replay']);
      expect(complete('plan', '--det')).toEqual(['--detailed-exitcode']);
      expect(complete('plan', '--format', '')).toEqual(['json', 'markdown', 'text']);
      expect(complete('init', '--erp', 'b')).toEqual(['business-central']);
      expect(complete('validate', '--')).toEqual(['--env', '--help', '--json', '--ref']);
    });

    it('registers retail-sync, and rsync only where rsync on PATH is this program', () => {
      const registered = (pathDirs: string) =>
        spawnSync('bash', ['-c', `source '${script}'; complete -p`], {
          encoding: 'utf8',
          env: { ...process.env, PATH: pathDirs },
        }).stdout;
      // The Unix rsync first on PATH (/usr/bin/rsync on this machine): its completion is left alone.
      const unix = registered('/usr/bin:/bin');
      expect(unix).toContain('_retail_sync_complete retail-sync');
      expect(unix).not.toMatch(/_retail_sync_complete rsync$/m);
      // A folder where rsync is a link to this program, as npm link makes it, first on PATH.
      const bin = path.join(dir, 'bin');
      spawnSync('mkdir', ['-p', bin]);
      spawnSync('ln', ['-sf', CLI, path.join(bin, 'rsync')]);
      expect(registered(`${bin}:/usr/bin:/bin`)).toMatch(/_retail_sync_complete rsync$/m);
    });

    it('zsh gets the same function through bashcompinit', async () => {
      const r = await rsync('completion', 'zsh');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('autoload -U +X bashcompinit && bashcompinit');
      expect(r.stdout).toContain('_retail_sync_complete()');
    });
  });

  describe('progress and logs', () => {
    /** The CLI under a pseudo-terminal (script(1)): what a terminal shows, stdout and stderr together. */
    const onTerminal = (args: string, env: Record<string, string> = {}) =>
      spawnSync('script', ['-qec', `node ${CLI} ${args}`, '/dev/null'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CI')), NO_COLOR: '1', ...env },
      });

    it('validate shows its steps on a terminal, then clears the line; nothing in --json or CI', () => {
      const tty = onTerminal('validate');
      expect(tty.status, tty.stdout).toBe(0);
      expect(tty.stdout).toMatch(/\rvalidate \[1\/2\] reading the workspace… \(\d+\.\ds\)/);
      expect(tty.stdout).toMatch(/\rvalidate \[2\/2\] validating… \(\d+\.\ds\)/);
      // Counters: every YAML file read, then every customer checked, the last count always shown.
      const read = [...tty.stdout.matchAll(/reading the workspace… (\d+)\/(\d+) files/g)];
      expect(read.length).toBeGreaterThan(0);
      expect(read.at(-1)?.[1]).toBe(read.at(-1)?.[2]);
      expect(Number(read.at(-1)?.[2])).toBeGreaterThan(20);
      expect(tty.stdout).toMatch(/validating… 2\/2 customers \(\d+\.\ds\)/);
      expect(tty.stdout).toMatch(/\r +\r✓ \. is valid/);
      for (const quiet of [onTerminal('validate --json'), onTerminal('validate', { CI: 'true' })]) {
        expect(quiet.status).toBe(0);
        expect(quiet.stdout).not.toContain('[1/2]');
      }
    });

    it('plan shows its steps on a terminal; under --json stderr is empty; the worker logs JSON lines', async () => {
      const db = await testDatabase('conventions');
      const dir = runtimeWorkspace('rsync-conventions-', { connections: SANDBOX_SYSTEMS, flows: [stockFlow()] });
      try {
        const plan = spawnSync('script', ['-qec', `node ${CLI} plan --env staging`, '/dev/null'], {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, CI: '', NO_COLOR: '1', DATABASE_URL: db.url, RSYNC_ACTOR: RUNTIME_ACTOR },
        });
        expect(plan.status, plan.stdout).toBe(0);
        for (const step of [
          '[1/4] reading the workspace',
          '[2/4] validating',
          '[3/4] reading what is deployed',
          '[4/4] planning',
        ])
          expect(plan.stdout).toContain(`plan ${step}…`);

        const json = await runCli(['plan', '--env', 'staging', '--json'], dir, { url: db.url, actor: RUNTIME_ACTOR });
        expect(json.status, show(json)).toBe(0);
        expect(json.stderr).toBe('');
        expect(JSON.parse(json.stdout)).toMatchObject({ version: 2, format: 2, env: 'staging' });

        await applyWorkspace(dir, db.url);
        const worker = await runCli(
          ['worker', '--env', 'staging', '--port', '0', '--threads', '1', '--for', '2s', '--json'],
          dir,
          {
            url: db.url,
            actor: RUNTIME_ACTOR,
          },
        );
        expect(worker.status, show(worker)).toBe(0);
        const lines = worker.stderr
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines.length).toBeGreaterThanOrEqual(3);
        for (const l of lines) {
          // pino's lines (cli/log.ts): the level by name, an ISO time, the worker and environment, the message.
          expect(l).toMatchObject({ level: 'info', env: 'staging', worker: expect.any(String) });
          expect(typeof l.message).toBe('string');
          expect(Number.isNaN(Date.parse(l.time))).toBe(false);
        }
        expect(lines[0].message).toMatch(/^worker \S+ on staging: database /);
        expect(lines.at(-1).message).toMatch(/^stopped: \d+ runs/);
        expect(JSON.parse(worker.stdout)).toMatchObject({ version: 1, env: 'staging', drained: true });
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await db.drop();
      }
    });
  });
});
