/**
 * `npm run fuzz`: the fuzzer of issue 15 at scale, tens of thousands of seeded mutations of the example workspace
 * (test/fuzz/mutate.ts), each validated in process and held to the promise of test/fuzz/harness.ts: no exit outside
 * the README's table, no internal error, no stack trace, no diagnostic without a file and line, no validation over
 * 5 s, no case growing the heap by more than 200 MB.
 *
 *   node .build/test/bench/fuzz.bench.js [--cases 20000] [--from 1] [--full-every 10] [--out <folder>]
 *
 * The cases run in a worker thread with a heap limit, watched from here: a case that exhausts the worker's memory or
 * goes quiet for a minute is a failure of that seed, and a new worker carries on after it. Every --full-every'th case
 * also validates filling and reading a content cache and with CRLF or CR line breaks (harness.ts); the others once.
 *
 * Each failing case is written to <out>/seed-<n>/ (default <tmp>/rsync-fuzz/): its changed files at their workspace
 * paths (an overlay on the example workspace, as test/fixtures/broken/ cases are on their baseline), steps.txt (the
 * mutations) and problems.txt; turn it into a broken-workspace fixture with the expected diagnostic inline.
 *
 * Exit code: 0 when no case failed, 1 otherwise.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs as nodeParseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { FolderSource } from '../../engine/load/source.js';
import { runCase } from '../fuzz/harness.js';
import { mutateWorkspace } from '../fuzz/mutate.js';
import { ROOT } from '../helpers/cli.js';

const ENVS = ['staging', 'production'];
const WORKER = {
  /** The worker's heap: room for the workspace and one case past the 200 MB a case may grow it by. */
  heapMb: 768,
  /** A worker that reports nothing for this long is stuck on its case. */
  quietMs: 60_000,
} as const;

/** What a worker runs: the seeds from `from` up to (not including) `to`. */
interface Job {
  /** The example workspace. */
  root: string;
  from: number;
  to: number;
  /** Every fullEvery'th seed also gets the cache and line-ending checks. */
  fullEvery: number;
}

type Message =
  | { type: 'start'; seed: number }
  | {
      type: 'done';
      seed: number;
      problems: string[];
      disagreements: string[];
      validationMs: number;
      ms: number;
      heapMiB: number;
      exitCode: number;
      diagnostics: number;
    };

async function work(job: Job): Promise<void> {
  const base = await new FolderSource(job.root).files();
  for (let seed = job.from; seed < job.to; seed++) {
    parentPort!.postMessage({ type: 'start', seed } satisfies Message);
    const c = mutateWorkspace(base, seed, ENVS);
    const full = seed % job.fullEvery === 0;
    const r = await runCase(job.root, c, { cache: full, twin: full });
    parentPort!.postMessage({
      type: 'done',
      seed,
      problems: r.problems,
      disagreements: r.disagreements,
      validationMs: r.validationMs,
      ms: r.ms,
      heapMiB: r.heapMiB,
      exitCode: r.exitCode,
      diagnostics: r.diagnostics.length,
    } satisfies Message);
  }
}

