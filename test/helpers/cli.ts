/**
 * Running the built CLI and real Git from tests: the helpers the CLI test files share.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, from the sources (vitest) or from the build in .build/ (benchmarks). */
export const ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'cli', 'bin', 'run.js'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the project root (cli/bin/run.js)');
    dir = up;
  }
  return dir;
})();
export const CLI = path.join(ROOT, 'cli', 'bin', 'run.js');

/** Why the built CLI cannot be used: missing, or older than a source file these commands import. */
export function buildProblem(commands: string[]): string | undefined {
  const seen = new Set<string>();
  const todo = [...commands];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f) || !existsSync(path.join(ROOT, f))) continue;
    seen.add(f);
    const text = readFileSync(path.join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)'(\.{1,2}\/[^']+)\.js'/g)) {
      todo.push(
        path
          .relative(ROOT, path.resolve(ROOT, path.dirname(f), `${m[1]}.ts`))
          .split(path.sep)
          .join('/'),
      );
    }
  }
  const stale = [...seen].filter((f) => {
    const built = path.join(ROOT, '.build', f.replace(/\.ts$/, '.js'));
    return !existsSync(built) || statSync(built).mtimeMs < statSync(path.join(ROOT, f)).mtimeMs;
  });
  return stale.length
    ? `The build in .build/ is missing or older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ` and ${stale.length - 5} more` : ''}: run \`npm run build\` (npm test does) first.`
    : undefined;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** DATABASE_URL for the child; without it the child has none (and uses the embedded database). */
  url?: string;
  actor: string;
  /** Keep the machine's Git configuration away from the child (a test repository's identity only). */
  isolateGit?: boolean;
  /** More environment variables for the child. */
  env?: NodeJS.ProcessEnv;
}

/** The built CLI in a child process. */
export function runCli(args: string[], cwd: string, opts: RunOptions): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', RSYNC_ACTOR: opts.actor };
  delete env.DATABASE_URL;
  delete env.DEBUG;
  if (opts.url) env.DATABASE_URL = opts.url;
  if (opts.isolateGit) Object.assign(env, { GIT_CONFIG_GLOBAL: os.devNull, GIT_CONFIG_NOSYSTEM: '1' });
  Object.assign(env, opts.env);
  return collect(spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A child's exit status and output; `onStdout` sees the output so far after each chunk (to stop one that runs on). */
export function collect(child: ChildProcess, onStdout?: (stdout: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      onStdout?.(stdout);
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export const show = (r: Run) =>
  `exit ${r.status}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

/** git with a fixed identity and none of the machine's configuration. */
export function git(repo: string, ...args: string[]): string {
  const r = spawnSync(
    'git',
    [
      '-c',
      'user.name=Dana Partner',
      '-c',
      'user.email=dana@acme.example',
      '-c',
      'commit.gpgsign=false',
      '-c',
      'init.defaultBranch=main',
      ...args,
    ],
    {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull },
    },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** A Git repository with a copy of the example workspace, committed on main. */
export function exampleRepo(prefix: string): string {
  const repo = mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const p of ['rsync.yaml', 'integrations', 'templates', path.join('test', 'fixtures')])
    cpSync(path.join(ROOT, p), path.join(repo, p), { recursive: true });
  git(repo, 'init', '--quiet');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'The example workspace');
  return repo;
}

/** Replace exactly one occurrence of `from` in a workspace file. */
export function edit(repo: string, rel: string, from: string, to: string): void {
  const file = path.join(repo, rel);
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`${rel}: expected exactly one "${from}"`);
  writeFileSync(file, text.slice(0, at) + to + text.slice(at + from.length));
}
