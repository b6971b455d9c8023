/**
 * Drift: the live pg-boss queues and schedules of an environment changed outside rsync. `rsync plan` reports each
 * changed object (with the flows it serves) and exits 2 with --detailed-exitcode; `rsync apply` heals it; the next
 * plan is empty.
 *
 * The built CLI in child processes, on a Git repository holding a copy of the example workspace and a fresh
 * PostgreSQL database (test/helpers/db.ts). The hand edits are the ones an operator makes: DELETE FROM
 * pgboss.schedule, UPDATE pgboss.queue, pg-boss's own deleteQueue/createQueue.
 *
 * CASES: regression tests for bugs that were fixed in plan and apply.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../engine/plan/types.js';
import { openBoss } from '../../engine/live/boss.js';
import { flowRouting } from '../../engine/live/layout.js';
import { readDeployed } from '../../engine/state/deployments.js';
import { buildProblem as sharedBuildProblem, runCli, show, git, exampleRepo, type Run } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ENV = 'staging';
const ACTOR = 'ci-bot <ci@acme.example>';

/** Regression cases (each was a bug once): what apply and plan must do. */
const CASES: Record<string, string> = {
  'dead-letter-set-by-hand':
    'a dead_letter set by hand on a queue that should have none is reported and cleared by apply',
  'expiry-changed-by-hand': 'a queue whose expireInSeconds was changed by hand is reported and healed',
  'scoped-apply-heals-unplanned-drift':
    "apply of a --customer plan leaves other customers' drift alone (its plan did not show it)",
  'unexpected-queue-not-planned': 'an unused rsync queue is shown by plan before apply removes it',
};
const bug = (name: string) => {
  const what = CASES[name];
  if (!what) throw new Error(`unknown case ${name}`);
  return (body: () => Promise<void>) => it(what, body);
};

// --- helpers (test/helpers/cli.ts) ----------------------------------------------------------------------------------

const buildProblem = () => sharedBuildProblem(['cli/commands/plan.ts', 'cli/commands/apply.ts']);
const rsync = (args: string[], cwd: string, url: string): Promise<Run> =>
  runCli(args, cwd, { url, actor: ACTOR, isolateGit: true });

// --- the tests -----------------------------------------------------------------------------------------------------

interface LiveQueue {
  name: string;
  retry_limit: number;
  retry_delay: number;
  retry_backoff: boolean;
  expire_seconds: number;
  dead_letter: string | null;
}

