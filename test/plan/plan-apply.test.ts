/**
 * `rsync plan` and `rsync apply` end to end, with the built CLI in child processes, on a real Git repository and a
 * fresh PostgreSQL database (test/helpers/db.ts). The repository is a copy of the example workspace (rsync.yaml,
 * integrations/, templates/, test/fixtures/) committed on `main`, the ref of the `staging` environment.
 *
 * The tests run in order and share the repository and the database, as a partner's day would: plan and apply
 * everything, change a mapping, change a template's mapping, save a plan that goes stale, break the workspace,
 * remove a flow that still has jobs. The last test makes an apply fail midway (engine functions, on a database of
 * its own) and checks that the next plan lists exactly what is left.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../engine/apply/apply.js';
import { desiredState } from '../../engine/plan/desired.js';
import { planEnvironment } from '../../engine/plan/index.js';
import type { Change, Plan } from '../../engine/plan/types.js';
import { openBoss } from '../../engine/live/boss.js';
import { flowRouting } from '../../engine/live/layout.js';
import { connect } from '../../engine/state/db.js';
import { readDeployed } from '../../engine/state/deployments.js';
import { acquireApplyLock } from '../../engine/state/locks.js';
import { openWorkspace } from '../../engine/workspace/open.js';
import { buildProblem as sharedBuildProblem, runCli, show, git, exampleRepo, edit, type Run } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ENV = 'staging';
const ACTOR = 'ci-bot <ci@acme.example>';

// --- helpers (test/helpers/cli.ts) ----------------------------------------------------------------------------------

const buildProblem = () =>
  sharedBuildProblem([
    'cli/commands/plan.ts',
    'cli/commands/apply.ts',
    'cli/commands/db/status.ts',
    'cli/commands/db/stop.ts',
  ]);
const rsync = (args: string[], cwd: string, url: string): Promise<Run> =>
  runCli(args, cwd, { url, actor: ACTOR, isolateGit: true });

function expectNoStackTrace(r: Run): void {
  expect(`${r.stdout}\n${r.stderr}`, show(r)).not.toMatch(
    /^ {4}at |\b(?:TypeError|ReferenceError|SyntaxError|RangeError)\b/m,
  );
}

const actions = (changes: Change[]) => changes.map((c) => `${c.action} ${c.address}`);

// --- the example workspace's facts these tests rely on --------------------------------------------------------------

const POS_PRICES = 'integrations/northwind/flows/pos-prices.yaml';
const POS_PRICES_MAPPING = 'integrations/northwind/mappings/netsuite-store-price.jsonata';
const INVENTORY_MAPPING = 'templates/erp-inventory-to-channel/1/mappings/netsuite-inventory.jsonata';
const AVALARA = 'integrations/contoso/connections/avalara.yaml';
/** The flows made from erp-inventory-to-channel@1 with erpType netsuite: the ones that read INVENTORY_MAPPING. */
const NETSUITE_INVENTORY_FLOWS = ['northwind/flow/pos-inventory-levels', 'northwind/flow/storefront-inventory-levels'];

