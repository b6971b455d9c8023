/**
 * Golden JSON of the machine output: `rsync validate --json`, `rsync test --json` and `rsync plan --json`, run with
 * the built CLI on a copy of the example workspace committed to a temp Git repository (plan on a fresh database),
 * compared with test/golden/<command>.json once the volatile fields are placeholders: the workspace's absolute path
 * `<workspace>`, the commit id `<commit>`, ISO timestamps `<timestamp>`.
 *
 * A difference fails with a diff. When it is intended, rewrite the files and review them in the commit:
 *   RSYNC_UPDATE_GOLDEN=1 DATABASE_URL=… npx vitest run --config test/vitest.config.ts test/cli/golden.test.ts
 */
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProblem, exampleRepo, git, ROOT, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const GOLDEN = path.join(ROOT, 'test', 'golden');
const UPDATE = process.env.RSYNC_UPDATE_GOLDEN === '1';
const ACTOR = 'ci-bot <ci@acme.example>';
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The output with what differs from run to run replaced by placeholders. */
function normalise(value: unknown, volatile: [string, string][]): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v, volatile));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v, volatile)]));
  if (typeof value !== 'string') return value;
  if (ISO_TIME.test(value)) return '<timestamp>';
  return volatile.reduce((s, [from, to]) => s.split(from).join(to), value);
}

/** Compare with the golden file (or rewrite it under RSYNC_UPDATE_GOLDEN=1). */
function expectGolden(name: string, stdout: string, volatile: [string, string][]): void {
  const actual = `${JSON.stringify(normalise(JSON.parse(stdout), volatile), null, 2)}\n`;
  const file = path.join(GOLDEN, `${name}.json`);
  if (UPDATE) {
    writeFileSync(file, actual);
    return;
  }
  const how = 'if the change is intended, run the test with RSYNC_UPDATE_GOLDEN=1 and review the diff of test/golden/';
  expect(existsSync(file), `no golden file ${path.relative(ROOT, file)}: ${how}`).toBe(true);
  expect(actual, `${name} --json differs from test/golden/${name}.json: ${how}`).toBe(readFileSync(file, 'utf8'));
}

describe('golden JSON of validate, test and plan on the example workspace', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let repo: string;
  let volatile: [string, string][];
  const rsync = (...args: string[]) => runCli(args, repo, { url: db.url, actor: ACTOR, isolateGit: true });

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/validate.ts', 'cli/commands/test.ts', 'cli/commands/plan.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('golden');
    repo = exampleRepo('rsync-golden-');
    // The longest first, so that a path is not cut in two by a shorter one it contains.
    volatile = [
      [realpathSync(repo), '<workspace>'],
      [repo, '<workspace>'],
      [git(repo, 'rev-parse', 'HEAD'), '<commit>'],
    ];
  });

  afterAll(async () => {
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('rsync validate --json', async () => {
    const r = await rsync('validate', '--json');
    expect(r.status, show(r)).toBe(0);
    expectGolden('validate', r.stdout, volatile);
  });

  it('rsync test --json', async () => {
    const r = await rsync('test', '--json');
    expect(r.status, show(r)).toBe(0);
    expectGolden('test', r.stdout, volatile);
  });

  it('rsync plan --json --env staging (nothing deployed yet)', async () => {
    const r = await rsync('plan', '--json', '--env', 'staging');
    expect(r.status, show(r)).toBe(0);
    expectGolden('plan', r.stdout, volatile);
  });
});
