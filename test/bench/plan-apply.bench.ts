/**
 * The plan/apply benchmark: a generated workspace of 1,000 customers × 10 flows (generate.ts) committed in a temp
 * Git repository, planned and applied with the built CLI against a fresh PostgreSQL database.
 *
 *   node .build/test/bench/plan-apply.bench.js [--customers 1000] [--flows 10] [--seed 1] [--env production]
 *        [--profile | --no-profile] [--wait-idle <seconds>] [--keep]
 *
 * Four steps, each `node cli/bin/run.js …` in a fresh process (wall time from spawn to exit, peak RSS from GNU time's
 * ru_maxrss or /proc/<pid>/status VmHWM polling), in this order on one database:
 *
 *   first plan          plan --env <env> --detailed-exitcode          every resource a create (exit 2)   < 5 s
 *   first apply         apply --env <env> --auto-approve --json       plans again, then applies it       < 5 s
 *   no-change plan      plan --env <env> --detailed-exitcode          nothing to do (exit 0)             < 1.5 s
 *   template change     plan --env <env> --detailed-exitcode          after one commit that changes the mapping of
 *                                                                      the most used template: one update per flow
 *                                                                      made from it, in every customer using it   < 5 s
 *
 * When a step misses its target (or with --profile) it runs once more under `node --cpu-prof` and the profile is
 * summarised (cpuprofile.ts); a plan step also gets an in-process breakdown of planEnvironment's steps, and the
 * apply a breakdown of applyPlan's (plan, revisions, live pg-boss objects) — this file is the child for both
 * (`--plan-phases` / `--apply-phases <workspace> <env>`, DATABASE_URL in the environment).
 *
 * The database: DATABASE_URL's server when set, else the embedded server the tests share (test/helpers/db.ts).
 * Environment: production by default. The generator's staging overlay (`trigger: { manual: true }` merged onto an
 * event trigger) does not validate (schema-choice), so `--env staging` only shows that.
 *
 * Exit code: 0 when the benchmark ran (targets met or not), 1 when it could not run or a step did not do what it
 * should (a plan that fails, an apply that does not create everything, a wrong update count).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { formatSummary, summarise } from './cpuprofile.js';
import { generateWorkspace } from './generate.js';
import { machine, projectRoot, rssMethod, type RssMethod } from './validate.bench.js';

const TARGETS = { 'first plan': 5000, 'first apply': 5000, 'no-change plan': 1500, 'template change': 5000 } as const;
type StepName = keyof typeof TARGETS;

interface Args {
  customers: number;
  flows: number;
  seed: number;
  env: string;
  profile?: boolean;
  waitIdle: number;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { customers: 1000, flows: 10, seed: 1, env: 'production', waitIdle: 0, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${k} needs a positive integer`);
      return v;
    };
    if (k === '--customers') a.customers = num();
    else if (k === '--flows') a.flows = num();
    else if (k === '--seed') a.seed = num();
    else if (k === '--env') a.env = argv[++i];
    else if (k === '--profile') a.profile = true;
    else if (k === '--no-profile') a.profile = false;
    else if (k === '--wait-idle') a.waitIdle = num();
    else if (k === '--keep') a.keep = true;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

// --- running the CLI -------------------------------------------------------------------------------------------------

export interface Measured {
  wallMs: number;
  /** Peak RSS of the node process, KiB. */
  maxRssKiB: number;
  cpuMs?: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** `node [nodeArgs] <script> <args>` in `cwd`, in a fresh process: wall time from spawn to exit, and peak RSS. */
