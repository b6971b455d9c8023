/**
 * `npm run bench`: the validate benchmark of issue "1,000 customers × 10 flows; under 3 s and 500 MB on 2 cores".
 *
 *   node .build/test/bench/run.js [--customers 1000] [--flows 10] [--seed 1] [--runs 3] [--dir <folder>]
 *                                 [--regenerate] [--profile | --no-profile] [--no-breakdown] [--wait-idle <seconds>]
 *
 * --wait-idle waits (up to that long) until other work uses < 15% of the CPUs (from /proc/stat) before measuring.
 *
 * 1. Generates the workspace into <tmp>/rsync-bench/validate-c<customers>-f<flows>-s<seed>/, or reuses it when the
 *    generator (version and code hash) and options match what is recorded there.
 * 2. Runs `node cli/bin/run.js validate <dir> --json` --runs times, each in a fresh process, and prints wall time
 *    and peak RSS per run with min and median, against the targets (MISSED when the median misses one). Run 1 starts
 *    without the workspace's content cache (.rsync/cache/content.json) and writes it; later runs read it.
 * 3. Runs the same command on a 1-customer workspace: the fixed cost (node and oclif start-up, imports, Ajv).
 * 4. Prints an in-process breakdown in a fresh process: the engine functions cold in the CLI's order (FolderSource.files,
 *    loadFromSource, Ajv, validateWorkspace), then their parts called alone (parseYamlFile, instantiateTemplates,
 *    schema checks, findLiteralSecrets, JSONata compiles, checkCron), in wall and CPU time, with heap and RSS.
 * 5. When a target is missed (or with --profile), runs the CLI once more under --cpu-prof and summarises the profile
 *    (cpuprofile.ts).
 *
 * The workspace's files are in the page cache (it was just generated or read): figures are for a warm cache.
 *
 * Exit code: 0 when the benchmark ran (targets met or not), 1 when it could not run or the generated workspace
 * does not validate cleanly (the figures would not be of the intended workload).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureWorkspace, META_FILE } from './generate.js';
import { formatSummary, summarise } from './cpuprofile.js';
import {
  breakdownInChild,
  machine,
  measureCli,
  projectRoot,
  rssMethod,
  type Breakdown,
  type CliRun,
} from './validate.bench.js';

const TARGET_MS = 3000;
const TARGET_MIB = 500;

interface Args {
  customers: number;
  flows: number;
  seed: number;
  runs: number;
  dir?: string;
  regenerate: boolean;
  profile?: boolean;
  breakdown: boolean;
  /** Wait (up to this many seconds) for other work to use < 15% of the CPUs before measuring. */
  waitIdle: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { customers: 1000, flows: 10, seed: 1, runs: 3, regenerate: false, breakdown: true, waitIdle: 0 };
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
    else if (k === '--runs') a.runs = num();
    else if (k === '--dir') a.dir = path.resolve(argv[++i]);
    else if (k === '--regenerate') a.regenerate = true;
    else if (k === '--profile') a.profile = true;
    else if (k === '--no-profile') a.profile = false;
    else if (k === '--no-breakdown') a.breakdown = false;
    else if (k === '--wait-idle') a.waitIdle = num();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MB`;

/** A plain-text table with aligned columns (first column left, the rest right). */
function table(head: string[], rows: string[][], leftCols = 1): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    '| ' + r.map((c, i) => (i < leftCols ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  return [
    line(head),
    '|' + w.map((n, i) => (i < leftCols ? ':' + '-'.repeat(n + 1) : '-'.repeat(n + 1) + ':')).join('|') + '|',
    ...rows.map(line),
  ].join('\n');
}

/** The share of CPU time the whole machine spent busy over the next `ms` (from /proc/stat), or undefined off Linux. */
async function cpuBusy(ms: number): Promise<number | undefined> {
  const read = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const idle = f[3] + (f[4] ?? 0);
      return { idle, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (!a || !b || b.total === a.total) return undefined;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}
const pct = (f: number | undefined) => (f === undefined ? 'n/a' : `${(f * 100).toFixed(0)}%`);

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = projectRoot();
  const m = machine();
  const method = rssMethod();

  const dir =
    args.dir ?? path.join(os.tmpdir(), 'rsync-bench', `validate-c${args.customers}-f${args.flows}-s${args.seed}`);
  mkdirSync(path.dirname(dir), { recursive: true });
  const genStart = performance.now();
  // Without the marker, ensureWorkspace regenerates.
  if (args.regenerate) rmSync(path.join(dir, META_FILE), { force: true });
  const { reused, meta } = ensureWorkspace(dir, {
    customers: args.customers,
    flowsPerCustomer: args.flows,
    seed: args.seed,
  });
  const genMs = performance.now() - genStart;
  const st = meta.stats;

  const say = (s = '') => process.stdout.write(s + '\n');
  say('rsync validate benchmark');
  say(`machine:   ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(1)} GiB RAM, ${m.os}, node ${m.node}`);
  say(`workspace: ${dir}`);
  say(
    `           ${reused ? 'reused' : `generated in ${secs(genMs)}`} (generator ${meta.generator}, seed ${args.seed}); ` +
      `${int(st.customers)} customers, ${int(st.flows)} flows (${int(st.localFlows)} Flow files + ${int(st.templateFlows)} from templates), ` +
      `${int(st.connections)} connections, ${st.templates} templates`,
  );
  say(
    `           ${int(st.files)} files (${int(st.yamlFiles)} YAML, ${int(st.jsonataFiles)} JSONata), ${(st.bytes / 2 ** 20).toFixed(1)} MB; files are in the page cache (warm)`,
  );
  say(`command:   node cli/bin/run.js validate <workspace> --json   (cwd ${root}, a fresh process per run)`);
  // Other work on the machine inflates wall times: say how busy it was, and optionally wait for it to calm down.
  const busyBefore = await cpuBusy(3000);
  const busy = (f: number | undefined) => (f !== undefined ? f > 0.15 : os.loadavg()[0] > m.cores * 0.5);
  let waited = 0;
  if (args.waitIdle && busy(busyBefore)) {
    const until = Date.now() + args.waitIdle * 1000;
    process.stderr.write(
      `bench: waiting up to ${args.waitIdle} s for the CPUs to be < 15% busy (now ${pct(busyBefore)})…\n`,
    );
    const t0 = Date.now();
    let f = busyBefore;
    while (busy(f) && Date.now() < until) f = await cpuBusy(5000);
    waited = (Date.now() - t0) / 1000;
  }
  const busyNow = await cpuBusy(2000);
  const loadBefore = os.loadavg();
  say(
    `load:      CPUs ${pct(busyNow)} busy with other work just before the runs${waited ? ` (after waiting ${waited.toFixed(0)} s)` : ''}; ` +
      `load average ${loadBefore.map((x) => x.toFixed(2)).join(' / ')}` +
      (busy(busyNow) ? `  WARNING: the machine is busy; wall times are inflated` : ''),
  );
  say(
    `peak RSS:  ${method === 'gnu-time' ? '/usr/bin/time -v, "Maximum resident set size" (ru_maxrss of the node process)' : 'polling /proc/<pid>/status VmHWM every 5 ms (GNU time not available)'}`,
  );
  say();

  // The CLI runs. The first starts without the workspace's content cache (engine/load/content-cache.ts), as after an
  // upgrade or in a fresh clone, and writes it; the later runs read it, as a developer's or a cached CI's runs do.
  rmSync(path.join(dir, '.rsync', 'cache', 'content.json'), { force: true });
  const runs: CliRun[] = [];
  for (let i = 0; i < args.runs; i++) {
    const r = await measureCli(root, dir, method);
    if (r.exitCode !== 0 && r.exitCode !== 1)
      fail(`run ${i + 1}: validate exited with ${r.exitCode ?? 'a signal'}\n${r.stderr.slice(-2000)}`);
    if (!r.result?.summary) fail(`run ${i + 1}: no JSON result on stdout\n${r.stderr.slice(-2000)}`);
    runs.push(r);
  }
  const res = runs[0].result!;
  const errors = res.summary.errors ?? 0;
  const warnings = res.summary.warnings ?? 0;
  say(
    `result:    ${res.valid ? 'valid' : 'INVALID'}: ${errors} errors, ${warnings} warnings; ${int(res.summary.customers)} customers, ${int(res.summary.flows)} flows, ${int(res.summary.files)} files loaded`,
  );
  say();

  const wall = runs.map((r) => r.wallMs);
  const rss = runs.map((r) => r.maxRssKiB);
  const cpu = runs.map((r) => ((r.userS ?? NaN) + (r.sysS ?? NaN)) * 1000);
  const status = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const wallOk = median(wall) < TARGET_MS;
  const rssOk = median(rss) / 1024 < TARGET_MIB;
  const head = ['metric', ...runs.map((_, i) => `run ${i + 1}`), 'min', 'median', 'target', 'status'];
  const rows = [
    [
      'wall time (spawn → exit)',
      ...wall.map(secs),
      secs(Math.min(...wall)),
      secs(median(wall)),
      `< ${secs(TARGET_MS)}`,
      status(wallOk),
    ],
    ['peak RSS', ...rss.map(mib), mib(Math.min(...rss)), mib(median(rss)), `< ${TARGET_MIB} MB`, status(rssOk)],
  ];
  if (cpu.every((c) => Number.isFinite(c))) {
    rows.push(['CPU time (user + sys)', ...cpu.map(secs), secs(Math.min(...cpu)), secs(median(cpu)), '', '']);
  }
  say(table(head, rows));
  const busyAfter = await cpuBusy(2000);
  const busyDuring = busy(busyNow) || busy(busyAfter);
  say(
    'Run 1 has no content cache (.rsync/cache/content.json: parsed YAML and JSONata facts by text hash) and writes it: the cold figure. Later runs read it.',
  );
  say(
    `MB = 2^20 bytes. Status is judged on the median. After the runs: CPUs ${pct(busyAfter)} busy with other work, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}.`,
  );
  if (busyDuring) {
    say(
      'The machine was busy: wall times are inflated by other processes; CPU time (user + sys) is the figure to trust.',
    );
    say(
      'On an idle machine the wall time would be about the CPU time (validate runs on one thread; GC helper threads add a little CPU in parallel).',
    );
  }
  say();

  // The fixed cost: the same command on a 1-customer workspace (node and oclif start-up, imports, Ajv, output).
  const tinyDir = path.join(path.dirname(dir), `validate-c1-f${args.flows}-s${args.seed}`);
  ensureWorkspace(tinyDir, { customers: 1, flowsPerCustomer: args.flows, seed: args.seed });
  const tiny: CliRun[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await measureCli(root, tinyDir, method);
    if (r.exitCode !== 0)
      fail(`the 1-customer workspace did not validate (exit ${r.exitCode}): ${r.stderr.slice(-1000)}`);
    tiny.push(r);
  }
  say(
    `fixed cost: the same command on a 1-customer workspace (${tinyDir}), median of 3: ` +
      `${secs(median(tiny.map((r) => r.wallMs)))} wall, ${secs(median(tiny.map((r) => ((r.userS ?? NaN) + (r.sysS ?? NaN)) * 1000)))} CPU, ${mib(median(tiny.map((r) => r.maxRssKiB)))} peak RSS`,
  );
  say();

  // The breakdown.
  let b: Breakdown | undefined;
  if (args.breakdown) {
    try {
      b = breakdownInChild(root, dir);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
    say(
      'in-process breakdown (node --expose-gc .build/test/bench/validate.bench.js --breakdown <workspace>, a fresh process):',
    );
    say(
      '"cold" = the engine functions in the CLI\'s order, first call; "alone" = each part called by itself over the whole workspace afterwards.',
    );
    say(
      'Without the content cache (loadFromSource with none): every file parsed, every mapping compiled, as in run 1.',
    );
    const total = b.steps.find((s) => s.step === 'in-process total')!.cold!;
    const n = (t: { ms: number; cpuMs: number } | undefined, k: 'ms' | 'cpuMs') => (t ? int(t[k]) : '');
    say(
      table(
        ['step', 'engine function(s)', 'cold wall ms', 'cold CPU ms', 'alone wall ms', 'alone CPU ms', 'share (CPU)'],
        b.steps.map((s) => {
          const t = s.cold ?? s.alone;
          const share =
            t && s.step !== 'node start → benchmark script' && s.step !== 'in-process total'
              ? `${((t.cpuMs / total.cpuMs) * 100).toFixed(0)}%`
              : '';
          return [
            (s.part ? '  ' : '') + s.step + (s.derived ? ' *' : ''),
            s.how,
            n(s.cold, 'ms'),
            n(s.cold, 'cpuMs'),
            n(s.alone, 'ms'),
            n(s.alone, 'cpuMs'),
            share,
          ];
        }),
        2,
      ),
    );
    say(
      'Indented rows are the parts of the row below them; * = derived (cold total − the parts measured alone), so it includes JIT and GC warm-up.',
    );
    say(
      'CPU time counts every thread of the process (GC helpers, the libuv pool), so it can exceed wall time; compare CPU on a busy machine.',
    );
    say();
    say(
      table(
        ['memory (after a forced GC)', 'heap used', 'RSS'],
        b.memory.map((x) => [x.at, `${x.heapMiB.toFixed(0)} MB`, `${x.rssMiB.toFixed(0)} MB`]),
      ),
    );
    say(
      `checks: ${b.counts.schemaFailures} schema failures, ${b.counts.jsonataFailures} JSONata failures, ${b.counts.secretFindings} secret findings; ` +
        `validateWorkspace: ${b.diagnostics.errors} errors, ${b.diagnostics.warnings} warnings; ` +
        `${int(b.counts.distinctJsonataTexts)} distinct texts among the ${int(b.counts.jsonataFiles)} .jsonata files`,
    );
    say();
  }

  // The profile.
  const missed = !wallOk || !rssOk;
  if (args.profile ?? missed) {
    const profDir = mkdtempSync(path.join(os.tmpdir(), 'rsync-bench-prof-'));
    const r = await measureCli(root, dir, method, ['--cpu-prof', '--cpu-prof-dir', profDir]);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (r.exitCode !== 0 && r.exitCode !== 1) fail(`profiled run exited with ${r.exitCode}`);
    if (!file) fail(`no .cpuprofile written in ${profDir}`);
    const full = path.join(profDir, file);
    say(
      `${missed ? 'A target was missed, so: ' : ''}CPU profile of one CLI run (node --cpu-prof; ${secs(r.wallMs)} wall under the profiler): ${full}`,
    );
    say(`(re-summarise with: node .build/test/bench/cpuprofile.js ${full} 40)`);
    say(formatSummary(summarise(full, root, 25)));
    say();
  }

  if (errors > 0) {
    say('The generated workspace does not validate cleanly; first diagnostics:');
    for (const d of res.diagnostics.slice(0, 10)) say(`  ${JSON.stringify(d)}`);
    process.exit(1);
  }
}

main().catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));

// --- The plan/apply benchmark (test/bench/plan-apply.bench.ts), registered here by its author; the validate benchmark
// above is unchanged. `npm run bench` runs it after the validate benchmark has finished, in a process of its own, with
// the same --customers, --flows, --seed, --wait-idle and --profile / --no-profile; RSYNC_BENCH=validate skips it.
// Alone, with all of its options:
//   node .build/test/bench/plan-apply.bench.js [--customers 1000] [--flows 10] [--env production] [--keep] …
process.once('beforeExit', async () => {
  if (process.env.RSYNC_BENCH === 'validate') return;
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const argv = process.argv.slice(2);
  const forwarded: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (['--customers', '--flows', '--seed', '--wait-idle'].includes(argv[i])) forwarded.push(argv[i], argv[++i]);
    else if (argv[i] === '--profile' || argv[i] === '--no-profile') forwarded.push(argv[i]);
  }
  process.stdout.write('\n');
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(new URL('./plan-apply.bench.js', import.meta.url)), ...forwarded],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) process.exitCode = r.status ?? 1;
  // Then the runtime benchmark (test/bench/runtime.bench.ts), with its own defaults; RSYNC_BENCH=plan stops before it.
  if (process.env.RSYNC_BENCH === 'plan') return;
  process.stdout.write('\n');
  const rt = spawnSync(process.execPath, [fileURLToPath(new URL('./runtime.bench.js', import.meta.url))], {
    stdio: 'inherit',
  });
  if (rt.status !== 0) process.exitCode = rt.status ?? 1;
  // Then the impact-plan benchmark (test/bench/impact.bench.ts, issue 19); RSYNC_BENCH=runtime stops before it.
  if (process.env.RSYNC_BENCH === 'runtime') return;
  process.stdout.write('\n');
  const im = spawnSync(process.execPath, [fileURLToPath(new URL('./impact.bench.js', import.meta.url))], {
    stdio: 'inherit',
  });
  if (im.status !== 0) process.exitCode = im.status ?? 1;
});
