/**
 * `rsync plan --all-envs` (issue 19, item 2): every environment of the example workspace's rsync.yaml planned in
 * turn, then the partner-wide totals, in text, Markdown and JSON. Real Git repository, real PostgreSQL, built CLI.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartnerPlan } from '../../engine/plan/partner.js';
import { buildProblem, exampleRepo, git, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

describe('rsync plan --all-envs', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let repo: string;
  const cli = (...args: string[]) =>
    runCli(args, repo, { url: db.url, actor: 'ci-bot <ci@acme.example>', isolateGit: true });

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/plan.ts', 'cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('plan_all_envs');
    repo = exampleRepo('rsync-all-envs-');
    git(repo, 'branch', 'production');
    // Staging applied, production not: the totals add a partly deployed partner up.
    const a = await cli('apply', '--env', 'staging', '--auto-approve');
    expect(a.status, show(a)).toBe(0);
  });

  afterAll(async () => {
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('plans each environment, then the totals; JSON, text and Markdown agree', async () => {
    const json = await cli('plan', '--all-envs', '--json', '--detailed-exitcode');
    expect(json.status, show(json)).toBe(2);
    const p = JSON.parse(json.stdout) as PartnerPlan & { version: number };
    expect(p.environments.map((e) => e.env)).toEqual(['staging', 'production']);
    const [staging, production] = p.environments.map((e) => ('plan' in e ? e.plan : undefined));
    expect(staging!.empty).toBe(true);
    expect(production!.summary.create).toBeGreaterThan(20);
    expect(p.totals).toMatchObject({
      environments: 2,
      create: production!.summary.create,
      update: 0,
      delete: 0,
      customers: production!.summary.radius!.customers.length,
      flows: production!.summary.radius!.flows,
      targets: production!.summary.radius!.targets.length,
    });
    expect(p.totals.customers).toBeGreaterThan(1);
    const byType = Object.values(p.totals.byConnectionType).reduce((a, g) => a + g.flows, 0);
    expect(byType).toBe(p.totals.flows);

    const text = await cli('plan', '--all-envs');
    expect(text.status, show(text)).toBe(0);
    expect(text.stdout).toContain('rsync plan for staging @ main');
    expect(text.stdout).toContain('rsync plan for production @ production');
    expect(text.stdout).toContain('Partner-wide, 2 environments:');
    expect(text.stdout).toContain('  staging: +0 ~0 -0');
    expect(text.stdout).toContain(
      `  total: +${p.totals.create} ~0 -0 — ${p.totals.customers} customers, ${p.totals.flows} flows, ${p.totals.targets} target systems`,
    );

    const md = await cli('plan', '--all-envs', '--format', 'markdown');
    expect(md.status, show(md)).toBe(0);
    expect(md.stdout).toContain('plan for `staging`');
    expect(md.stdout).toContain('plan for `production`');
    expect(md.stdout).toContain('#### Partner-wide');
    expect(md.stdout).toMatch(/^- Blast radius: \d+ customers, \d+ flows, \d+ target systems$/m);

    const both = await cli('plan', '--all-envs', '--env', 'staging');
    expect(both.status, show(both)).toBe(64);
  });
});
