/**
 * The controller on a real Git repository and real PostgreSQL: a bare "origin", an author's clone that pushes to it,
 * and the workspace's own clone that the controller fetches. Staging syncs automatically and heals drift; production
 * requires approval, so it is only reported out of sync; two controllers on one database apply a commit once; the
 * push webhook wakes the controller at once when it is signed with the secret, and is 401 otherwise.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../engine/gitops/controller.js';
import { serveGitHook, signGitHook } from '../../engine/gitops/git-hook.js';
import { closeServer } from '../../engine/runtime/server.js';
import { connect, type Database } from '../../engine/state/db.js';
import { buildProblem, git, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, SANDBOX_SYSTEMS, spawnWorker, stockFlow, until, writeWorkspace } from '../helpers/runtime.js';

const ENVIRONMENTS = `    staging: { ref: main, autoSync: true, selfHeal: true }
    production: { ref: main, autoSync: true, selfHeal: true, requiresApproval: true }
    nightly:
      ref: main
      autoSync: true
      syncWindows: [{ schedule: "0 22 * * *", duration: 8h, timezone: UTC }]`;

let tdb: TestDatabase;
let db: Database;
let author: string;
let ws: string;
const running: Controller[] = [];

/** Commit what the author changed and push it to origin's main; the new commit. */
function push(message: string): string {
  git(author, 'add', '-A');
  git(author, 'commit', '--quiet', '-m', message);
  git(author, 'push', '--quiet', 'origin', 'HEAD:main');
  return git(author, 'rev-parse', 'HEAD');
}

