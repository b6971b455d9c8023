/**
 * Partial plans and applies (issue 18, part 3): `--target` (with what the resource depends on), `--exclude` and
 * `--selector` (customer labels), with the built CLI on a real Git repository (a copy of the example workspace) and
 * a fresh PostgreSQL database. Everything is applied first; then one commit changes every customer's time zone and
 * connection descriptions, so that most flows, customers and connections have a change pending. `apply --target` on
 * one flow changes exactly that flow's revision in the database; the next plan shows every other change still
 * pending. A saved targeted plan applies only what it selected, and is refused once the state moved.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../engine/apply/apply.js';
import { planEnvironment } from '../../engine/plan/index.js';
import { writePlanFile } from '../../engine/plan/file.js';
import { renderPlanMarkdown } from '../../engine/plan/render.js';
import { parseSelectors, type SelectionRequest } from '../../engine/plan/select.js';
import type { Plan } from '../../engine/plan/types.js';
import { connect } from '../../engine/state/db.js';
import { buildProblem, edit, exampleRepo, git, runCli, show, type Run } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ENV = 'staging';
const ACTOR = 'ci-bot <ci@acme.example>';
const FLOW = 'northwind/flow/pos-prices';

describe('partial plan and apply: --target, --exclude, --selector', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: string;
  let scratch: string;
  /** Every change the commit made pending, by address. */
  let pending: string[] = [];
  const cli = (...args: string[]): Promise<Run> => runCli(args, repo, { url: db.url, actor: ACTOR, isolateGit: true });
  const revisions = async (): Promise<Map<string, number>> =>
    new Map(
      (
        await pool.query<{ address: string; revision: number }>(
          `SELECT address, revision FROM rsync.resources WHERE env = $1`,
          [ENV],
        )
      ).rows.map((r) => [r.address, r.revision]),
    );
  /** A plan in-process (the CLI's own journey is run where its flags and output are what is tested). */
  const planOf = async (selection?: SelectionRequest): Promise<Plan> => {
    const state = await connect(repo, { url: db.url });
    try {
      const outcome = await planEnvironment(state, { path: repo, env: ENV, actor: ACTOR, selection });
      if (!outcome.ok) throw new Error('the workspace does not plan');
      return outcome.plan;
    } finally {
      await state.close();
    }
  };

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/plan.ts', 'cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('partial_apply');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test partial-apply' });
    repo = exampleRepo('rsync-partial-');
    scratch = mkdtempSync(path.join(os.tmpdir(), 'rsync-partial-plans-'));
    // Everything deployed, as a partner's staging would be.
    const all = await planOf();
    const state = await connect(repo, { url: db.url });
    try {
      await applyPlan(state, all, { actor: ACTOR, url: db.url });
    } finally {
      await state.close();
    }
    // One commit with changes all over: each customer's time zone (every scheduled flow's effective time zone) and
    // the description of every connection.
    edit(repo, 'integrations/northwind/customer.yaml', 'timezone: America/Chicago', 'timezone: America/Denver');
    edit(repo, 'integrations/contoso/customer.yaml', 'timezone: Europe/Dublin', 'timezone: Europe/London');
    for (const c of ['northwind', 'contoso'])
      for (const f of readdirSync(path.join(repo, 'integrations', c, 'connections')))
        edit(
          repo,
          `integrations/${c}/connections/${f}`,
          '\n  description: ',
          '\n  description: Moved to the new VPC. ',
        );
    // And objectives and retries: three SLAs, the partner's policy and contoso's two.
    edit(repo, 'rsync.yaml', 'successRate: "99.9%", supportTier: gold', 'successRate: "99.95%", supportTier: gold');
    edit(repo, 'rsync.yaml', 'successRate: "99.5%", supportTier: silver', 'successRate: "99.6%", supportTier: silver');
    edit(repo, 'rsync.yaml', 'freshness: 26h', 'freshness: 27h');
    edit(repo, 'rsync.yaml', 'maxAttempts: 5,', 'maxAttempts: 6,');
    const contoso = path.join(repo, 'integrations/contoso/policies.yaml');
    writeFileSync(contoso, readFileSync(contoso, 'utf8').replaceAll('maxAttempts: 8,', 'maxAttempts: 9,'));
    git(repo, 'commit', '--quiet', '-am', 'Time zones, connection descriptions, objectives and retries');
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('the commit leaves some 35 changes pending, the target among them', async () => {
    const plan = await planOf();
    pending = plan.changes.map((c) => c.address);
    console.log(`partial apply: ${pending.length} changes pending`);
    expect(pending.length).toBeGreaterThanOrEqual(30);
    expect(pending).toContain(FLOW);
    expect(plan.selection).toBeUndefined();
  });

  it('plan --target takes the flow and its changed dependencies only, and says what it left out', async () => {
    const plan = await planOf({ targets: [FLOW] });
    const deps = plan.changes.map((c) => c.address);
    // pos-prices' connections are northwind's netsuite and pos (their descriptions changed): they come with it.
    expect(deps).toContain(FLOW);
    const connections = deps.filter((a) => a.includes('/connection/'));
    expect(connections.length).toBeGreaterThan(0);
    expect(deps.every((a) => a === FLOW || connections.includes(a))).toBe(true);
    expect(plan.selection?.targets).toEqual([FLOW]);
    expect(plan.selection?.leftOut.count).toBe(pending.length - deps.length);
    expect(plan.selection?.leftOut.addresses.sort()).toEqual(pending.filter((a) => !deps.includes(a)).sort());

    const text = await cli('plan', '--target', `${ENV}/${FLOW}`); // with the environment in front, too
    expect(text.status, show(text)).toBe(0);
    expect(text.stdout).toContain(
      `Partial plan (--target ${FLOW}): ${pending.length - deps.length} other changes left out`,
    );
    expect(text.stdout).toContain(`  ${pending.find((a) => !deps.includes(a))}`); // the first one left out, listed
    expect(renderPlanMarkdown(plan)).toMatch(
      /> \[!NOTE\]\n> Partial plan \(--target northwind\/flow\/pos-prices\): \d+ other changes left out/,
    );
  });

  it('apply --target --exclude of its connections changes exactly that flow, and the rest stays pending', async () => {
    const target = await planOf({ targets: [FLOW] });
    const connections = target.changes.map((c) => c.address).filter((a) => a !== FLOW);
    const before = await revisions();
    const args = ['apply', '--auto-approve', '--target', FLOW, ...connections.flatMap((c) => ['--exclude', c])];
    const run = await cli(...args);
    expect(run.status, show(run)).toBe(0);
    expect(run.stdout).toContain('Applied to staging: 0 created, 1 updated, 0 deleted');
    const after = await revisions();
    const moved = [...after].filter(([a, r]) => before.get(a) !== r).map(([a]) => a);
    expect(moved).toEqual([FLOW]);
    expect(after.get(FLOW)).toBe(before.get(FLOW)! + 1);
    expect(after.size).toBe(before.size);

    const next = await planOf();
    expect(next.changes.map((c) => c.address).sort()).toEqual(pending.filter((a) => a !== FLOW).sort());
    const log = await pool.query(`SELECT detail FROM rsync.apply_log WHERE env = $1 ORDER BY n DESC LIMIT 1`, [ENV]);
    expect(log.rows[0].detail.selection).toMatchObject({ targets: [FLOW], excludes: connections });
  });

  it('a saved targeted plan applies only what it selected, and is refused once the state moved', async () => {
    const file = path.join(scratch, 'contoso.json');
    const other = path.join(scratch, 'stale.json');
    // --selector: contoso's labels say region: eu.
    const selected = await cli('plan', '--selector', 'region=eu', '--out', file, '--json');
    expect(selected.status, show(selected)).toBe(0);
    writePlanFile(other, await planOf({ targets: ['northwind/customer/northwind'] }));
    const saved = readFileSync(file, 'utf8');
    const plan = JSON.parse(saved) as Plan;
    expect(plan.changes.length).toBeGreaterThan(0);
    // contoso's changes, and the partner-wide SLAs and policy its flows depend on; nothing of northwind's
    expect(plan.changes.some((c) => c.customer === 'contoso')).toBe(true);
    expect(plan.changes.filter((c) => c.customer !== 'contoso').every((c) => c.customer === null)).toBe(true);
    expect(plan.selection?.selector).toEqual({ region: 'eu' });

    const before = await revisions();
    const run = await cli('apply', file);
    expect(run.status, show(run)).toBe(0);
    const after = await revisions();
    const moved = [...after].filter(([a, r]) => before.get(a) !== r).map(([a]) => a);
    expect(moved.sort()).toEqual(plan.changes.map((c) => c.address).sort());

    // The stale check holds for a partial plan: the other saved plan was made before this apply.
    const stale = await cli('apply', other);
    expect(stale.status, show(stale)).toBe(75);
    expect(stale.stderr).toContain('The plan is stale');
    // A saved plan is not narrowed again.
    const narrowed = await cli('apply', file, '--target', FLOW);
    expect(narrowed.status, show(narrowed)).toBe(64);
  });

  it('refuses an address that is not there (with the nearest one) and a selector that is not key=value', async () => {
    const unknown = await cli('plan', '--target', 'northwind/flow/pos-price');
    expect(unknown.status, show(unknown)).toBe(64);
    expect(unknown.stderr).toContain('--target northwind/flow/pos-price: no resource of staging has that address.');
    expect(unknown.stderr).toContain('northwind/flow/pos-prices');
    expect(unknown.stderr).not.toMatch(/^ {4}at /m);
    expect(() => parseSelectors(['tier'])).toThrow('--selector "tier" is not key=value.');
    expect(parseSelectors(['tier=gold', 'region=eu'])).toEqual({ tier: 'gold', region: 'eu' });
  });
});
