/**
 * Running git: the one place rsync spawns it. Every call gets literal pathspecs (a customer folder is a path,
 * never a glob), no prompts and the C locale, so that output is parsed the same on every machine.
 */
import { spawn } from 'node:child_process';

export class GitFailure extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (${code ?? 'signal'}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    this.name = 'GitFailure';
  }
}

export interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  /** Resolve with the exit code instead of throwing when git fails. */
  allowFail?: boolean;
}

/** Run git in `cwd`: literal pathspecs (a customer folder is a path, never a glob), no prompts, C locale. */
export function git(cwd: string, args: string[], opts: RunOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, GIT_LITERAL_PATHSPECS: '1', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code !== 0 && !opts.allowFail) reject(new GitFailure(args, code, result.stderr));
      else resolve(result);
    });
    child.stdin.on('error', () => {}); // git may exit before reading all of its input; the exit code says why
    child.stdin.end(opts.input ?? '');
  });
}

/** Read many objects in one `git cat-file --batch` process; a missing object yields undefined. */
export function catFileBatch(cwd: string, names: string[]): Promise<(string | undefined)[]> {
  if (names.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new GitFailure(['cat-file', '--batch'], code, ''));
      const buf = Buffer.concat(chunks);
      const out: (string | undefined)[] = [];
      let at = 0;
      for (let i = 0; i < names.length; i++) {
        const nl = buf.indexOf(0x0a, at);
        const header = buf.subarray(at, nl).toString('utf8');
        at = nl + 1;
        if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
          out.push(undefined);
          continue;
        }
        const size = Number(header.split(' ')[2]);
        out.push(buf.subarray(at, at + size).toString('utf8'));
        at += size + 1; // contents, then a newline
      }
      resolve(out);
    });
    child.stdin.end(names.join('\n') + '\n');
  });
}
