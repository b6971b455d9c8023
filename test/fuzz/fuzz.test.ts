/**
 * The fuzzer's share of `npm test` (issue 15): a few hundred seeded mutations of the example workspace (the project
 * root's rsync.yaml, integrations/ and templates/), each validated in process and held to the promise that a bad
 * file gets a located diagnostic, never an exception, a stack trace or an unbounded cost (test/fuzz/harness.ts lists
 * every check). The seeds are fixed, so a failure names its seed and replays with
 * `node .build/test/bench/fuzz.bench.js --from <seed> --cases 1` (which also writes it out as a workspace).
 *
 * Every third case also validates with a content cache (filling it, then reading it) and with its changed files'
 * line breaks made CRLF or CR; the others validate once, to keep this file under a minute. The benchmark
 * (test/bench/fuzz.bench.ts, `npm run fuzz`) runs tens of thousands of cases.
 *
 * The cases issue 15 found are fixtures of test/fixtures/broken/ (yaml-alias-*, yaml-merge-key, yaml-line-endings-*,
 * yaml-character, yaml-depth, yaml-tag), each with its expected diagnostic inline.
 */
import { describe, expect, it } from 'vitest';
import { FolderSource } from '../../engine/load/source.js';
import { ROOT } from '../helpers/cli.js';
import { MAX_HEAP_MIB, MAX_MS, runCase } from './harness.js';
import { MUTATION_NAMES, mutateWorkspace } from './mutate.js';

const CASES = 300;
const FIRST_SEED = 1;
const ENVS = ['staging', 'production'];

describe('fuzzing the example workspace: every mutation gets located diagnostics', () => {
  it(`${CASES} seeded mutations: no exception, every diagnostic located, same with a cache and any line ending`, {
    timeout: 180_000,
  }, async () => {
    const base = await new FolderSource(ROOT).files();
    expect(base.size).toBeGreaterThan(20);
    const failures: string[] = [];
    const used = new Set<string>();
    const exits = new Map<number, number>();
    let maxMs = 0;
    let maxHeap = 0;
    let located = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + CASES; seed++) {
      const c = mutateWorkspace(base, seed, ENVS);
      for (const s of c.steps) used.add(s.slice(s.indexOf(': ') + 2));
      const full = seed % 3 === 0;
      const r = await runCase(ROOT, c, { cache: full, twin: full });
      exits.set(r.exitCode, (exits.get(r.exitCode) ?? 0) + 1);
      located += r.diagnostics.length;
      maxMs = Math.max(maxMs, r.validationMs);
      maxHeap = Math.max(maxHeap, r.heapMiB);
      if (r.problems.length)
        failures.push(`seed ${seed} (${c.steps.join('; ')}):\n  ${r.problems.join('\n  ').slice(0, 3000)}`);
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    // The mutator did what it is for: every kind of mutation ran, and most cases broke the workspace.
    expect([...used].sort()).toEqual([...MUTATION_NAMES].sort());
    expect(exits.get(1) ?? 0).toBeGreaterThan(CASES / 2);
    expect(located).toBeGreaterThan(CASES);
    expect(maxMs).toBeLessThan(MAX_MS);
    expect(maxHeap).toBeLessThan(MAX_HEAP_MIB);
  });
});