/** Change the scheduled flow's cron in the author's clone (a new revision of one flow). */
function setCron(cron: string): void {
  const file = path.join(author, 'integrations', 'acme', 'flows', 'stock.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/cron: "[^"]*"/, `cron: "${cron}"`));
}

async function applies(env: string, commit?: string): Promise<{ n: number; actor: string; commit: string }[]> {
  const { rows } = await db.pool.query(
    `SELECT n, actor, commit FROM rsync.apply_log WHERE env = $1 AND action = 'apply' AND ($2::text IS NULL OR commit = $2) ORDER BY n`,
    [env, commit ?? null],
  );
  return rows;
}

function controller(o: Partial<ConstructorParameters<typeof Controller>[0]> = {}): Controller {
  const c = new Controller({ db, root: ws, envs: ['staging', 'production'], intervalMs: 3_600_000, ...o });
  running.push(c);
  return c;
}

beforeAll(async () => {
  const problem = buildProblem(['status', 'controller', 'worker']);
  if (problem) throw new Error(problem);
  tdb = await testDatabase('controller');
  const top = mkdtempSync(path.join(os.tmpdir(), 'rsync-controller-'));
  git(top, 'init', '--quiet', '--bare', 'origin.git');
  author = path.join(top, 'author');
  mkdirSync(author);
  writeWorkspace(author, {
    connections: SANDBOX_SYSTEMS,
    flows: [stockFlow({ trigger: '{ schedule: { cron: "*/15 * * * *" } }' })],
  });
  const rsyncYaml = path.join(author, 'rsync.yaml');
  writeFileSync(rsyncYaml, readFileSync(rsyncYaml, 'utf8').replace('    staging: { ref: main }', ENVIRONMENTS));
  git(author, 'init', '--quiet');
  git(author, 'remote', 'add', 'origin', path.join(top, 'origin.git'));
  push('The workspace');
  git(top, 'clone', '--quiet', path.join(top, 'origin.git'), 'ws');
  ws = path.join(top, 'ws');
  db = await connect(ws, { url: tdb.url });
}, 60_000);

afterAll(async () => {
  for (const c of running) await c.stop();
  await db?.close();
  await tdb?.drop();
});

describe('rsync controller', { timeout: 60_000 }, () => {
  it('applies the first commit to staging, and reports production (approval required) out of sync', async () => {
    const c = controller();
    const first = git(author, 'rev-parse', 'HEAD');
    const out = await c.syncAll();
    expect(out.map((o) => [o.env, o.result])).toEqual([
      ['staging', 'applied'],
      ['production', 'out-of-sync'],
    ]);
    expect(out[1].reason).toMatch(/requires approval/);
    const logged = await applies('staging', first);
    expect(logged).toHaveLength(1);
    expect(logged[0].actor).toMatch(/^rsync-controller@/);
    expect(await applies('production')).toHaveLength(0);

    const prod = await cli(ws, tdb.url, 'status', '--env', 'production', '--json');
    expect(prod.status, show(prod)).toBe(0);
    const sync = JSON.parse(prod.stdout).sync;
    expect(sync).toMatchObject({ state: 'out-of-sync', seenCommit: first, appliedCommit: null });
    const text = await cli(ws, tdb.url, 'status', '--env', 'production');
    expect(text.stdout).toContain(
      `production: out of sync (${first.slice(0, 12)} not applied: 6 changes; production requires approval`,
    );
    const staging = await cli(ws, tdb.url, 'status', '--env', 'staging');
    expect(staging.stdout.split('\n')[0]).toContain(`staging: synced at ${first.slice(0, 12)}`);
    await c.stop();
  });

  it('applies a commit pushed to main within one interval', async () => {
    const interval = 2_000;
    const c = controller({ intervalMs: interval, envs: ['staging'] });
    c.start();
    await c.wake(); // the first round (nothing new) is over
    setCron('*/10 * * * *');
    const commit = push('Every ten minutes');
    const pushed = Date.now();
    await until(
      'the commit applied',
      async () => ((await applies('staging', commit)).length ? true : undefined),
      15_000,
    );
    const took = Date.now() - pushed;
    // At most one interval until the next round, plus that round's fetch, plan and apply.
    expect(took).toBeLessThan(interval + 4_000);
    const cron = await db.pool.query(
      `SELECT spec->'spec'->'trigger'->'schedule'->>'cron' AS cron FROM rsync.resources WHERE env = 'staging' AND address = 'acme/flow/stock'`,
    );
    expect(cron.rows[0].cron).toBe('*/10 * * * *');
    await c.stop();
  });

  it('heals a schedule deleted by SQL from pg-boss, and logs the heal as the controller', async () => {
    const c = controller({ envs: ['staging'] });
    await db.pool.query(`DELETE FROM pgboss.schedule WHERE name = 'rsync.staging.tick'`);
    const before = (await applies('staging')).length;
    const [r] = await c.syncAll();
    expect(r.result).toBe('healed');
    const back = await db.pool.query(`SELECT cron FROM pgboss.schedule WHERE name = 'rsync.staging.tick'`);
    expect(back.rows).toHaveLength(1);
    const after = await applies('staging');
    expect(after).toHaveLength(before + 1);
    expect(after[after.length - 1].actor).toMatch(/^rsync-controller@/);
    // Healed: the next round has nothing to do.
    expect((await c.syncAll())[0].result).toBe('synced');
    await c.stop();
  });

  it('never applies one commit twice however many controllers run', async () => {
    setCron('*/5 * * * *');
    const commit = push('Every five minutes');
    const a = controller({ actor: 'rsync-controller@a' });
    const b = controller({ actor: 'rsync-controller@b' });
    // Both at once, and again: the claim lets one act; the other is told it is not the leader.
    const rounds = await Promise.all([a.syncAll(), b.syncAll(), a.syncAll(), b.syncAll()]);
    const staging = rounds.flat().filter((o) => o.env === 'staging');
    expect(staging.filter((o) => o.result === 'applied')).toHaveLength(1);
    expect(staging.filter((o) => o.result === 'not-leader').length).toBeGreaterThanOrEqual(1);
    expect(await applies('staging', commit)).toHaveLength(1);
    // The leader goes away: the other takes over, and finds nothing left to apply.
    const leader = staging.find((o) => o.result === 'applied')!;
    const other = rounds.findIndex((r) => r.includes(leader)) % 2 === 0 ? b : a;
    await (other === a ? b : a).stop();
    expect((await other.syncAll()).find((o) => o.env === 'staging')?.result).toBe('synced');
    expect(await applies('staging', commit)).toHaveLength(1);
    await other.stop();
  });

  it('is woken at once by a signed push webhook, and refuses a bad signature with 401', async () => {
    const secret = 'controller-test-webhook-secret';
    const c = controller({ envs: ['staging'] });
    const served = await serveGitHook(
      { secret, wake: () => void c.wake(), watching: (b) => c.watching(b) },
      0,
      '127.0.0.1',
    );
    try {
      await c.syncAll();
      setCron('*/20 * * * *');
      const commit = push('Every twenty minutes');
      const body = JSON.stringify({ ref: 'refs/heads/main', after: commit });
      const post = (signature: string | undefined) =>
        fetch(`http://127.0.0.1:${served.port}/hooks/git`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'push',
            ...(signature ? { 'x-hub-signature-256': signature } : {}),
          },
          body,
        });
      expect((await post(signGitHook('another secret', body))).status).toBe(401);
      expect((await post(undefined)).status).toBe(401);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await applies('staging', commit)).toHaveLength(0); // the interval is an hour: nothing woke it
      const sent = Date.now();
      const ok = await post(signGitHook(secret, body));
      expect(ok.status).toBe(202);
      expect(await ok.json()).toMatchObject({ accepted: true, ref: 'refs/heads/main', environments: ['staging'] });
      await until(
        'the pushed commit applied',
        async () => ((await applies('staging', commit)).length ? true : undefined),
        10_000,
      );
      expect(Date.now() - sent).toBeLessThan(8_000);
    } finally {
      await closeServer(served.server);
      await c.stop();
    }
  });

  it('rsync controller syncs from the command line; a webhook secret variable that is not set is a usage error', async () => {
    const unset = await cli(
      ws,
      tdb.url,
      'controller',
      '--env',
      'staging',
      '--webhook-secret-env',
      'RSYNC_NO_SUCH_SECRET',
    );
    expect(unset.status).toBe(64);
    expect(unset.stderr).toContain(
      '--webhook-secret-env RSYNC_NO_SUCH_SECRET: the variable RSYNC_NO_SUCH_SECRET is not set',
    );
    setCron('*/30 * * * *');
    const commit = push('Every half hour');
    const r = await cli(
      ws,
      tdb.url,
      'controller',
      '--env',
      'staging',
      '--interval',
      '1s',
      '--port',
      '0',
      '--for',
      '3s',
    );
    expect(r.status, show(r)).toBe(0);
    expect(r.stderr).toContain(`controller: staging: applied ${commit.slice(0, 12)}`);
    expect(await applies('staging', commit)).toHaveLength(1);
  });

  it("rsync worker --sync runs the controller, its push webhook on the worker's port", async () => {
    process.env.RSYNC_TEST_GIT_SECRET = 'worker-sync-secret';
    const started = new Date();
    const w = spawnWorker(
      ws,
      tdb.url,
      '--threads',
      '1',
      '--sync',
      '--interval',
      '1h',
      '--webhook-secret-env',
      'RSYNC_TEST_GIT_SECRET',
    );
    try {
      const port = await until(
        "the worker's port",
        async () => /http:\/\/127\.0\.0\.1:(\d+)\/hooks/.exec(w.output)?.[1],
        30_000,
      );
      // Its first round is over (the environment checked since the worker started): what comes next, the webhook woke.
      await until(
        'the first round',
        async () =>
          (
            await db.pool.query(
              `SELECT 1 FROM rsync.sync_state WHERE env = 'staging' AND checked_at > $1 AND controller LIKE 'rsync-controller@%'`,
              [started],
            )
          ).rowCount
            ? true
            : undefined,
        30_000,
      );
      setCron('*/45 * * * *');
      const commit = push('At :00 and :45');
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      const bad = await fetch(`http://127.0.0.1:${port}/hooks/git`, {
        method: 'POST',
        body,
        headers: { 'x-hub-signature-256': signGitHook('nope', body) },
      });
      expect(bad.status).toBe(401);
      const ok = await fetch(`http://127.0.0.1:${port}/hooks/git`, {
        method: 'POST',
        body,
        headers: { 'x-hub-signature-256': signGitHook('worker-sync-secret', body) },
      });
      expect(ok.status).toBe(202);
      await until(
        'the pushed commit applied',
        async () => ((await applies('staging', commit)).length ? true : undefined),
        15_000,
      );
    } finally {
      delete process.env.RSYNC_TEST_GIT_SECRET;
      w.kill('SIGTERM');
      await w.exited;
    }
  });

  it('applies only inside a sync window, and leaves changes made outside it to selfHeal', async () => {
    let clock = '';
    const c = controller({ envs: ['nightly'], now: () => new Date(clock) });
    const at = (iso: string) => {
      clock = iso;
      return c;
    };
    const first = git(author, 'rev-list', '--max-parents=0', 'HEAD');
    const noon = await at('2026-12-03T12:00:00Z').syncAll();
    expect(noon[0]).toMatchObject({ result: 'out-of-sync' });
    expect(noon[0].reason).toContain("outside nightly's sync windows (the next opens at 2026-12-03T22:00:00.000Z)");
    const dawn = await at('2026-12-04T05:59:00Z').syncAll();
    expect(dawn[0]).toMatchObject({ result: 'applied' });
    const head = dawn[0].commit!;
    // Someone applies the first commit by hand: the controller synced head already, and selfHeal is off here.
    const byHand = await cli(ws, tdb.url, 'apply', '--env', 'nightly', '--ref', first, '--auto-approve');
    expect(byHand.status, show(byHand)).toBe(0);
    const later = await at('2026-12-04T05:59:30Z').syncAll();
    expect(later[0]).toMatchObject({ result: 'out-of-sync' });
    expect(later[0].reason).toContain(`the deployed state differs from ${head.slice(0, 12)}, applied before`);
    expect(later[0].reason).toContain('selfHeal is off for nightly');
    expect(await applies('nightly', head)).toHaveLength(1);
    await c.stop();
  });
});
