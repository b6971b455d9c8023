/**
 * `rsync doctor`: is this machine ready to run the README's commands as written? The one a newcomer trips on is
 * the name: on most Unix machines `rsync` on PATH is the file-copy tool (/usr/bin/rsync), so `rsync validate`
 * exits 23 and `rsync test` lists a folder and exits 0 — a CI script that "passes" without running a test. The
 * package installs `rsync` with the alias `retail-sync`; the README links them into a folder of the user's own, last
 * on PATH (a plain `npm link` where npm's bin folder is /usr/bin fails with EEXIST rather than replace the Unix
 * rsync), and doctor says which `rsync` and `retail-sync` PATH finds. It also checks Node, Git and
 * the embedded PostgreSQL's binaries (or DATABASE_URL). Each check is ok, warn (works, but not as the README
 * reads) or fail (a command will not work); only a fail makes doctor exit 1.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { git as runGit } from '../git/index.js';
import { embeddedPackage } from '../state/embedded.js';
import { missingNativeLinks } from '../state/native-links.js';
import { projectRoot } from '../util/paths.js';

export interface DoctorCheck {
  name: 'node' | 'rsync-on-path' | 'retail-sync-on-path' | 'git' | 'database';
  status: 'ok' | 'warn' | 'fail';
  message: string;
  hint?: string;
}

export interface DoctorReport {
  version: 1;
  /** This installation's command (its real path). */
  program: string;
  checks: DoctorCheck[];
  ok: boolean;
}

/** The first executable `name` in PATH's folders, as `command -v` finds it. */
export function onPath(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** The first line `<program> --version` prints (to say what another rsync is), bounded in time. */
function versionOf(program: string): string {
  const r = spawnSync(program, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return (r.stdout ?? '').split('\n')[0].trim().replace(/\s+/g, ' ');
}

function nameCheck(name: 'rsync' | 'retail-sync', program: string, pathVar: string): DoctorCheck {
  const check = name === 'rsync' ? 'rsync-on-path' : 'retail-sync-on-path';
  const found = onPath(name, pathVar);
  if (found && real(found) === program)
    return { name: check, status: 'ok', message: `${name} on PATH is this rsync (${found}).` };
  if (name === 'rsync') {
    if (!found)
      return {
        name: check,
        status: 'ok',
        message: 'No rsync on PATH: type retail-sync where the README writes rsync.',
        hint: 'Or alias rsync=retail-sync in your shell.',
      };
    const ours = real(found).endsWith(path.join('cli', 'bin', 'run.js'));
    return {
      name: check,
      status: 'warn',
      message: ours
        ? `rsync on PATH is another installation of rsync (retail sync): ${real(found)}.`
        : `rsync on PATH is ${found}${versionOf(found) ? ` (${versionOf(found)})` : ''}, not rsync (retail sync): \`rsync validate\` runs the Unix file-copy tool there.`,
      hint: "Type retail-sync where the README and rsync's messages write rsync (or alias rsync=retail-sync in your shell, if you do not use the Unix rsync).",
    };
  }
  if (!found)
    return {
      name: check,
      status: 'warn',
      message: 'retail-sync is not on PATH.',
      hint: `Run \`npm_config_prefix="$HOME/.retail-sync" npm link\` in ${projectRoot()} and put "$HOME/.retail-sync/bin" last on PATH (the README's quick start), or run \`node ${path.join(projectRoot(), 'cli', 'bin', 'run.js')}\`.`,
    };
  return {
    name: check,
    status: 'warn',
    message: `retail-sync on PATH is another installation: ${real(found)}, not ${program}.`,
    hint: 'Run `npm link` in the folder you mean to use, or put its bin folder first on PATH.',
  };
}

function databaseCheck(): DoctorCheck {
  if (process.env.DATABASE_URL)
    return {
      name: 'database',
      status: 'ok',
      message: 'DATABASE_URL is set: rsync uses that PostgreSQL, not the embedded one.',
    };
  const { pkg, root } = embeddedPackage();
  if (!root || !existsSync(path.join(root, 'native', 'bin', 'pg_ctl')))
    return {
      name: 'database',
      status: 'fail',
      message: `No DATABASE_URL, and the embedded PostgreSQL binaries (${pkg}) are not installed.`,
      hint: 'Run `npm ci`, or set DATABASE_URL to a PostgreSQL 13+ server.',
    };
  const missing = missingNativeLinks(root);
  return {
    name: 'database',
    status: 'ok',
    message: missing.length
      ? `The embedded PostgreSQL (${pkg}) was installed without its install script: rsync makes its ${missing.length} library links when it first starts it.`
      : `The embedded PostgreSQL (${pkg}) is installed; with no DATABASE_URL, rsync runs it under the workspace's .rsync/.`,
  };
}

export async function doctor(pathVar = process.env.PATH ?? ''): Promise<DoctorReport> {
  const program = real(path.join(projectRoot(), 'cli', 'bin', 'run.js'));
  const major = Number(process.versions.node.split('.')[0]);
  const git = await runGit(process.cwd(), ['--version'], { allowFail: true }).catch(() => ({ code: -1, stdout: '' }));
  const checks: DoctorCheck[] = [
    major >= 20
      ? { name: 'node', status: 'ok', message: `Node.js ${process.versions.node}.` }
      : { name: 'node', status: 'fail', message: `Node.js ${process.versions.node}: rsync needs 20 or newer.` },
    nameCheck('retail-sync', program, pathVar),
    nameCheck('rsync', program, pathVar),
    git.code === 0
      ? { name: 'git', status: 'ok', message: git.stdout.trim() + '.' }
      : {
          name: 'git',
          status: 'fail',
          message: 'git is not on PATH: plan, diff, promote and history read Git.',
          hint: 'Install Git.',
        },
    databaseCheck(),
  ];
  return { version: 1, program, checks, ok: checks.every((c) => c.status !== 'fail') };
}
