/**
 * The promotion soak (issue 18, part 5): with `promotion: { soak: 1h, maxDeadLetterRate: "0.5%" }` in rsync.yaml,
 * `rsync promote` refuses (exit 75) until the source environment has run what is promoted for an hour, saying how
 * long is left, and while its dead-letter rate since then is above 0.5%, saying what it is; `--skip-soak "<why>"`
 * promotes anyway, the reason kept in the commit's trailer and in the apply log. A real Git repository (the example
 * workspace on main, production branched from it) and a real PostgreSQL database.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../engine/apply/apply.js';
import { planEnvironment } from '../../engine/plan/index.js';
import { completePromotion, type PromoteOutcome, preparePromotion } from '../../engine/promote/promote.js';
import { recordSkippedSoak } from '../../engine/promote/soak.js';
import { connect, type Database } from '../../engine/state/db.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ACTOR = 'Pat Promoter <pat@acme.example>';
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('rsync promote: the soak of the source environment', { timeout: 120_000 }, () => {
  let tdb: TestDatabase;
  let db: Database;
  let repo: string;
  let appliedAt: Date;
  const prepare = (now: Date, skipSoak?: string): Promise<PromoteOutcome> =>
    preparePromotion(db, {
      path: repo,
      from: 'staging',
      to: 'production',
      customers: ['northwind'],
      actor: ACTOR,
      now,
      skipSoak,
    });
  const refusal = (o: PromoteOutcome) => {
    if (o.ok) throw new Error('expected a refusal');
    return o.refusal;
  };
  const later = (ms: number) => new Date(appliedAt.getTime() + ms);

  beforeAll(async () => {
    tdb = await testDatabase('promote_soak');
    repo = mkdtempSync(path.join(os.tmpdir(), 'rsync-soak-'));
    for (const p of ['rsync.yaml', 'integrations', 'templates', 'test/fixtures'])
      cpSync(path.join(ROOT, p), path.join(repo, p), { recursive: true });
    const rsyncYaml = path.join(repo, 'rsync.yaml');
    const text = readFileSync(rsyncYaml, 'utf8');
    writeFileSync(
      rsyncYaml,
      text.replace(/^ {2}defaults:\n/m, '  promotion: { soak: 1h, maxDeadLetterRate: "0.5%" }\n  defaults:\n'),
    );
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.name', 'Pat Promoter');
    git(repo, 'config', 'user.email', 'pat@acme.example');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'The example workspace, with a promotion soak');
    git(repo, 'branch', 'production');
    // A change on main, applied to staging.
    const mapping = path.join(repo, 'integrations/northwind/mappings/netsuite-store-price.jsonata');
    writeFileSync(mapping, `${readFileSync(mapping, 'utf8')}\n/* reviewed */\n`);
    git(repo, 'commit', '-q', '-am', 'A comment in the store price mapping');
    db = await connect(repo, { url: tdb.url });
    const outcome = await planEnvironment(db, { path: repo, env: 'staging', actor: ACTOR });
    if (!outcome.ok) throw new Error('staging does not plan');
    await applyPlan(db, outcome.plan, { actor: ACTOR, url: tdb.url });
    const { rows } = await db.pool.query<{ at: Date }>(
      `SELECT max(applied_at) AS at FROM rsync.resources WHERE env = 'staging' AND customer = 'northwind'`,
    );
    appliedAt = rows[0].at;
  });

  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('refuses (exit 75) within the soak time, saying how long is left', async () => {
    const r = refusal(await prepare(later(20 * 60_000)));
    expect(r.reason).toBe('soak');
    expect(r.exitCode).toBe(75);
    expect(r.message).toContain('staging has run it for 20m of the 1h soak: 40m left');
    expect(r.soak).toMatchObject({ env: 'staging', read: 0, dead: 0, problems: [expect.any(String)] });

    // The CLI prints the message and the hint, and exits with the refusal's code (cli/commands/promote.ts).
    expect(r.hint).toContain('--skip-soak "<why>"');
  });

  it('refuses past the soak time while the dead-letter rate is above 0.5%, saying what it is', async () => {
    // Runs of northwind's flows in staging since the apply: 1,000 records read, 12 dead-lettered (1.2%).
    await db.pool.query(
      `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at, finished_at, read, written, dead)
       VALUES ('staging', 'northwind/flow/pos-prices', 1, 'schedule', 'succeeded', 'w1', $1, $1, 600, 594, 6),
              ('staging', 'northwind/flow/orders-to-erp', 1, 'event', 'succeeded', 'w1', $1, $1, 400, 394, 6),
              ('staging', 'contoso/flow/orders-to-erp', 1, 'event', 'succeeded', 'w1', $1, $1, 100, 0, 100)`,
      [later(60_000)],
    );
    const r = refusal(await prepare(later(2 * 3_600_000)));
    expect(r.reason).toBe('soak');
    // contoso's dead letters are not northwind's: only the promoted customer's runs count.
    expect(r.message).toContain('its dead-letter rate in staging since then is 1.20% (12 of 1000 records), above 0.5%');
    expect(r.message).not.toContain('left');
  });

  it('promotes past the soak once the rate is under it', async () => {
    await db.pool.query(
      `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at, finished_at, read, written, dead)
       VALUES ('staging', 'northwind/flow/pos-prices', 1, 'schedule', 'succeeded', 'w1', $1, $1, 2000, 2000, 0)`,
      [later(90_000)],
    );
    const o = await prepare(later(2 * 3_600_000));
    expect(o.ok, o.ok ? '' : o.refusal.message).toBe(true);
    if (o.ok) {
      expect(o.promotion.soak).toMatchObject({ rate: '0.40%', problems: [] });
      expect(o.promotion.message).not.toContain('Rsync-Skip-Soak');
    }
  });

  it('--skip-soak with a reason overrides it, in the commit and the apply log', async () => {
    const o = await prepare(later(60_000), 'hotfix for INC-1234');
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    const p = o.promotion;
    expect(p.soak?.skipped).toBe('hotfix for INC-1234');
    expect(p.message).toContain('Rsync-Skip-Soak: hotfix for INC-1234');
    const done = await completePromotion(p);
    expect(git(repo, 'log', '-1', '--format=%B', 'production')).toContain('Rsync-Skip-Soak: hotfix for INC-1234');
    const n = await recordSkippedSoak(db.pool, p, p.soak!, done.after);
    const { rows } = await db.pool.query(
      `SELECT env, action, actor, commit, detail FROM rsync.apply_log WHERE n = $1`,
      [n],
    );
    expect(rows[0]).toMatchObject({
      env: 'production',
      action: 'promote-skip-soak',
      actor: ACTOR,
      commit: done.after,
      detail: { from: 'staging', customers: ['northwind'], reason: 'hotfix for INC-1234' },
    });
    expect(rows[0].detail.problems[0]).toContain('left');
  });
});