interface Args {
  cases: number;
  from: number;
  fullEvery: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const { values } = parseArgs_(argv, {
    cases: { type: 'string', default: '20000' },
    from: { type: 'string', default: '1' },
    'full-every': { type: 'string', default: '10' },
    out: { type: 'string', default: path.join(os.tmpdir(), 'rsync-fuzz') },
  });
  const positive = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer`);
    return n;
  };
  return {
    cases: positive('cases', values.cases),
    from: positive('from', values.from),
    fullEvery: positive('full-every', values['full-every']),
    out: path.resolve(values.out),
  };
}

/** node:util's parseArgs, strict (an unknown flag is an error), with the options' types kept. */
function parseArgs_<O extends Record<string, { type: 'string'; default: string }>>(
  args: string[],
  options: O,
): { values: { [K in keyof O]: string } } {
  return nodeParseArgs({ args, options, strict: true }) as unknown as { values: { [K in keyof O]: string } };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = ROOT;
  const to = args.from + args.cases;
  const say = (s = '') => process.stdout.write(`${s}\n`);
  say('rsync fuzz benchmark (issue 15)');
  say(
    `workspace: ${root} (rsync.yaml, integrations/, templates/), ${args.cases.toLocaleString('en-US')} cases, seeds ${args.from}–${to - 1}`,
  );
  say(
    `checks:    every case validated once; every ${args.fullEvery}th also with a content cache (fill, read) and CRLF/CR twins`,
  );
  say(`worker:    one thread, heap limit ${WORKER.heapMb} MB, a case quiet for ${WORKER.quietMs / 1000} s fails`);

  const failures = new Map<number, string[]>();
  const disagreements = new Map<number, string[]>();
  const exits = new Map<number, number>();
  const validationMs: number[] = [];
  let maxHeap = 0;
  let maxHeapSeed = 0;
  let maxMsSeed = 0;
  let diagnostics = 0;
  let done = 0;
  const t0 = performance.now();

  let next = args.from;
  while (next < to) {
    const current = await new Promise<number>((resolve) => {
      const worker = new Worker(new URL(import.meta.url), {
        workerData: { root, from: next, to, fullEvery: args.fullEvery } satisfies Job,
        resourceLimits: { maxOldGenerationSizeMb: WORKER.heapMb },
      });
      let running = next;
      let heard = Date.now();
      let settled = false;
      const finish = (seed: number) => {
        if (settled) return;
        settled = true;
        clearInterval(watch);
        resolve(seed);
      };
      const watch = setInterval(() => {
        if (Date.now() - heard < WORKER.quietMs) return;
        failures.set(running, [`no answer for ${WORKER.quietMs / 1000} s: the case was stopped`]);
        void worker.terminate();
        finish(running + 1);
      }, 1000);
      worker.on('message', (m: Message) => {
        heard = Date.now();
        if (m.type === 'start') {
          running = m.seed;
          return;
        }
        done++;
        exits.set(m.exitCode, (exits.get(m.exitCode) ?? 0) + 1);
        validationMs.push(m.validationMs);
        diagnostics += m.diagnostics;
        if (m.validationMs >= Math.max(...validationMs.slice(0, -1), 0)) maxMsSeed = m.seed;
        if (m.heapMiB > maxHeap) {
          maxHeap = m.heapMiB;
          maxHeapSeed = m.seed;
        }
        if (m.problems.length) failures.set(m.seed, m.problems);
        if (m.disagreements.length) disagreements.set(m.seed, m.disagreements);
        if (done % 1000 === 0)
          process.stderr.write(
            `fuzz: ${done} cases, ${failures.size} failed, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
          );
        if (m.seed === to - 1) finish(to);
      });
      worker.on('error', (e) => {
        failures.set(running, [`the worker died: ${e.message.split('\n')[0]}`]);
        finish(running + 1);
      });
      worker.on('exit', () => finish(running + 1));
    });
    next = current;
  }

  const secs = (performance.now() - t0) / 1000;
  say();
  say(`| metric | value |`);
  say(`|:--|--:|`);
  say(
    `| cases run | ${done.toLocaleString('en-US')} in ${secs.toFixed(0)} s (${((secs * 1000) / Math.max(done, 1)).toFixed(1)} ms a case) |`,
  );
  say(`| failed cases | ${failures.size} |`);
  say(
    `| exit codes \`rsync validate\` would give | ${[...exits]
      .sort((a, b) => a[0] - b[0])
      .map(([c, n]) => `${c}: ${n.toLocaleString('en-US')}`)
      .join(', ')} |`,
  );
  const count = (re: RegExp) => [...failures.values()].filter((ps) => ps.some((p) => re.test(p))).length;
  say(`| exits outside the table / internal errors | ${count(/^exit \d+/)} |`);
  say(`| stack traces or raw errors in a diagnostic | ${count(/stack trace|raw error/)} |`);
  say(`| diagnostics without a file or line | ${count(/no file|not a file|not 1-based|past the file/)} |`);
  say(`| diagnostics reported | ${diagnostics.toLocaleString('en-US')} |`);
  say(
    `| validation time: median / p99 / max | ${quantile(validationMs, 0.5).toFixed(0)} / ${quantile(validationMs, 0.99).toFixed(0)} / ${Math.max(...validationMs, 0).toFixed(0)} ms (max: seed ${maxMsSeed}) |`,
  );
  say(`| heap growth per case: max | ${maxHeap.toFixed(0)} MB (seed ${maxHeapSeed}) |`);
  say(`| parser disagreements (also failures) | ${disagreements.size} cases |`);
  say();
  for (const [seed, ds] of [...disagreements].slice(0, 5)) say(`disagreement, seed ${seed}: ${ds[0].slice(0, 300)}`);

  if (failures.size) {
    const base = await new FolderSource(root).files();
    rmSync(args.out, { recursive: true, force: true });
    for (const [seed, problems] of failures) {
      const c = mutateWorkspace(base, seed, ENVS);
      const dir = path.join(args.out, `seed-${seed}`);
      for (const f of c.changed) {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        writeFileSync(path.join(dir, f), c.files.get(f)!);
      }
      writeFileSync(path.join(dir, 'steps.txt'), `${c.steps.join('\n')}\n${c.env ? `env: ${c.env}\n` : ''}`);
      writeFileSync(path.join(dir, 'problems.txt'), `${problems.join('\n')}\n`);
    }
    say(`failed cases, written to ${args.out}/seed-<n>/:`);
    for (const [seed, problems] of [...failures].slice(0, 20)) say(`  seed ${seed}: ${problems[0].slice(0, 300)}`);
    process.exitCode = 1;
  }
}

if (isMainThread) {
  main().catch((e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
} else {
  work(workerData as Job).catch((e: unknown) => {
    // A case that throws is reported by runCase; this is the harness itself failing.
    process.stderr.write(`fuzz worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