export function measure(
  script: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  method: RssMethod,
  nodeArgs: string[] = [],
): Promise<Measured> {
  const argv = [...nodeArgs, script, ...args];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rsync-bench-time-'));
  const timeFile = path.join(tmp, 'time.txt');
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child =
      method === 'gnu-time'
        ? spawn('/usr/bin/time', ['-v', '-o', timeFile, process.execPath, ...argv], {
            cwd,
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        : spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let hwm = 0;
    const poll =
      method === 'proc-vmhwm'
        ? setInterval(() => {
            try {
              const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
              if (m) hwm = Math.max(hwm, Number(m[1]));
            } catch {
              // exited
            }
          }, 5)
        : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      if (poll) clearInterval(poll);
      let maxRssKiB = hwm;
      let cpuMs: number | undefined;
      let exitCode = code;
      if (method === 'gnu-time') {
        const t = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
        maxRssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)?.[1] ?? 0);
        const user = Number(/User time \(seconds\): ([\d.]+)/.exec(t)?.[1] ?? NaN);
        const sys = Number(/System time \(seconds\): ([\d.]+)/.exec(t)?.[1] ?? NaN);
        cpuMs = Number.isFinite(user + sys) ? (user + sys) * 1000 : undefined;
        const status = /Exit status: (\d+)/.exec(t);
        if (status) exitCode = Number(status[1]);
        if (/Command terminated by signal/.test(t)) exitCode = null;
      }
      rmSync(tmp, { recursive: true, force: true });
      resolve({
        wallMs,
        maxRssKiB,
        cpuMs,
        exitCode,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

// --- the workspace -------------------------------------------------------------------------------------------------

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync(
    'git',
    [
      '-c',
      'user.name=rsync bench',
      '-c',
      'user.email=bench@rsync.invalid',
      '-c',
      'commit.gpgsign=false',
      '-c',
      'init.defaultBranch=main',
      ...args,
    ],
    {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull },
    },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** The Git ref rsync.yaml binds the environment to. */
function envRef(ws: string, env: string): string {
  const doc = parseAllDocuments(readFileSync(path.join(ws, 'rsync.yaml'), 'utf8'))[0]?.toJS() as {
    spec?: { environments?: Record<string, { ref?: string }> };
  };
  const ref = doc?.spec?.environments?.[env]?.ref;
  if (!ref) throw new Error(`rsync.yaml binds no Git ref to the environment ${env}`);
  return ref;
}

interface TemplateChange {
  template: string;
  file: string;
  customers: number;
  /** Flows made from the template per customer that read the changed mapping. */
  perCustomer: number;
}

/**
 * The template whose change touches the most flows: for each template customers use (`uses:` in customer.yaml),
 * the mapping most of its flows read by a fixed path (not chosen by a parameter); changing it must update that many
 * flows in every customer that uses the template.
 */
function pickTemplateChange(ws: string): TemplateChange {
  const uses = new Map<string, number>();
  for (const c of readdirSync(path.join(ws, 'integrations'))) {
    const file = path.join(ws, 'integrations', c, 'customer.yaml');
    if (!existsSync(file)) continue;
    const seen = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*-\s*template:\s*([\w-]+@\d+)\s*$/gm)) seen.add(m[1]);
    for (const t of seen) uses.set(t, (uses.get(t) ?? 0) + 1);
  }
  const candidates: TemplateChange[] = [];
  for (const [template, customers] of uses) {
    const [name, version] = template.split('@');
    const text = readFileSync(path.join(ws, 'templates', name, version, 'template.yaml'), 'utf8');
    const reads = new Map<string, number>();
    for (const m of text.matchAll(/^\s*mapping:\s*"?(mappings\/[\w.-]+\.jsonata)"?\s*$/gm))
      reads.set(m[1], (reads.get(m[1]) ?? 0) + 1);
    for (const [mapping, perCustomer] of reads)
      candidates.push({ template, file: `templates/${name}/${version}/${mapping}`, customers, perCustomer });
  }
  const best = candidates.sort(
    (a, b) => b.customers * b.perCustomer - a.customers * a.perCustomer || (a.file < b.file ? -1 : 1),
  )[0];
  if (!best) throw new Error('no customer uses a template with a mapping of a fixed path');
  return best;
}

// --- the in-process breakdowns (this file as the child) -----------------------------------------------------------

interface Phase {
  step: string;
  ms: number;
  rssMiB: number;
}

interface PhasesResult {
  phases: Phase[];
  notes: string[];
}

async function planPhases(ws: string, env: string, apply: boolean): Promise<PhasesResult> {
  const phases: Phase[] = [];
  const notes: string[] = [];
  let t = performance.now();
  const lap = (step: string) => {
    const now = performance.now();
    phases.push({ step, ms: now - t, rssMiB: process.memoryUsage().rss / 2 ** 20 });
    t = now;
  };
  phases.push({ step: 'node start → this script', ms: performance.now(), rssMiB: process.memoryUsage().rss / 2 ** 20 });
  t = performance.now();
  const { connect } = await import('../../engine/state/db.js');
  const { resolveEnvironment, brandingOf } = await import('../../engine/workspace/index.js');
  const { openWorkspace } = await import('../../engine/workspace/open.js');
  const { validateWorkspace } = await import('../../engine/validate/validate.js');
  const { desiredState } = await import('../../engine/plan/desired.js');
  const { makePlan } = await import('../../engine/plan/plan.js');
  const { renderPlanText } = await import('../../engine/plan/render.js');
  const { readBlobs, readDeployed } = await import('../../engine/state/deployments.js');
  const { readLive } = await import('../../engine/live/read.js');
  const { applyPlan } = await import('../../engine/apply/apply.js');
  lap('import engine modules');
  const db = await connect(ws, { url: process.env.DATABASE_URL });
  lap('connect + migrate');
  try {
    // planEnvironment's steps, called one by one as it calls them.
    const target = await resolveEnvironment(ws, env);
    lap('resolveEnvironment (loads the working tree for rsync.yaml)');
    const { ws: workspace } = await openWorkspace({ path: target.root, ref: target.ref, env: target.env });
    lap(`openWorkspace at ${target.ref} (git ls-tree + cat-file, parse, templates)`);
    const { diagnostics } = validateWorkspace(workspace);
    lap(`validateWorkspace (${diagnostics.length} diagnostics)`);
    const desired = desiredState(workspace);
    lap(`desiredState (${desired.resources.length} resources, hashed)`);
    const [deployed, live] = await Promise.all([readDeployed(db.pool, target.env), readLive(db.pool, target.env)]);
    const wanted = new Set(
      desired.resources.map((r) => String((r.spec.mapping as { sha256?: string } | undefined)?.sha256 ?? '')),
    );
    const shas = deployed
      .map((d) => String((d.spec.mapping as { sha256?: string } | undefined)?.sha256 ?? ''))
      .filter((s) => s && !wanted.has(s));
    const deployedBlobs = await readBlobs(db.pool, shas);
    lap(
      `read deployed state (${deployed.length} rows, ${live.queues.length} queues, ${live.schedules.length} schedules, ${deployedBlobs.size} old mappings)`,
    );
    const plan = makePlan({
      env: target.env,
      ref: workspace.source.ref ?? null,
      commit: workspace.source.commit ?? null,
      createdBy: 'bench',
      now: new Date(),
      desired,
      deployed,
      deployedBlobs,
      live,
      branding: brandingOf(workspace),
    });
    lap(
      `makePlan (${plan.summary.create} create, ${plan.summary.update} update, ${plan.summary.delete} delete, ${plan.drift.length} drift)`,
    );
    renderPlanText(plan);
    lap('renderPlanText');
    if (apply) {
      const start = performance.now();
      let writesDone = start;
      const r = await applyPlan(db, plan, {
        actor: 'bench',
        url: process.env.DATABASE_URL!,
        onProgress: (done, total) => {
          if (done === total) writesDone = performance.now();
        },
      });
      const end = performance.now();
      const rssMiB = process.memoryUsage().rss / 2 ** 20;
      phases.push({
        step: `applyPlan: lock, stale check, blobs, revisions (${plan.changes.length} changes, batches of 500)`,
        ms: writesDone - start,
        rssMiB,
      });
      phases.push({
        step: `applyPlan: live pg-boss objects (${r.live.queuesCreated} queues created, ${r.live.schedulesSet} schedules set) + apply log`,
        ms: end - writesDone,
        rssMiB,
      });
      t = end;
      notes.push(
        `pg-boss: ${r.live.queuesCreated} queues created (each one a partition table of pgboss.job), ${r.live.schedulesSet} schedules set`,
      );
    }
  } finally {
    await db.close();
  }
  return { phases, notes };
}

// --- the benchmark -------------------------------------------------------------------------------------------------

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MB`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function table(head: string[], rows: string[][], leftCols = 1): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    '| ' + r.map((c, i) => (i < leftCols ? (c ?? '').padEnd(w[i]) : (c ?? '').padStart(w[i]))).join(' | ') + ' |';
  return [
    line(head),
    '|' + w.map((n, i) => (i < leftCols ? ':' + '-'.repeat(n + 1) : '-'.repeat(n + 1) + ':')).join('|') + '|',
    ...rows.map(line),
  ].join('\n');
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = projectRoot();
  const cli = path.join(root, 'cli', 'bin', 'run.js');
  const self = fileURLToPath(import.meta.url);
  const m = machine();
  const method = rssMethod();
  const say = (s = '') => process.stdout.write(s + '\n');

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rsync-bench-plan-apply-'));
  const ws = path.join(tmp, 'workspace');
  let db: TestDatabase | undefined;
  const extra: TestDatabase[] = [];
  try {
    const genStart = performance.now();
    const st = generateWorkspace(ws, { customers: args.customers, flowsPerCustomer: args.flows, seed: args.seed });
    const genMs = performance.now() - genStart;
    const gitStart = performance.now();
    writeFileSync(path.join(ws, '.gitignore'), '.rsync/\n.rsync-bench.json\n');
    git(ws, 'init', '--quiet');
    git(ws, 'add', '-A');
    git(ws, 'commit', '--quiet', '-m', 'generated workspace');
    const ref = envRef(ws, args.env);
    if (ref !== 'main') git(ws, 'branch', ref);
    const gitMs = performance.now() - gitStart;
    db = await testDatabase('bench_plan_apply');
    const dbUrl = db.url;
    const childEnv = (url: string): NodeJS.ProcessEnv => {
      const e: NodeJS.ProcessEnv = {
        ...process.env,
        DATABASE_URL: url,
        NO_COLOR: '1',
        RSYNC_ACTOR: 'bench',
        GIT_CONFIG_GLOBAL: os.devNull,
        GIT_CONFIG_NOSYSTEM: '1',
      };
      delete e.DEBUG;
      return e;
    };
    const rsync = (cliArgs: string[], url = dbUrl, nodeArgs: string[] = []) =>
      measure(cli, cliArgs, ws, childEnv(url), method, nodeArgs);

    say('rsync plan/apply benchmark');
    say(`machine:   ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(1)} GiB RAM, ${m.os}, node ${m.node}`);
    say(`workspace: ${ws}`);
    say(
      `           generated in ${secs(genMs)} (seed ${args.seed}) and committed in ${secs(gitMs)}: ${int(st.customers)} customers, ${int(st.flows)} flows ` +
        `(${int(st.localFlows)} Flow files + ${int(st.templateFlows)} from templates), ${int(st.connections)} connections, ${st.templates} templates; ${int(st.files)} files, ${(st.bytes / 2 ** 20).toFixed(1)} MB`,
    );
    say(
      `env:       ${args.env} (Git ref ${ref}); database: ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'the embedded server of test/helpers/db.ts'}, a fresh database (${db.name})`,
    );
    say(`command:   node cli/bin/run.js <step> --env ${args.env} …   (cwd the workspace, a fresh process per step)`);
    say(
      `peak RSS:  ${method === 'gnu-time' ? '/usr/bin/time -v, "Maximum resident set size"' : 'polling /proc/<pid>/status VmHWM every 5 ms'}`,
    );
    const busy = () => os.loadavg()[0] > m.cores * 0.5;
    if (args.waitIdle && busy()) {
      const until = Date.now() + args.waitIdle * 1000;
      process.stderr.write(
        `bench: waiting up to ${args.waitIdle} s for the load average (${os.loadavg()[0].toFixed(2)}) to drop below ${m.cores * 0.5}…\n`,
      );
      while (busy() && Date.now() < until) await new Promise((r) => setTimeout(r, 2000));
    }
    say(
      `load:      1/5/15-minute load average before the steps: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(
          ' / ',
        )}${busy() ? `  WARNING: the machine is busy (> ${m.cores * 0.5} on ${m.cores} cores); wall times are inflated` : ''}`,
    );
    say();

    const results: { step: StepName; command: string; r: Measured; note: string }[] = [];
    const plan = ['plan', '--env', args.env, '--detailed-exitcode'];
    const summaryOf = (out: string) => {
      const s = /Plan: (\d+) to create, (\d+) to update, (\d+) to delete, (\d+) unchanged/.exec(out);
      return s
        ? { create: Number(s[1]), update: Number(s[2]), delete: Number(s[3]), unchanged: Number(s[4]) }
        : undefined;
    };
    const check = (step: string, r: Measured, code: number) => {
      if (r.exitCode !== code)
        fail(
          `${step}: exit ${r.exitCode ?? 'by a signal'}, expected ${code}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1500)}`,
        );
    };

    // 1. The first plan: everything is a create.
    const p1 = await rsync(plan);
    check('first plan', p1, 2);
    const s1 = summaryOf(p1.stdout);
    if (!s1 || s1.update + s1.delete + s1.unchanged !== 0)
      fail(`first plan: expected only creates:\n${p1.stdout.slice(-1500)}`);
    results.push({ step: 'first plan', command: plan.join(' '), r: p1, note: `${int(s1.create)} to create` });

    // 2. The first apply (plans again, then applies).
    const applyArgs = ['apply', '--env', args.env, '--auto-approve', '--json'];
    const a1 = await rsync(applyArgs);
    check('first apply', a1, 0);
    const applied = JSON.parse(a1.stdout) as {
      applied: { create: number };
      live: { queuesCreated: number; schedulesSet: number };
    };
    if (applied.applied.create !== s1.create)
      fail(`first apply created ${applied.applied.create}, the plan had ${s1.create}`);
    results.push({
      step: 'first apply',
      command: applyArgs.join(' '),
      r: a1,
      note: `${int(applied.applied.create)} created; ${int(applied.live.queuesCreated)} pg-boss queues, ${int(applied.live.schedulesSet)} schedules`,
    });

    // 3. Plan again: no changes.
    const p2 = await rsync(plan);
    check('no-change plan', p2, 0);
    if (!p2.stdout.includes('No changes.')) fail(`no-change plan:\n${p2.stdout.slice(-1500)}`);
    results.push({ step: 'no-change plan', command: plan.join(' '), r: p2, note: `${int(s1.create)} unchanged` });

    // 4. One commit changes the mapping of the most used template.
    const change = pickTemplateChange(ws);
    const file = path.join(ws, change.file);
    writeFileSync(
      file,
      `/* changed by the plan/apply benchmark: every flow that reads this mapping is updated */\n${readFileSync(file, 'utf8')}`,
    );
    git(ws, 'commit', '--quiet', '-am', `bench: change ${change.file}`);
    if (ref !== 'main') git(ws, 'branch', '-f', ref, 'main');
    const p3 = await rsync(plan);
    check('template change', p3, 2);
    const s3 = summaryOf(p3.stdout);
    const want = change.customers * change.perCustomer;
    const radius = new RegExp(
      `template ${change.template.replace(/[.@]/g, '\\$&')} → (\\d+) customers? \\((\\d+) flows?\\)`,
    ).exec(p3.stdout);
    if (!s3 || s3.create + s3.delete !== 0 || s3.update !== want || !radius || Number(radius[1]) !== change.customers) {
      fail(
        `template change: expected ${want} updates (${change.customers} customers × ${change.perCustomer}) through ${change.template}:\n${p3.stdout.slice(-1500)}`,
      );
    }
    results.push({
      step: 'template change',
      command: plan.join(' '),
      r: p3,
      note: `${change.template} (${change.file.split('/').pop()}): ${int(s3.update)} updates in ${int(change.customers)} customers`,
    });

    const missed = (x: (typeof results)[number]) => x.r.wallMs >= TARGETS[x.step];
    say(
      table(
        ['step', 'wall', 'CPU (user+sys)', 'peak RSS', 'target', 'status', 'what'],
        results.map((x) => [
          x.step,
          secs(x.r.wallMs),
          x.r.cpuMs === undefined ? '' : secs(x.r.cpuMs),
          mib(x.r.maxRssKiB),
          `< ${secs(TARGETS[x.step])}`,
          missed(x) ? 'MISSED' : 'met',
          x.note,
        ]),
        1,
      ),
    );
    say(
      `MB = 2^20 bytes. One run per step. Load average after the steps: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' / ')}.`,
    );
    say(`Commands: ${[...new Set(results.map((x) => `rsync ${x.command}`))].join('; ')}.`);
    say();

    // Profiles of the steps that missed (or all, with --profile), each in the state it was measured in.
    const toProfile = results.filter((x) => (args.profile === undefined ? missed(x) : args.profile));
    const profile = async (label: string, scriptArgs: string[], url: string, script = cli) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-bench-prof-'));
      const r = await measure(script, scriptArgs, ws, childEnv(url), method, ['--cpu-prof', '--cpu-prof-dir', dir]);
      const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
      if (!f) fail(`${label}: no .cpuprofile in ${dir} (exit ${r.exitCode})\n${r.stderr.slice(-2000)}`);
      say(
        `CPU profile of ${label} (node --cpu-prof; ${secs(r.wallMs)} wall under the profiler, exit ${r.exitCode}): ${path.join(dir, f)}`,
      );
      say(`(re-summarise with: node .build/test/bench/cpuprofile.js ${path.join(dir, f)} 40)`);
      say(formatSummary(summarise(path.join(dir, f), root, 20)));
      say();
      return r;
    };
    const phasesTable = (title: string, out: Measured) => {
      if (out.exitCode !== 0) fail(`${title} failed (exit ${out.exitCode}):\n${out.stderr.slice(-3000)}`);
      const res = JSON.parse(out.stdout) as PhasesResult;
      const total = res.phases.reduce((n, p) => n + p.ms, 0);
      say(title);
      say(
        table(
          ['step', 'wall', 'share', 'RSS after'],
          res.phases.map((p) => [
            p.step,
            `${int(p.ms)} ms`,
            `${((p.ms / total) * 100).toFixed(0)}%`,
            `${p.rssMiB.toFixed(0)} MB`,
          ]),
        ),
      );
      for (const n of res.notes) say(n);
      say();
    };

    // Plans in the state of step 4 (the template change, not applied) can be profiled as they are; the no-change
    // plan needs the state of step 3 back, so it is profiled first after reverting the commit.
    const planSteps = toProfile.filter((x) => x.step !== 'first apply').map((x) => x.step);
    if (planSteps.includes('template change')) {
      await profile('the template-change plan', plan, dbUrl);
      const ph = await measure(self, ['--plan-phases', ws, args.env], ws, childEnv(dbUrl), method);
      phasesTable(
        'In-process breakdown of the template-change plan (planEnvironment step by step; this file --plan-phases):',
        ph,
      );
    }
    if (planSteps.includes('no-change plan')) {
      git(ws, 'revert', '--no-edit', 'HEAD');
      if (ref !== 'main') git(ws, 'branch', '-f', ref, 'main');
      await profile('the no-change plan', plan, dbUrl);
    }
    if (planSteps.includes('first plan')) {
      const fresh = await testDatabase('bench_plan_apply_p');
      extra.push(fresh);
      await profile('the first plan (on another fresh database)', plan, fresh.url);
    }
    if (toProfile.some((x) => x.step === 'first apply')) {
      const fresh = await testDatabase('bench_plan_apply_a');
      extra.push(fresh);
      const r = await profile(
        'the first apply, in-process (this file --apply-phases, on another fresh database)',
        ['--apply-phases', ws, args.env],
        fresh.url,
        self,
      );
      phasesTable("In-process breakdown of the first apply (planEnvironment's steps, then applyPlan):", r);
    }
  } finally {
    for (const d of extra) await d.drop().catch(() => {});
    await db?.drop().catch(() => {});
    if (args.keep) process.stderr.write(`bench: kept ${tmp}\n`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const mode = process.argv[2];
  if (mode === '--plan-phases' || mode === '--apply-phases') {
    const [ws, env] = process.argv.slice(3);
    planPhases(ws, env, mode === '--apply-phases').then(
      (r) => process.stdout.write(JSON.stringify(r) + '\n'),
      (e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)),
    );
  } else {
    main().catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));
  }
}