describe('drift of the live pg-boss queues and schedules', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: string;
  let edits = 0;
  const cli = (...args: string[]) => rsync(args, repo, db.url);
  const queue = async (name: string) =>
    (await pool.query<LiveQueue>(`SELECT * FROM pgboss.queue WHERE name = $1`, [name])).rows[0];
  const schedule = async (name: string) =>
    (
      await pool.query<{ cron: string; timezone: string }>(
        `SELECT cron, timezone FROM pgboss.schedule WHERE name = $1`,
        [name],
      )
    ).rows[0];
  const plan = async (...args: string[]): Promise<{ run: Run; plan: Plan }> => {
    const run = await cli('plan', '--json', '--detailed-exitcode', ...args);
    expect([0, 2], show(run)).toContain(run.status);
    return { run, plan: JSON.parse(run.stdout) as Plan };
  };
  const drift = (p: Plan) => p.drift.map((d) => `${d.type} ${d.object} ${d.problem}`).sort();
  /** The queue and schedule of a deployed flow, and every deployed flow that shares them. */
  async function routeOf(address: string) {
    const flows = (await readDeployed(pool, ENV)).filter((d) => d.kind === 'flow');
    const route = flowRouting(ENV, flows.find((f) => f.address === address)!);
    return {
      queue: route.queue!,
      schedule: route.schedule,
      queueServes: flows
        .filter((f) => flowRouting(ENV, f).queue === route.queue)
        .map((f) => f.address)
        .sort(),
      scheduleServes: flows
        .filter((f) => flowRouting(ENV, f).schedule?.name === route.schedule?.name)
        .map((f) => f.address)
        .sort(),
    };
  }
  async function expectHealed(healed: number): Promise<void> {
    const r = await cli('apply', '--auto-approve');
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain(`Applied to staging: 0 created, 0 updated, 0 deleted, ${healed} drifted objects healed`);
    const after = await cli('plan', '--detailed-exitcode');
    expect(after.status, show(after)).toBe(0);
    expect(after.stdout).toContain('No changes.');
  }
  /** Commit a change to one of a customer's connections (an update to apply). */
  function changeConnection(rel: string): void {
    const file = path.join(repo, rel);
    const text = readFileSync(file, 'utf8');
    const next = text.replace(/^( {2}description: .*?)( \(edit \d+\))?$/m, `$1 (edit ${++edits})`);
    if (next === text) throw new Error(`${rel}: no description to change`);
    writeFileSync(file, next);
    git(repo, 'commit', '--quiet', '-am', `Reword ${rel} (edit ${edits})`);
  }

  beforeAll(async () => {
    const problem = buildProblem();
    if (problem) throw new Error(problem);
    db = await testDatabase('drift');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test drift' });
    repo = exampleRepo('rsync-drift-');
    const first = await cli('apply', '--auto-approve');
    if (first.status !== 0) throw new Error(`the first apply failed:\n${show(first)}`);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('starts without drift', async () => {
    const { run, plan: p } = await plan();
    expect(run.status).toBe(0);
    expect(p.drift).toEqual([]);
  });

  it('a schedule deleted by hand: plan reports it missing, with the flows it serves; apply re-creates it', async () => {
    const route = await routeOf('northwind/flow/payouts-to-erp');
    const name = route.schedule!.name;
    // One per-minute tick per environment starts every scheduled flow (engine/live/layout.ts).
    expect(route.schedule).toMatchObject({ name: `rsync.${ENV}.tick`, cron: '* * * * *', timezone: 'UTC' });
    expect(await schedule(name)).toEqual({ cron: '* * * * *', timezone: 'UTC' });

    await pool.query(`DELETE FROM pgboss.schedule WHERE name = $1`, [name]);

    const { run, plan: p } = await plan();
    expect(run.status).toBe(2);
    expect(p.changes).toEqual([]);
    expect(p.empty).toBe(false);
    expect(p.drift).toEqual([
      {
        object: name,
        type: 'schedule',
        problem: 'missing',
        detail: 'the schedule "* * * * *" (UTC) does not exist',
        addresses: route.scheduleServes,
      },
    ]);
    expect(route.scheduleServes).toContain('northwind/flow/payouts-to-erp');
    const text = await cli('plan');
    expect(text.stdout).toContain(
      `! schedule ${name} missing: the schedule "* * * * *" (UTC) does not exist — serves `,
    );
    expect(text.stdout).toContain('1 drifted object to heal');

    await expectHealed(1);
    expect(await schedule(name)).toEqual({ cron: '* * * * *', timezone: 'UTC' });
  });

  it("a queue's retry settings changed by hand: plan reports both values; apply restores the policy's", async () => {
    const route = await routeOf('northwind/flow/payouts-to-erp');
    // northwind's finance-grade policy: maxAttempts 8 (pg-boss counts retries: 7), initial 2s, exponential.
    expect(await queue(route.queue)).toMatchObject({
      retry_limit: 7,
      retry_delay: 2,
      retry_backoff: true,
      dead_letter: `${route.queue}.dead`,
    });

    await pool.query(`UPDATE pgboss.queue SET retry_limit = 0, retry_delay = 60 WHERE name = $1`, [route.queue]);

    const { run, plan: p } = await plan();
    expect(run.status).toBe(2);
    expect(p.drift).toEqual([
      {
        object: route.queue,
        type: 'queue',
        problem: 'changed',
        detail: 'retryLimit 0 ≠ 7, retryDelay 60 ≠ 2',
        addresses: route.queueServes,
      },
    ]);
    expect(route.queueServes.length).toBeGreaterThan(3);

    await expectHealed(1);
    expect(await queue(route.queue)).toMatchObject({ retry_limit: 7, retry_delay: 2 });
  });

  it('a tick queue deleted with pg-boss (its schedule goes with it): both reported missing, both re-created', async () => {
    const route = await routeOf('contoso/flow/storefront-inventory-levels');
    const name = route.schedule!.name;
    const boss = await openBoss(pool);
    try {
      await boss.deleteQueue(name);
    } finally {
      await boss.stop({ graceful: false, close: false, wait: false });
    }
    expect(await queue(name)).toBeUndefined();
    expect(await schedule(name)).toBeUndefined();

    const { plan: p } = await plan();
    expect(drift(p)).toEqual([`queue ${name} missing`, `schedule ${name} missing`]);
    for (const d of p.drift) expect(d.addresses).toEqual(route.scheduleServes);

    await expectHealed(2);
    expect(await queue(name)).toMatchObject({ retry_limit: 0, dead_letter: null });
    expect(await schedule(name)).toEqual({ cron: route.schedule!.cron, timezone: 'UTC' });
  });

  it('an rsync schedule that no deployed flow uses is "unexpected"; apply removes it and its empty queue', async () => {
    const name = `rsync.${ENV}.tick.orphan`;
    const boss = await openBoss(pool);
    try {
      await boss.createQueue(name, { name, policy: 'standard' });
      await boss.schedule(name, '*/7 * * * *', { env: ENV }, { tz: 'UTC' });
    } finally {
      await boss.stop({ graceful: false, close: false, wait: false });
    }

    const { run, plan: p } = await plan();
    expect(run.status).toBe(2);
    // (Its queue is reported too once unexpected queues are: see the known bug unexpected-queue-not-planned.)
    expect(p.drift.filter((d) => d.type === 'schedule')).toEqual([
      {
        object: name,
        type: 'schedule',
        problem: 'unexpected',
        detail: 'a schedule "*/7 * * * *" that no deployed flow uses',
        addresses: [],
      },
    ]);
    expect(p.drift.filter((d) => d.object !== name || !['schedule', 'queue'].includes(d.type))).toEqual([]);
    // A plan limited to a customer does not judge what the environment as a whole uses.
    expect((await plan('--customer', 'northwind')).plan.drift).toEqual([]);

    await expectHealed(p.drift.length);
    expect(await schedule(name)).toBeUndefined();
    expect(await queue(name)).toBeUndefined();
  });

  // --- known bugs ----------------------------------------------------------------------------------------------------

  bug('dead-letter-set-by-hand')(async () => {
    const route = await routeOf('northwind/flow/storefront-inventory-levels');
    const tick = route.schedule!.name;
    await pool.query(`UPDATE pgboss.queue SET dead_letter = $2 WHERE name = $1`, [tick, `${route.queue}.dead`]);
    try {
      const { plan: p } = await plan();
      expect(p.drift).toEqual([
        {
          object: tick,
          type: 'queue',
          problem: 'changed',
          detail: `deadLetter ${route.queue}.dead ≠ none`,
          addresses: route.scheduleServes,
        },
      ]);
      await expectHealed(1);
      expect((await queue(tick)).dead_letter).toBeNull();
    } finally {
      await pool.query(`UPDATE pgboss.queue SET dead_letter = NULL WHERE name = $1`, [tick]);
    }
  });

  bug('expiry-changed-by-hand')(async () => {
    const route = await routeOf('northwind/flow/payouts-to-erp');
    const before = (await queue(route.queue)).expire_seconds;
    expect(before).toBe(15 * 60);
    await pool.query(`UPDATE pgboss.queue SET expire_seconds = 1 WHERE name = $1`, [route.queue]);
    try {
      const { run, plan: p } = await plan();
      expect(run.status).toBe(2);
      expect(drift(p)).toEqual([`queue ${route.queue} changed`]);
      await expectHealed(1);
      expect((await queue(route.queue)).expire_seconds).toBe(before);
    } finally {
      await pool.query(`UPDATE pgboss.queue SET expire_seconds = $2 WHERE name = $1`, [route.queue, before]);
    }
  });

  bug('scoped-apply-heals-unplanned-drift')(async () => {
    // The tick serves every scheduled flow, Contoso's and northwind's: a northwind-scoped plan must show its drift
    // if apply re-creates it.
    const route = await routeOf('contoso/flow/storefront-inventory-levels');
    const name = route.schedule!.name;
    expect(route.scheduleServes.some((a) => a.startsWith('northwind/'))).toBe(true);
    await pool.query(`DELETE FROM pgboss.schedule WHERE name = $1`, [name]);
    changeConnection('integrations/northwind/connections/shopify.yaml');
    try {
      const { plan: scoped } = await plan('--customer', 'northwind');
      expect(scoped.changes.map((c) => `${c.action} ${c.address}`)).toEqual(['update northwind/connection/shopify']);
      const r = await cli('apply', '--customer', 'northwind', '--auto-approve');
      expect(r.status, show(r)).toBe(0);
      // The plan shows exactly what apply does: either it listed Contoso's schedule, or apply left it alone.
      const shown = scoped.drift.some((d) => d.object === name);
      expect({ shown, recreated: (await schedule(name)) !== undefined }).not.toEqual({ shown: false, recreated: true });
    } finally {
      await cli('apply', '--auto-approve');
    }
  });

  bug('unexpected-queue-not-planned')(async () => {
    const name = `rsync.${ENV}.leftover`;
    const boss = await openBoss(pool);
    try {
      await boss.createQueue(name, { name, policy: 'standard' });
    } finally {
      await boss.stop({ graceful: false, close: false, wait: false });
    }
    changeConnection('integrations/contoso/connections/square.yaml');
    try {
      const { plan: p } = await plan();
      expect(p.changes.map((c) => `${c.action} ${c.address}`)).toEqual(['update contoso/connection/square']);
      const r = await cli('apply', '--auto-approve');
      expect(r.status, show(r)).toBe(0);
      // The plan shows exactly what apply does: either it listed the queue, or apply left it alone.
      const shown = p.drift.some((d) => d.object === name);
      expect({ shown, deleted: (await queue(name)) === undefined }).not.toEqual({ shown: false, deleted: true });
    } finally {
      await cli('apply', '--auto-approve');
    }
  });
});
