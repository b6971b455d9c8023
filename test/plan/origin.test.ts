/**
 * Plans from elsewhere (issue 22): a plan saved in one workspace and applied in another applied its 35 resources to a
 * fresh database, whose empty state matched the plan's basis. A saved plan now carries its workspace's identity
 * (engine/workspace/identity.ts) and `rsync apply plan.json` refuses it, exit 75, before opening any database, in
 * another workspace: another rsync.yaml name or partner, another Git repository with the same rsync.yaml, and for a
 * workspace outside Git another folder. A clone of the same repository applies it (the CI job that planned and the
 * one that applies have different checkouts), and the stale-plan check is unchanged (test/plan/plan-apply.test.ts).
 */
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import type { Plan } from '../../engine/plan/types.js';
import { buildProblem, exampleRepo, git, runCli, show, type Run } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { ACTOR, runtimeWorkspace, SANDBOX_SYSTEMS, stockFlow } from '../helpers/runtime.js';

const rsync = (cwd: string, url: string, ...args: string[]): Promise<Run> =>
  runCli(args, cwd, { url, actor: ACTOR, isolateGit: true });

const HINT = 'Apply a plan in the workspace that made it, or make one here: `rsync plan --out plan.json`.';

function refused(r: Run, message: string, hint = HINT): void {
  expect(r.status, show(r)).toBe(ExitCode.REFUSED);
  expect(r.stderr, show(r)).toBe(`rsync: ${message}; nothing was applied.\n  ${hint}\n`);
}

describe('a saved plan applies only in the workspace that made it', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const dirs: string[] = [];
  const temp = (prefix: string) => {
    const d = mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const deployed = async () => Number((await pool.query(`SELECT count(*) AS n FROM rsync.resources`)).rows[0].n);

  let repo: string;
  let saved: string;
  let plan: Plan;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/plan.ts', 'cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('origin');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test origin' });
    repo = exampleRepo('rsync-origin-');
    dirs.push(repo);
    saved = path.join(temp('rsync-origin-plans-'), 'plan.json');
    const r = await rsync(repo, db.url, 'plan', '--env', 'staging', '--out', saved);
    expect(r.status, show(r)).toBe(0);
    plan = JSON.parse(readFileSync(saved, 'utf8')) as Plan;
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the plan says which workspace made it: its declared name and partner, and (in Git) its commit', () => {
    expect(plan.workspace).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      name: 'acme-integrations',
      partner: 'Acme Retail Integrations',
      folder: null,
    });
    expect(plan.commit).toBe(git(repo, 'rev-parse', 'HEAD'));
    expect(plan.summary.create).toBe(35);
  });

  it('another workspace (another name): refused, and the fresh database stays empty', async () => {
    const other = runtimeWorkspace('rsync-origin-other-', { connections: SANDBOX_SYSTEMS, flows: [stockFlow()] });
    dirs.push(other);
    refused(
      await rsync(other, db.url, 'apply', saved),
      'This plan was made in another workspace: "acme-integrations" (Acme Retail Integrations), and this is "runtime-test" (Acme Retail Integrations)',
    );
    expect(await deployed()).toBe(0);
  });

  it('another repository with the same rsync.yaml: refused, its commit is not there', async () => {
    const twin = exampleRepo('rsync-origin-twin-');
    dirs.push(twin);
    git(twin, 'commit', '--quiet', '--amend', '-m', 'Another repository, the same files');
    refused(
      await rsync(twin, db.url, 'apply', saved),
      `This plan was made from commit ${plan.commit!.slice(0, 12)}, which this repository does not have: it comes from another repository`,
      "If the commit is this repository's, fetch it (git fetch) and apply again; otherwise make a plan here: `rsync plan --out plan.json`.",
    );
    // The same files outside Git: no commit to compare, so refused too.
    const copy = temp('rsync-origin-copy-');
    for (const p of ['rsync.yaml', 'integrations', 'templates'])
      cpSync(path.join(repo, p), path.join(copy, p), { recursive: true });
    refused(
      await rsync(copy, db.url, 'apply', saved),
      `This plan was made in a Git repository (commit ${plan.commit!.slice(0, 12)}), and ${copy} is not in one`,
    );
    expect(await deployed()).toBe(0);
  });

  it('a hand-edited plan that says nothing of its workspace: refused', async () => {
    const file = path.join(path.dirname(saved), 'anonymous.json');
    const { workspace: _, ...rest } = plan;
    writeFileSync(file, JSON.stringify({ ...rest, workspace: null }));
    refused(await rsync(repo, db.url, 'apply', file), 'This plan does not say which workspace it was made in');
  });

  it('a clone of the same repository applies it, exactly once; the stale check still holds', async () => {
    const clone = path.join(temp('rsync-origin-clone-'), 'checkout');
    git(os.tmpdir(), 'clone', '--quiet', repo, clone);
    const r = await rsync(clone, db.url, 'apply', saved);
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain('Applied to staging: 35 created, 0 updated, 0 deleted');
    expect(await deployed()).toBe(35);
    const again = await rsync(repo, db.url, 'apply', saved);
    expect(again.status, show(again)).toBe(ExitCode.REFUSED);
    expect(again.stderr).toContain('The plan is stale');
  });

  it('outside Git, a workspace is its folder: a copy of the folder is refused, the folder applies it', async () => {
    const fresh = await testDatabase('origin_folder');
    try {
      const ws = runtimeWorkspace('rsync-origin-folder-', { connections: SANDBOX_SYSTEMS, flows: [stockFlow()] });
      dirs.push(ws);
      const file = path.join(temp('rsync-origin-folder-plan-'), 'plan.json');
      const p = await rsync(ws, fresh.url, 'plan', '--out', file);
      expect(p.status, show(p)).toBe(0);
      const copy = temp('rsync-origin-folder-copy-');
      cpSync(ws, copy, { recursive: true });
      refused(
        await rsync(copy, fresh.url, 'apply', file),
        `This plan was made in the workspace folder ${realpathSync(ws)}, and this is ${realpathSync(copy)}`,
        `A workspace outside Git is known by its folder. ${HINT}`,
      );
      const ok = await rsync(ws, fresh.url, 'apply', file);
      expect(ok.status, show(ok)).toBe(0);
      expect(ok.stdout).toMatch(/Applied to staging: \d+ created/);
    } finally {
      await fresh.drop();
    }
  });
});