describe('rsync plan / apply on the example workspace (staging = main)', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: string;
  /** Saved plans go here (outside the repository). */
  let scratch: string;
  /** How many resources the workspace deploys to staging. */
  let total = 0;
  const cli = (...args: string[]) => rsync(args, repo, db.url);
  const count = async (sql: string, params: unknown[] = []) => Number((await pool.query(sql, params)).rows[0].n);
  const revisionOf = async (address: string) =>
    (
      await pool.query<{ revision: number }>(`SELECT revision FROM rsync.resources WHERE env = $1 AND address = $2`, [
        ENV,
        address,
      ])
    ).rows[0]?.revision;
  const planJson = async (...args: string[]): Promise<{ run: Run; plan: Plan }> => {
    const run = await cli('plan', '--json', ...args);
    expect([0, 2], show(run)).toContain(run.status);
    return { run, plan: JSON.parse(run.stdout) as Plan };
  };

  beforeAll(async () => {
    const problem = buildProblem();
    if (problem) throw new Error(problem);
    db = await testDatabase('plan_apply');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test plan-apply' });
    repo = exampleRepo('rsync-plan-apply-');
    scratch = mkdtempSync(path.join(os.tmpdir(), 'rsync-plan-apply-plans-'));
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('plans every resource as a create: exit 2 with --detailed-exitcode, and nothing is written', async () => {
    const { ws } = await openWorkspace({ path: repo, ref: 'main', env: ENV });
    const desired = desiredState(ws)
      .resources.map((r) => r.address)
      .sort();
    total = desired.length;
    expect(total).toBeGreaterThan(20);

    const text = await cli('plan', '--detailed-exitcode');
    expect(text.status, show(text)).toBe(2);
    expect(text.stdout).toContain(`rsync plan for staging @ main (${git(repo, 'rev-parse', 'main').slice(0, 7)})`);
    expect(text.stdout).toContain(`Plan: ${total} to create, 0 to update, 0 to delete, 0 unchanged.`);

    const { plan } = await planJson('--detailed-exitcode');
    expect(plan.ref).toBe('main');
    expect(plan.commit).toBe(git(repo, 'rev-parse', 'main'));
    expect(plan.createdBy).toBe(ACTOR);
    expect(new Set(plan.changes.map((c) => c.action))).toEqual(new Set(['create']));
    expect(plan.changes.map((c) => c.address).sort()).toEqual(desired);
    expect(plan.summary).toMatchObject({ create: total, update: 0, delete: 0, unchanged: 0, drift: 0 });
    expect(plan.empty).toBe(false);
    expect(await count(`SELECT count(*) AS n FROM rsync.resources`)).toBe(0);
  });

  it('apply off a terminal without --auto-approve is refused (exit 75) and applies nothing', async () => {
    const r = await cli('apply');
    expect(r.status, show(r)).toBe(75);
    expect(r.stderr).toContain('Refusing to apply without confirmation');
    expect(await count(`SELECT count(*) AS n FROM rsync.resources`)).toBe(0);
  });

  it('apply --auto-approve applies it: revisions, queues, schedules, one log entry; the next plan has no changes (exit 0)', async () => {
    const r = await cli('apply', '--auto-approve');
    expect(r.status, show(r)).toBe(0);
    expectNoStackTrace(r);
    expect(r.stdout).toContain(`Applied to staging: ${total} created, 0 updated, 0 deleted (apply log entry 1).`);

    const head = git(repo, 'rev-parse', 'main');
    const rows = (
      await pool.query(`SELECT address, revision, commit, applied_by FROM rsync.resources WHERE env = $1`, [ENV])
    ).rows;
    expect(rows).toHaveLength(total);
    for (const row of rows) expect(row).toMatchObject({ revision: 1, commit: head, applied_by: ACTOR });
    expect(await count(`SELECT count(*) AS n FROM rsync.revisions WHERE env = $1 AND action = 'create'`, [ENV])).toBe(
      total,
    );
    const log = (await pool.query(`SELECT n, env, action, actor, commit FROM rsync.apply_log ORDER BY n`)).rows;
    expect(log).toEqual([{ n: '1', env: ENV, action: 'apply', actor: ACTOR, commit: head }]);

    // Every deployed flow has its policy's queue (and dead-letter queue), and its tick schedule when it has a cron.
    const queues = new Set(
      (await pool.query<{ name: string }>(`SELECT name FROM pgboss.queue`)).rows.map((q) => q.name),
    );
    const schedules = new Set(
      (await pool.query<{ name: string }>(`SELECT name FROM pgboss.schedule`)).rows.map((s) => s.name),
    );
    const flows = (await readDeployed(pool, ENV)).filter((d) => d.kind === 'flow');
    expect(flows.length).toBeGreaterThan(5);
    let scheduled = 0;
    for (const f of flows) {
      const route = flowRouting(ENV, f);
      expect(queues, f.address).toContain(route.queue);
      expect(queues, f.address).toContain(`${route.queue}.dead`);
      if (route.schedule) {
        scheduled++;
        expect(schedules, f.address).toContain(route.schedule.name);
      }
    }
    expect(scheduled).toBeGreaterThan(0);

    const again = await cli('plan', '--detailed-exitcode');
    expect(again.status, show(again)).toBe(0);
    expect(again.stdout).toContain(`No changes. staging matches main (${total} resources).`);
  });

  it("plans the environment's ref (main), not the working tree", async () => {
    edit(repo, POS_PRICES_MAPPING, `'priceList': 'in-store',`, `'priceList': 'uncommitted',`);
    try {
      const r = await cli('plan', '--detailed-exitcode');
      expect(r.status, show(r)).toBe(0);
    } finally {
      git(repo, 'checkout', '--', POS_PRICES_MAPPING);
    }
  });

  it("a changed line in a customer's own mapping is exactly one update, whose mappingDiff shows the line", async () => {
    edit(repo, POS_PRICES_MAPPING, `'priceList': 'in-store',`, `'priceList': 'store-shelf',`);
    git(repo, 'commit', '--quiet', '-am', 'Northwind: shelf prices are price list store-shelf');

    const { run, plan } = await planJson('--detailed-exitcode');
    expect(run.status).toBe(2);
    expect(actions(plan.changes)).toEqual(['update northwind/flow/pos-prices']);
    const [c] = plan.changes;
    expect(c.reason).toBe('mapping changed');
    expect(c.fromRevision).toBe(1);
    expect(c.fields.map((f) => f.path)).toEqual(['mapping.sha256']);
    expect(c.mappingDiff).toContain(`-    'priceList': 'in-store',`);
    expect(c.mappingDiff).toContain(`+    'priceList': 'store-shelf',`);
    expect(c.mappingDiff!.filter((l) => /^[-+]/.test(l))).toHaveLength(2);
    expect(plan.summary).toMatchObject({ create: 0, update: 1, delete: 0, unchanged: total - 1 });

    const text = await cli('plan');
    expect(text.stdout).toMatch(/^ {2}~ northwind\/flow\/pos-prices\b.*mapping changed/m);
    expect(text.stdout).toContain(`-    'priceList': 'in-store',`);
    expect(text.stdout).toContain(`+    'priceList': 'store-shelf',`);

    const r = await cli('apply', '--auto-approve');
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain('Applied to staging: 0 created, 1 updated, 0 deleted');
    expect(await revisionOf('northwind/flow/pos-prices')).toBe(2);
    expect(await count(`SELECT count(*) AS n FROM rsync.resources WHERE env = $1 AND revision <> 1`, [ENV])).toBe(1);
  });

  it("a changed line in a template's mapping updates exactly the flows made from it that read that mapping", async () => {
    edit(
      repo,
      INVENTORY_MAPPING,
      `$safety := $params.safetyStock ? $params.safetyStock : 0;`,
      `$safety := $params.safetyStock ? $params.safetyStock : 1;`,
    );
    edit(
      repo,
      AVALARA,
      'receives paid web orders without personal data.',
      'receives paid web orders, never personal data.',
    );
    git(repo, 'commit', '--quiet', '-am', 'Hold one unit back by default; reword the Avalara connection');

    const { run, plan } = await planJson('--detailed-exitcode');
    expect(run.status).toBe(2);
    // Contoso's inventory flows come from the same template but read its business-central mapping: unchanged.
    expect(actions(plan.changes).sort()).toEqual(
      ['update contoso/connection/avalara', ...NETSUITE_INVENTORY_FLOWS.map((a) => `update ${a}`)].sort(),
    );
    for (const c of plan.changes.filter((x) => x.kind === 'flow')) {
      expect(c.template).toBe('erp-inventory-to-channel@1');
      expect(c.reason).toBe('mapping changed');
      expect(c.mappingDiff).toContain(`-  $safety := $params.safetyStock ? $params.safetyStock : 0;`);
      expect(c.mappingDiff).toContain(`+  $safety := $params.safetyStock ? $params.safetyStock : 1;`);
    }
    const avalara = plan.changes.find((x) => x.address === 'contoso/connection/avalara')!;
    expect(avalara.fields).toEqual([
      {
        path: 'spec.description',
        before: 'Avalara AvaTax, company CONTOSOIE; receives paid web orders without personal data.',
        after: 'Avalara AvaTax, company CONTOSOIE; receives paid web orders, never personal data.',
      },
    ]);
    expect(plan.summary.byTemplate).toEqual({ 'erp-inventory-to-channel@1': { customers: 1, flows: 2 } });
    expect(plan.summary.byCustomer).toEqual({
      contoso: { create: 0, update: 1, delete: 0 },
      northwind: { create: 0, update: 2, delete: 0 },
    });
  });

  it('--customer limits the plan to that customer; an unknown customer is a usage error (exit 64)', async () => {
    const northwind = await planJson('--customer', 'northwind', '--detailed-exitcode');
    expect(northwind.run.status).toBe(2);
    expect(northwind.plan.customers).toEqual(['northwind']);
    expect(actions(northwind.plan.changes)).toEqual(NETSUITE_INVENTORY_FLOWS.map((a) => `update ${a}`));
    expect(Object.keys(northwind.plan.summary.byCustomer)).toEqual(['northwind']);

    const contoso = await planJson('--customer', 'contoso');
    expect(actions(contoso.plan.changes)).toEqual(['update contoso/connection/avalara']);

    const text = await cli('plan', '--customer', 'northwind');
    expect(text.stdout).toContain('rsync plan for staging @ main');
    expect(text.stdout).toContain(', customers: northwind');
    expect(text.stdout).not.toContain('contoso/');

    const unknown = await cli('plan', '--customer', 'fabrikam');
    expect(unknown.status, show(unknown)).toBe(64);
    expect(unknown.stderr).toContain('Unknown customer: fabrikam.');
    expect(unknown.stderr).toContain('contoso, northwind');
  });

  it('a saved plan is refused (exit 75, "stale") once something else was applied, and nothing of it is applied', async () => {
    const saved = path.join(scratch, 'saved.json');
    const s = await cli('plan', '--out', saved);
    expect(s.status, show(s)).toBe(0);
    expect(s.stderr).toContain(`Saved the plan to ${saved}.`);
    expect((JSON.parse(readFileSync(saved, 'utf8')) as Plan).changes).toHaveLength(3);

    // Something else: only Contoso's change.
    const other = await cli('apply', '--customer', 'contoso', '--auto-approve');
    expect(other.status, show(other)).toBe(0);
    expect(other.stdout).toContain('Applied to staging: 0 created, 1 updated, 0 deleted');
    expect(await revisionOf('contoso/connection/avalara')).toBe(2);
    const logBefore = await count(`SELECT count(*) AS n FROM rsync.apply_log`);

    const stale = await cli('apply', saved);
    expect(stale.status, show(stale)).toBe(75);
    expectNoStackTrace(stale);
    expect(stale.stderr).toMatch(/The plan is stale: the deployed state of staging changed since the plan was made/);
    expect(stale.stderr).toContain('nothing was applied');
    for (const a of NETSUITE_INVENTORY_FLOWS) expect(await revisionOf(a)).toBe(1);
    expect(await revisionOf('contoso/connection/avalara')).toBe(2);
    expect(await count(`SELECT count(*) AS n FROM rsync.apply_log`)).toBe(logBefore);
  });

  it('a fresh saved plan applies exactly what it lists, and only once', async () => {
    const saved = path.join(scratch, 'fresh.json');
    const s = await cli('plan', '--out', saved);
    expect(s.status, show(s)).toBe(0);
    expect(actions((JSON.parse(readFileSync(saved, 'utf8')) as Plan).changes)).toEqual(
      NETSUITE_INVENTORY_FLOWS.map((a) => `update ${a}`),
    );

    const r = await cli('apply', saved);
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain('Applied to staging: 0 created, 2 updated, 0 deleted');
    for (const a of NETSUITE_INVENTORY_FLOWS) expect(await revisionOf(a)).toBe(2);

    const twice = await cli('apply', saved);
    expect(twice.status, show(twice)).toBe(75);
    expect(twice.stderr).toContain('The plan is stale');
    for (const a of NETSUITE_INVENTORY_FLOWS) expect(await revisionOf(a)).toBe(2);

    const after = await cli('plan', '--detailed-exitcode');
    expect(after.status, show(after)).toBe(0);
  });

  it('an invalid workspace is refused with its diagnostics (exit 1) by plan and by apply; nothing is applied', async () => {
    edit(
      repo,
      POS_PRICES,
      'target: { connection: pos, entity: storePrice }',
      'target: { connection: pos-terminal, entity: storePrice }',
    );
    git(repo, 'commit', '--quiet', '-am', 'Northwind: a connection that does not exist');
    const logBefore = await count(`SELECT count(*) AS n FROM rsync.apply_log`);
    try {
      const r = await cli('plan', '--detailed-exitcode');
      expect(r.status, show(r)).toBe(1);
      expectNoStackTrace(r);
      expect(r.stderr).toMatch(new RegExp(`^${POS_PRICES.replace(/[.]/g, '\\.')}:\\d+:\\d+ error `, 'm'));
      expect(r.stderr).toContain('pos-terminal');
      expect(r.stderr).toContain('no plan was made');
      expect(r.stdout).not.toContain('Plan:');

      const j = await cli('plan', '--json');
      expect(j.status, show(j)).toBe(1);
      const out = JSON.parse(j.stdout) as {
        valid: boolean;
        diagnostics: { severity: string; code: string; file?: string; line?: number }[];
      };
      expect(out.valid).toBe(false);
      expect(out.diagnostics).toContainEqual(
        expect.objectContaining({ severity: 'error', code: 'ref-unknown', file: POS_PRICES }),
      );

      const a = await cli('apply', '--auto-approve');
      expect(a.status, show(a)).toBe(1);
      expect(a.stderr).toContain(POS_PRICES);
      expect(await count(`SELECT count(*) AS n FROM rsync.apply_log`)).toBe(logBefore);
    } finally {
      git(repo, 'revert', '--no-edit', 'HEAD');
    }
    const fixed = await cli('plan', '--detailed-exitcode');
    expect(fixed.status, show(fixed)).toBe(0);
  });

  /** Queue a job for a deployed flow in its policy's queue, as a trigger would. */
  async function queueJob(address: string): Promise<{ queue: string; id: string }> {
    const flow = (await readDeployed(pool, ENV)).find((d) => d.address === address)!;
    const queue = flowRouting(ENV, flow).queue!;
    const boss = await openBoss(pool);
    try {
      const id = await boss.send(queue, { flow: address });
      return { queue, id: id! };
    } finally {
      await boss.stop({ graceful: false, close: false, wait: false });
    }
  }

  /** Take every job of a queue and complete it, as a worker would. */
  async function drain(queue: string): Promise<number> {
    const boss = await openBoss(pool);
    try {
      const jobs = await boss.fetch(queue, { batchSize: 100 });
      if (jobs?.length)
        await boss.complete(
          queue,
          jobs.map((j) => j.id),
        );
      return jobs?.length ?? 0;
    } finally {
      await boss.stop({ graceful: false, close: false, wait: false });
    }
  }

  it('a removed flow with a queued job is kept, "waiting"; --force-prune removes it anyway', async () => {
    const address = 'northwind/flow/pos-prices';
    git(repo, 'rm', '--quiet', POS_PRICES);
    git(repo, 'commit', '--quiet', '-m', 'Northwind: no more shelf prices');
    const { queue, id } = await queueJob(address);

    const planned = await planJson('--detailed-exitcode');
    expect(actions(planned.plan.changes)).toEqual([`delete ${address}`]);

    const kept = await cli('apply', '--auto-approve');
    expect(kept.status, show(kept)).toBe(0);
    expect(kept.stdout).toContain('Applied to staging: 0 created, 0 updated, 0 deleted');
    expect(kept.stdout).toContain(`waiting: ${address} still has 1 queued job;`);
    expect(await revisionOf(address)).toBe(2);
    // Still to do: the next plan lists the delete again.
    expect(actions((await planJson()).plan.changes)).toEqual([`delete ${address}`]);

    const forced = await cli('apply', '--auto-approve', '--force-prune', '--json');
    expect(forced.status, show(forced)).toBe(0);
    const result = JSON.parse(forced.stdout) as { applied: { delete: number }; waiting: unknown[] };
    expect(result.applied.delete).toBe(1);
    expect(result.waiting).toEqual([]);
    expect(await revisionOf(address)).toBeUndefined();
    const last = (
      await pool.query(
        `SELECT revision, action, content_hash FROM rsync.revisions WHERE env = $1 AND address = $2 ORDER BY revision DESC LIMIT 1`,
        [ENV, address],
      )
    ).rows[0];
    expect(last).toEqual({ revision: 3, action: 'delete', content_hash: null });
    // The job is left for the worker (which will find no flow for it); pruning never drops jobs.
    expect((await pool.query(`SELECT state FROM pgboss.job WHERE id = $1`, [id])).rows[0]?.state).toBe('created');
    expect(await drain(queue)).toBe(1);
    expect((await cli('plan', '--detailed-exitcode')).status).toBe(0);
  });

  it('a removed flow with a queued job is removed by the first apply after its jobs drained', async () => {
    const address = 'northwind/flow/pos-prices';
    git(repo, 'revert', '--no-edit', 'HEAD');
    const back = await cli('apply', '--auto-approve');
    expect(back.status, show(back)).toBe(0);
    expect(back.stdout).toContain('Applied to staging: 1 created, 0 updated, 0 deleted');
    expect(await revisionOf(address)).toBe(4);

    git(repo, 'rm', '--quiet', POS_PRICES);
    git(repo, 'commit', '--quiet', '-m', 'Northwind: no more shelf prices, again');
    const { queue } = await queueJob(address);
    const kept = await cli('apply', '--auto-approve');
    expect(kept.status, show(kept)).toBe(0);
    expect(kept.stdout).toContain(`waiting: ${address} still has 1 queued job;`);
    expect(await revisionOf(address)).toBe(4);

    expect(await drain(queue)).toBe(1);
    const pruned = await cli('apply', '--auto-approve');
    expect(pruned.status, show(pruned)).toBe(0);
    expect(pruned.stdout).toContain('Applied to staging: 0 created, 0 updated, 1 deleted');
    expect(pruned.stdout).not.toContain('waiting:');
    expect(await revisionOf(address)).toBeUndefined();
    expect((await cli('plan', '--detailed-exitcode')).status).toBe(0);
  });

  it('an apply that fails midway leaves a state from which the next plan lists exactly what is left', async () => {
    // A database of its own, so the plan is every resource again; engine functions, to fail a chosen batch.
    const own = await testDatabase('plan_apply_resume');
    const state = await connect(repo, { url: own.url });
    try {
      const first = await planEnvironment(state, { path: repo, env: ENV, actor: ACTOR });
      if (!first.ok) throw new Error('the example workspace should plan');
      const all = first.plan.changes;
      expect(all.length).toBeGreaterThan(10);

      // Batches of 2: two scheduled flows first (they commit, but their queues and schedules are made only at the
      // end), then a batch whose second change the database refuses (rsync.resources.kind is NOT NULL).
      const plan = structuredClone(first.plan);
      const scheduled = plan.changes
        .filter((c) => c.kind === 'flow' && flowRouting(ENV, c.after!).schedule)
        .slice(0, 2);
      expect(scheduled).toHaveLength(2);
      const committed = new Set(scheduled.map((c) => c.address));
      plan.changes = [...scheduled, ...plan.changes.filter((c) => !committed.has(c.address))];
      (plan.changes[3] as { kind: string | null }).kind = null;
      await expect(applyPlan(state, plan, { actor: ACTOR, url: own.url, batchSize: 2 })).rejects.toThrow(/kind/);

      // The first batch committed, the second did not, nothing after it ran, and no apply log entry was written.
      expect((await readDeployed(state.pool, ENV)).map((d) => d.address).sort()).toEqual([...committed].sort());
      expect(Number((await state.pool.query(`SELECT count(*) AS n FROM rsync.apply_log`)).rows[0].n)).toBe(0);
      // The lock was released.
      const probe = await acquireApplyLock(own.url, ENV, 'probe');
      await probe.release();

      const next = await planEnvironment(state, { path: repo, env: ENV, actor: ACTOR });
      if (!next.ok) throw new Error('the example workspace should plan');
      expect(actions(next.plan.changes)).toEqual(actions(all.filter((c) => !committed.has(c.address))));
      expect(next.plan.summary.unchanged).toBe(2);
      // …and the live objects the two committed flows need, which the failed apply never made.
      const expected = new Set<string>();
      for (const c of scheduled) {
        const route = flowRouting(ENV, c.after!);
        expected.add(`queue ${route.queue} missing`);
        expected.add(`queue ${route.queue}.dead missing`);
        expected.add(`queue ${route.schedule!.name} missing`);
        expected.add(`schedule ${route.schedule!.name} missing`);
      }
      expect(new Set(next.plan.drift.map((d) => `${d.type} ${d.object} ${d.problem}`))).toEqual(expected);

      // Applying that plan finishes the job.
      const done = await applyPlan(state, next.plan, { actor: ACTOR, url: own.url, batchSize: 2 });
      expect(done.applied).toEqual({ create: all.length - 2, update: 0, delete: 0 });
      const last = await planEnvironment(state, { path: repo, env: ENV, actor: ACTOR });
      expect(last.ok && last.plan.empty).toBe(true);
    } finally {
      await state.close();
      await own.drop();
    }
  });
});
