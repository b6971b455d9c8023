/**
 * The README's quick start and usage lines, run as written (issue 21), on a machine where `rsync` on PATH is the
 * Unix file-copy tool: PATH is only npm's bin folder of a fresh prefix, /usr/bin and /bin, and /usr/bin/rsync
 * exists (the test says so when it does not). Each line must do what its comment in the README says.
 *
 * - The link line runs for real, into a folder of the user's own (npm's global prefix holds the Unix rsync on many
 *   machines: a plain `npm link` fails there with EEXIST), on a package that declares exactly this package.json's
 *   bin — `rsync` and `retail-sync` — (its run.js a link to the real one): the link npm makes for a clone, without
 *   touching the shared node_modules; the export line puts that folder last on PATH, so `rsync` stays the Unix tool.
 * - `retail-sync doctor` finds retail-sync through that link and warns that rsync is /usr/bin/rsync.
 * - `npm ci`, `npm run demo` and `npm test` are not run here (the network; test/cli/demo.test.ts runs the demo;
 *   the suite is this file's parent): the test holds the scripts they name to package.json.
 * - The usage block runs line by line in a Git copy of the example workspace, on a test database: validate,
 *   test, plan, apply (which asks for confirmation and refuses without a terminal), watch (until its first
 *   round is printed) and init. A line the README adds without an expectation here fails the test.
 * And every relative link of the README leads to a file of the repository (docs/DESIGN.md among them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProblem, CLI, collect, exampleRepo, ROOT, type Run, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const UNIX_RSYNC = '/usr/bin/rsync';

/** The lines of the first ```sh block after `heading`, each as its command and its comment. */
function shBlock(heading: string): { command: string; comment: string }[] {
  const at = README.indexOf(heading);
  expect(at, `README has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const m = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  expect(m, `no sh block after "${heading}"`).not.toBeNull();
  return m![1]
    .split('\n')
    .filter((l) => /^\S/.test(l))
    .map((l) => {
      const [command, ...comment] = l.split(/\s+#\s/);
      return { command: command.trim(), comment: comment.join(' # ').trim() };
    });
}

describe('the README as a newcomer runs it, with the Unix rsync on PATH', { timeout: 300_000 }, () => {
  let tmp: string;
  let prefix: string;
  let env: NodeJS.ProcessEnv;
  let db: TestDatabase;
  let repo: string;

  /** A README line in bash, in `cwd`, with the clean environment. */
  const sh = (line: string, cwd: string): Promise<Run> =>
    collect(spawn('bash', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const said = show;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/doctor.ts', 'cli/commands/validate.ts', 'cli/commands/init.ts']);
    if (problem) throw new Error(problem);
    expect(existsSync(UNIX_RSYNC), `this test needs the Unix rsync at ${UNIX_RSYNC}`).toBe(true);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rsync-readme-'));
    mkdirSync(path.join(tmp, 'home'));
    // Where the README's link line puts the commands.
    prefix = path.join(tmp, 'home', '.retail-sync');
    env = {
      PATH: '/usr/bin:/bin',
      HOME: path.join(tmp, 'home'),
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      npm_config_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Dana Partner',
      GIT_AUTHOR_EMAIL: 'dana@acme.example',
      GIT_COMMITTER_NAME: 'Dana Partner',
      GIT_COMMITTER_EMAIL: 'dana@acme.example',
      RSYNC_ACTOR: 'readme-test',
    };
    db = await testDatabase('readme');
    repo = exampleRepo('rsync-readme-repo-');
  });

  afterAll(async () => {
    await db?.drop();
    for (const d of [tmp, repo, repo && path.join(path.dirname(repo), 'my-partner')])
      if (d) rmSync(d, { recursive: true, force: true });
  });

  it('quick start: npm link puts retail-sync on PATH beside the Unix rsync, and doctor says which is which', async () => {
    const lines = shBlock('## Quick start');
    expect(lines.map((l) => l.command)).toEqual([
      'npm ci',
      'npm_config_prefix="$HOME/.retail-sync" npm link',
      'export PATH="$PATH:$HOME/.retail-sync/bin"',
      'retail-sync doctor',
      'npm run demo',
      'npm test',
    ]);
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
    expect(pkg.scripts.prepare, 'npm ci builds the CLI through prepare').toBe('npm run build');

    // The package as npm link sees it: this package.json's name and bin; run.js links to the real one.
    const clone = path.join(tmp, 'clone');
    mkdirSync(path.join(clone, 'cli', 'bin'), { recursive: true });
    writeFileSync(
      path.join(clone, 'package.json'),
      JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', bin: pkg.bin }),
    );
    symlinkSync(CLI, path.join(clone, 'cli', 'bin', 'run.js'));
    const link = await sh(lines[1].command, clone);
    expect(link.status, said(link)).toBe(0);
    expect(link.stderr).not.toContain('EEXIST');
    expect(['rsync', 'retail-sync'].filter((b) => existsSync(path.join(prefix, 'bin', b)))).toEqual([
      'rsync',
      'retail-sync',
    ]);
    // The export line, as the shell would carry it to the next lines: the folder last on PATH.
    const exported = await sh(`${lines[2].command}; printf %s "$PATH"`, clone);
    env = { ...env, PATH: exported.stdout };
    expect(env.PATH).toBe(`/usr/bin:/bin:${path.join(prefix, 'bin')}`);
    const which = await sh('command -v rsync retail-sync', clone);
    expect(which.stdout.trim().split('\n')).toEqual([UNIX_RSYNC, path.join(prefix, 'bin', 'retail-sync')]);

    const doctor = await sh('retail-sync doctor', repo);
    expect(doctor.status, said(doctor)).toBe(0);
    expect(doctor.stdout).toContain(
      `✓ retail-sync on PATH is this rsync (${path.join(prefix, 'bin', 'retail-sync')}).`,
    );
    expect(doctor.stdout).toMatch(
      /! rsync on PATH is .*\/bin\/rsync \(rsync +version [\d.]+.*\), not rsync \(retail sync\)/,
    );
    expect(doctor.stdout).toContain('Type retail-sync where the README');
    // What doctor warns of: `rsync validate` here is the file-copy tool, not us.
    const unix = await sh('rsync validate', repo);
    expect(unix.status).not.toBe(0);
    expect(unix.stdout + unix.stderr).not.toContain('is valid');
  });

  it('npx retail-sync runs this CLI inside the clone, offline', () => {
    expect(README).toContain('`npx retail-sync <command>` runs the same CLI from anywhere inside the clone');
    const r = spawnSync('npx', ['--offline', 'retail-sync', '--version'], {
      cwd: path.join(ROOT, 'integrations'),
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${pkg.name}/${pkg.version}`);
  });

  it('usage: each line of the example workspace block does what its comment says', async () => {
    const lines = shBlock('## The example workspace');
    const expectations: Record<string, (r: Run) => void> = {
      'retail-sync validate': (r) => {
        expect(r.status, said(r)).toBe(0);
        expect(r.stdout).toMatch(/✓ \. is valid: 2 customers, \d+ flows/);
      },
      'retail-sync test': (r) => {
        expect(r.status, said(r)).toBe(0);
        expect(r.stdout).toMatch(/(^|\n)\d+ passed, 0 failed\n$/);
      },
      'retail-sync plan --env staging': (r) => {
        expect(r.status, said(r)).toBe(0);
        expect(r.stdout).toMatch(/\n {2}\+ contoso\/flow\/\S+ — not yet deployed to staging/);
        expect(r.stdout).toMatch(/\nPlan: \d+ to create, 0 to update, 0 to delete, 0 unchanged\.\n/);
      },
      'retail-sync apply --env staging': (r) => {
        // Asks for confirmation: without a terminal to ask on, it refuses (75) and names --auto-approve.
        expect(r.status, said(r)).toBe(75);
        expect(r.stderr).toContain('Refusing to apply without confirmation');
        expect(r.stderr).toContain('--auto-approve');
      },
      'retail-sync init ../my-partner': (r) => {
        expect(r.status, said(r)).toBe(0);
        expect(existsSync(path.join(repo, '..', 'my-partner', 'rsync.yaml'))).toBe(true);
        expect(r.stdout).toMatch(/✓ validate: 0 errors, .*; test: \d+ passed, 0 failed/);
      },
    };
    const run = async (command: string) => {
      if (command !== 'retail-sync watch') return sh(`DATABASE_URL='${db.url}' ${command}`, repo);
      // Watch runs until stopped: wait for its first round, then Ctrl-C.
      const child = spawn('bash', ['-c', `exec ${command}`], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGINT'), 120_000);
      const broken = path.join(repo, 'integrations', 'contoso', 'broken.yaml');
      const r = await collect(child, (stdout) => {
        // After the first round, a save that breaks the workspace; after the round it starts, Ctrl-C.
        if (/test cases failing/.test(stdout) && !existsSync(broken))
          writeFileSync(broken, 'apiVersion: rsync/v1\nkind: Nope\n');
        if (/broken\.yaml[\s\S]*✗ 1 error/.test(stdout)) child.kill('SIGINT');
      });
      clearTimeout(timer);
      rmSync(broken, { force: true });
      return r;
    };
    expectations['retail-sync watch'] = (r) => {
      expect(r.stdout, said(r)).toMatch(/✓ 0 errors, 0 warnings; 0 of \d+ test cases failing/);
      // Only what changed, on the save: the new file's error, and the totals.
      expect(r.stdout).toMatch(
        /\d\d:\d\d:\d\d integrations\/contoso\/broken\.yaml \(\d+(?:\.\d)? ms\)\n {2}\+ integrations\/contoso\/broken\.yaml/,
      );
      expect(r.stdout).toMatch(/\n {2}✗ 1 error, 0 warnings; 0 of \d+ test cases failing\n/);
      expect(r.status, said(r)).toBe(0); // Ctrl-C ends a watch normally
    };
    expect(lines.map((l) => l.command).sort()).toEqual(Object.keys(expectations).sort());
    for (const { command } of lines) expectations[command](await run(command));
    // And with --auto-approve, as the comment says for scripts.
    const approved = await sh(`DATABASE_URL='${db.url}' retail-sync apply --env staging --auto-approve`, repo);
    expect(approved.status, said(approved)).toBe(0);
  });

  it('every relative link of the README leads to a file of the repository', () => {
    const links = [...README.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1])
      .filter((l) => !/^[a-z]+:/.test(l));
    expect(links).toContain('docs/DESIGN.md');
    for (const l of links) expect(existsSync(path.join(ROOT, l)), l).toBe(true);
    const tracked = spawnSync('git', ['ls-files', '--error-unmatch', 'docs/DESIGN.md'], { cwd: ROOT });
    expect(tracked.status, 'docs/DESIGN.md is in the repository').toBe(0);
  });
});
