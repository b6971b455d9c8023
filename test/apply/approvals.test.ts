/**
 * Approvals for production (engine/apply/approvals.ts, issue 17), through the built CLI on real PostgreSQL and a
 * real Git repository with the example workspace, whose production requires approval; rsync.yaml here also asks
 * that a plan's author may not approve it. The example's policies of northwind and contoso ask 2 approvals for
 * production, so a plan of the whole environment needs 2. People act by tokens (RSYNC_TOKEN).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../engine/apply/apply.js';
import {
  type ApprovalRule,
  approvalStatus,
  approvePlan,
  pendingApprovals,
  pendingPlan,
  submitForApproval,
} from '../../engine/apply/approvals.js';
import { actorOf, authenticate, createToken } from '../../engine/auth/tokens.js';
import { planHash, readPlanFile } from '../../engine/plan/file.js';
import { planEnvironment } from '../../engine/plan/index.js';
import type { Plan } from '../../engine/plan/types.js';
import { connect, type Database } from '../../engine/state/db.js';
import { migrate } from '../../engine/state/migrate.js';
import { declaredApprovalsAt } from '../../engine/workspace/index.js';
import { buildProblem, edit, exampleRepo, git, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const CONNECTION = 'integrations/northwind/connections/shopify.yaml';

describe('approvals for production', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: string;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const as = (who: string | null, ...args: string[]) =>
    runCli(args, repo, {
      url: db.url,
      actor: 'Local User <local@acme.example>',
      isolateGit: true,
      env: who ? { RSYNC_TOKEN: tokens[who] } : {},
    });
  const file = (name: string) => path.join(repo, name);
  const log = async () =>
    (await pool.query(`SELECT n, action, actor, detail FROM rsync.apply_log WHERE env = 'production' ORDER BY n`)).rows;

  /** A commit on production that changes one connection's description. */
  function changeProduction(n: number): void {
    edit(repo, CONNECTION, 'description: ', `description: (v${n}) `);
    git(repo, 'commit', '--quiet', '-am', `Reword the Shopify connection (v${n})`);
    git(repo, 'branch', '-f', 'production', 'HEAD');
  }

  let dbh: Database;
  let rule: ApprovalRule;
  const who = async (name: string) => {
    const identity = (await authenticate(pool, tokens[name]))!;
    return { actor: actorOf(identity), identity, rule };
  };
  const apply = async (p: Plan) =>
    applyPlan(dbh, p, { actor: (await who('alice')).actor, url: db.url, approvals: rule });

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/plan.ts', 'cli/commands/apply.ts', 'cli/commands/approve.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('approvals');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test approvals' });
    await migrate(pool);
    for (const [name, role] of [
      ['alice', 'operator'],
      ['bob', 'operator'],
      ['carol', 'admin'],
      ['vic', 'viewer'],
    ] as const) {
      const made = await createToken(pool, { name, role, createdBy: 'test' });
      tokens[name] = made.token;
      ids[name] = made.row.id;
    }
    repo = exampleRepo('rsync-approvals-');
    edit(
      repo,
      'rsync.yaml',
      '      requiresApproval: true\n',
      '      requiresApproval: true\n      approvals: { separateAuthor: true }\n',
    );
    git(repo, 'commit', '--quiet', '-am', 'Production: the author of a plan may not approve it');
    git(repo, 'branch', 'production');
    dbh = await connect(repo, { url: db.url });
    rule = await declaredApprovalsAt(repo, 'production');
  });

  afterAll(async () => {
    await dbh?.close();
    await pool?.end();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('an unapproved apply is refused naming who must approve; distinct approvers let it through, the same one counts once', async () => {
    const made = await as('alice', 'plan', '--env', 'production', '--out', file('p1.json'));
    expect(made.status, show(made)).toBe(0);

    const refused = await as('alice', 'apply', file('p1.json'));
    expect(refused.status, show(refused)).toBe(75);
    expect(refused.stderr).toContain('production requires approval');
    expect(refused.stderr).toContain('needs 2 approvals');
    expect(refused.stderr).toMatch(/policy (northwind|contoso)\/policy\/[a-z-]+ asks 2/);
    expect(refused.stderr).toContain('has none; 2 more from an admin or operator other than its author alice');
    expect(refused.stderr).toContain('bob (operator), carol (admin)');
    expect(refused.stderr).not.toContain('alice (operator)');
    expect(refused.stderr).not.toContain('vic');
    // Inline (not saved), production is refused the same way, without asking for a confirmation.
    const inline = await as('carol', 'apply', '--env', 'production', '--auto-approve');
    expect(inline.status, show(inline)).toBe(75);
    expect(inline.stderr).toContain('production requires approval');

    // The console's view: the refused plan awaits its approvals.
    const p1 = readPlanFile(file('p1.json'));
    const pending = await pendingApprovals(dbh, rule);
    expect(pending.find((p) => p.hash === planHash(p1))).toMatchObject({
      author: `token:${ids.alice} alice (operator)`,
      required: 2,
      missing: 2,
      approvals: [],
    });
    // The console gets the plan back by its hash, the very same plan (its JSON kept in PostgreSQL hashes alike).
    expect(planHash((await pendingPlan(dbh, 'production', planHash(p1)))!)).toBe(planHash(p1));

    // A viewer may not approve (the CLI, exit 75); nor the plan's author (the engine the CLI and the console call).
    const viewer = await as('vic', 'approve', file('p1.json'));
    expect(viewer.status, show(viewer)).toBe(75);
    expect(viewer.stderr).toContain('The viewer role may not do this');
    await expect(approvePlan(dbh, p1, await who('alice'))).rejects.toMatchObject({
      exitCode: 75,
      message: expect.stringContaining('alice made this plan and may not approve it'),
    });
    // Nor by naming someone else as its author in the file: that is another plan, which nobody submitted.
    const disguised = { ...p1, createdBy: `token:${ids.bob} bob (operator)` };
    await expect(approvePlan(dbh, disguised, await who('alice'))).rejects.toMatchObject({
      exitCode: 75,
      message: expect.stringContaining('This plan was never submitted for approval in production'),
    });

    const bob = await as('bob', 'approve', file('p1.json'), '--reason', 'reviewed in PR #42');
    expect(bob.status, show(bob)).toBe(0);
    expect(bob.stdout).toContain('1 of 2');
    // The same person again, even with another token of theirs, counts once.
    const bob2 = await createToken(pool, { name: 'bob', role: 'admin', createdBy: 'test' });
    const again = await approvePlan(dbh, p1, {
      ...(await who('bob')),
      identity: (await authenticate(pool, bob2.token))!,
      actor: `token:${bob2.row.id} bob (admin)`,
    });
    expect(again).toMatchObject({ recorded: false, required: 2, missing: 1, logEntry: null });
    await expect(apply(p1)).rejects.toMatchObject({
      exitCode: 75,
      message: expect.stringContaining(`has 1 (token:${ids.bob} bob (operator)); 1 more`),
    });
    await expect(apply(p1)).rejects.toMatchObject({ message: expect.stringMatching(/: carol \(admin\)\. Nothing/) });

    const carol = await as('carol', 'approve', file('p1.json'));
    expect(carol.status, show(carol)).toBe(0);
    expect(carol.stdout).toContain('2 of 2');
    const applied = await as('alice', 'apply', file('p1.json'));
    expect(applied.status, show(applied)).toBe(0);
    expect(applied.stdout).toMatch(/Applied to production: \d+ created/);

    // The audit log: two approvals (bob's second did not count, nor add an entry), then the apply by alice's token.
    const entries = await log();
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['approve', `token:${ids.bob} bob (operator)`],
      ['approve', `token:${ids.carol} carol (admin)`],
      ['apply', `token:${ids.alice} alice (operator)`],
    ]);
    expect(entries[0].detail).toMatchObject({ reason: 'reviewed in PR #42', approvals: 1, required: 2 });
    expect(entries[2].detail.approvedBy).toEqual([
      `token:${ids.bob} bob (operator)`,
      `token:${ids.carol} carol (admin)`,
    ]);
    const verify = await as(null, 'audit', 'verify');
    expect(verify.status, show(verify)).toBe(0);
  });

  it("a stale plan's approvals do not carry over: it cannot be applied or approved, and a new plan needs new ones", async () => {
    // In process (the engine the CLI and the console call), with the same identities.
    {
      // As `rsync plan --out` does: the plan, submitted for approval by its author.
      const plan = async () => {
        const { actor } = await who('alice');
        const o = await planEnvironment(dbh, { path: repo, env: 'production', actor });
        if (!o.ok) throw new Error(JSON.stringify(o.diagnostics));
        await submitForApproval(dbh, o.plan, rule, actor);
        return o.plan;
      };

      changeProduction(1);
      const p2 = await plan();
      await approvePlan(dbh, p2, await who('bob'));
      expect(await approvePlan(dbh, p2, await who('carol'))).toMatchObject({ missing: 0, recorded: true });
      // Another plan of the same change, approved and applied first, moves production's state.
      const p3 = await plan();
      expect(planHash(p3)).not.toBe(planHash(p2));
      await approvePlan(dbh, p3, await who('bob'));
      await approvePlan(dbh, p3, await who('carol'));
      await apply(p3);

      await expect(apply(p2)).rejects.toMatchObject({
        exitCode: 75,
        message: expect.stringContaining('The plan is stale'),
      });
      await expect(approvePlan(dbh, p2, await who('bob'))).rejects.toMatchObject({
        exitCode: 75,
        message: expect.stringContaining('it cannot be approved'),
      });
      expect(await approvalStatus(dbh, p2, rule)).toMatchObject({ approvals: [], missing: 2 });
      // Applied: p1 and p3; stale: p2 and the inline plan of the first test.
      const closed = await pool.query(
        `SELECT closed_reason, count(*)::int AS n FROM rsync.approval_plans WHERE env = 'production' GROUP BY 1 ORDER BY 1`,
      );
      expect(closed.rows).toEqual([
        { closed_reason: 'applied', n: 2 },
        { closed_reason: 'stale', n: 2 },
      ]);
      expect(await pendingApprovals(dbh, rule)).toEqual([]);

      // The next change's plan starts with no approvals, though the same two approved the last one.
      changeProduction(2);
      const p4 = await plan();
      await expect(apply(p4)).rejects.toMatchObject({
        exitCode: 75,
        message: expect.stringContaining('has none; 2 more'),
      });
    }
  });
});
