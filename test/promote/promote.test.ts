/**
 * `rsync promote` (engine/promote) on real Git repositories in temp folders and a real PostgreSQL database:
 * the example workspace (rsync.yaml, integrations/, templates/, test/fixtures/) is committed on main, with a
 * production branch made from it. Changes made on main are refused until staging has applied them; then a
 * promotion is one commit on production with exactly the chosen customer's files (and the template versions it
 * uses), without touching the user's working tree, index or HEAD. A change made directly on production, or a
 * changed template version, is a conflict that writes nothing; an invalid source or a failing mapping test is
 * refused; rsync.yaml moves only with --include-workspace. The built CLI is run for exit codes and messages.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../engine/apply/apply.js';
import { planEnvironment } from '../../engine/plan/index.js';
import { currentActor } from '../../engine/workspace/index.js';
import {
  completePromotion,
  preparePromotion,
  type PromoteOptions,
  type Promotion,
  type Refusal,
} from '../../engine/promote/promote.js';
import { renderPromotionText } from '../../engine/promote/render.js';
import { connect, type Database } from '../../engine/state/db.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'bin', 'run.js');
const exec = promisify(execFile);

const MAPPING = 'integrations/northwind/mappings/netsuite-store-price.jsonata';
const MAPPING_TEST = 'integrations/northwind/mappings/netsuite-store-price.test.yaml';
const CONTOSO_POLICY = 'integrations/contoso/policies.yaml';
const temps: string[] = [];
/** Each promotion validates three workspaces and runs mapping tests; the CLI adds its start-up and the database. */
const SLOW = 120_000;

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** The example workspace committed on main, and a production branch made from it. */
async function makeRepo(opts: { production?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rsync-promote-test-'));
  temps.push(dir);
  for (const p of ['rsync.yaml', 'integrations', 'templates', 'test/fixtures']) {
    await cp(path.join(ROOT, p), path.join(dir, p), { recursive: true });
  }
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'config', 'user.name', 'Pat Promoter');
  await git(dir, 'config', 'user.email', 'pat@acme.example');
  await git(dir, 'config', 'commit.gpgsign', 'false');
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'The example workspace');
  if (opts.production !== false) await git(dir, 'branch', 'production');
  return dir;
}

async function edit(dir: string, file: string, change: (text: string) => string): Promise<void> {
  const p = path.join(dir, file);
  const before = await readFile(p, 'utf8');
  const after = change(before);
  expect(after, `the edit of ${file} changes it`).not.toBe(before);
  await writeFile(p, after);
}

/** Commit edits on main (checked out in `dir`), with whatever else is staged. */
async function commitOnMain(
  dir: string,
  message: string,
  edits: Record<string, (t: string) => string>,
): Promise<string> {
  for (const [file, change] of Object.entries(edits)) await edit(dir, file, change);
  await git(dir, 'add', '-A', '--', ...Object.keys(edits));
  await git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** Commit edits directly on a branch that is not checked out, through a temporary worktree. */
async function commitOnBranch(
  dir: string,
  branch: string,
  message: string,
  edits: Record<string, (t: string) => string>,
): Promise<string> {
  const wt = await mkdtemp(path.join(tmpdir(), 'rsync-promote-wt-'));
  await rm(wt, { recursive: true });
  await git(dir, 'worktree', 'add', '-q', wt, branch);
  try {
    for (const [file, change] of Object.entries(edits)) await edit(wt, file, change);
    await git(wt, 'commit', '-q', '-a', '-m', message);
    return await git(wt, 'rev-parse', 'HEAD');
  } finally {
    await git(dir, 'worktree', 'remove', '--force', wt);
  }
}

async function filesChanged(dir: string, a: string, b: string): Promise<string[]> {
  return (await git(dir, 'diff', '--name-only', a, b)).split('\n').filter(Boolean).sort();
}

let tdb: TestDatabase;
let db: Database;

beforeAll(async () => {
  tdb = await testDatabase('promote');
  db = await connect(ROOT, { url: tdb.url });
});

afterAll(async () => {
  await db?.close();
  await tdb?.drop();
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

async function applyStaging(dir: string): Promise<void> {
  const actor = await currentActor(dir);
  const outcome = await planEnvironment(db, { path: dir, env: 'staging', actor });
  if (!outcome.ok)
    throw new Error(`staging does not validate: ${outcome.diagnostics.map((d) => d.summary).join('; ')}`);
  await applyPlan(db, outcome.plan, { actor, url: tdb.url });
  const again = await planEnvironment(db, { path: dir, env: 'staging', actor });
  expect(again.ok && again.plan.changes.length).toBe(0);
}

async function prepare(dir: string, extra: Partial<PromoteOptions> = {}) {
  return preparePromotion(db, {
    path: dir,
    from: 'staging',
    to: 'production',
    actor: await currentActor(dir),
    ...extra,
  });
}

function promotionOf(outcome: Awaited<ReturnType<typeof prepare>>): Promotion {
  if (!outcome.ok) throw new Error(`refused (${outcome.refusal.reason}): ${outcome.refusal.message}`);
  return outcome.promotion;
}

function refusalOf(outcome: Awaited<ReturnType<typeof prepare>>): Refusal {
  if (outcome.ok) throw new Error('expected a refusal, got a promotion');
  return outcome.refusal;
}

/** What must not change for the user: HEAD, the branch it names, the index and the working tree. */
async function userState(dir: string) {
  return {
    head: await git(dir, 'rev-parse', 'HEAD'),
    branch: await git(dir, 'symbolic-ref', 'HEAD'),
    status: await git(dir, 'status', '--porcelain=v1', '--untracked-files=all'),
    staged: await git(dir, 'diff', '--cached'),
    unstaged: await git(dir, 'diff'),
  };
}

describe('rsync promote: staging → production on one repository', { timeout: SLOW }, () => {
  let repo: string;
  let production0: string;

  beforeAll(async () => {
    repo = await makeRepo();
    production0 = await git(repo, 'rev-parse', 'production');
    // On main: Northwind's in-store price list is renamed (mapping and its test), and Contoso retries more.
    await commitOnMain(repo, 'Northwind: the POS price list is "store"; Contoso: 9 attempts', {
      [MAPPING]: (t) => t.replace("'priceList': 'in-store'", "'priceList': 'store'"),
      [MAPPING_TEST]: (t) => t.replaceAll('priceList: in-store', 'priceList: store'),
      [CONTOSO_POLICY]: (t) => t.replace('maxAttempts: 8', 'maxAttempts: 9'),
    });
  });

  it('refuses before staging has applied the change, and writes nothing', async () => {
    const r = refusalOf(await prepare(repo, { customers: ['northwind'] }));
    expect(r.reason).toBe('not-applied');
    expect(r.exitCode).toBe(75);
    expect(r.pending!.length).toBeGreaterThan(0);
    expect(r.pending!.every((c) => c.customer === 'northwind')).toBe(true);
    expect(r.hint).toContain('rsync apply --env staging --customer northwind');
    expect(await git(repo, 'rev-parse', 'production')).toBe(production0);
  });

  it('after staging is applied: one commit on production with the change and only that customer; the working tree and HEAD untouched', async () => {
    await applyStaging(repo);
    // The user has work in progress: an edit, a staged edit and an untracked file, on main.
    await edit(repo, 'integrations/contoso/customer.yaml', (t) => t.replace('stores: 4', 'stores: 5'));
    await edit(repo, 'integrations/northwind/customer.yaml', (t) => t.replace('stores: 60', 'stores: 61'));
    await git(repo, 'add', 'integrations/northwind/customer.yaml');
    await writeFile(path.join(repo, 'integrations/northwind/notes.txt'), 'draft\n');
    const before = await userState(repo);

    const p = promotionOf(await prepare(repo, { customers: ['northwind'] }));
    expect(p.customers).toEqual(['northwind']);
    expect(p.templates).toEqual([]);
    expect(p.files.map((f) => `${f.status} ${f.path}`)).toEqual([`modified ${MAPPING}`, `modified ${MAPPING_TEST}`]);
    expect(p.changes.map((c) => `${c.action} ${c.address}`)).toEqual(['update northwind/flow/pos-prices']);
    expect(p.changes[0].reason).toContain('mapping changed');
    expect(p.changes[0].mappingDiff!.join('\n')).toContain("+    'priceList': 'store',");
    const text = renderPromotionText(p);
    expect(text).toContain('~ northwind/flow/pos-prices  (mapping changed)');
    expect(text).toContain(`M ${MAPPING}`);
    // Prepared, not yet promoted.
    expect(await git(repo, 'rev-parse', 'production')).toBe(production0);

    const done = await completePromotion(p);
    const production1 = await git(repo, 'rev-parse', 'production');
    expect(done).toMatchObject({ branch: 'production', before: production0, after: production1, checkedOut: null });
    expect(await git(repo, 'rev-list', '--count', `${production0}..production`)).toBe('1');
    expect(await git(repo, 'rev-parse', 'production^')).toBe(production0);
    expect(await filesChanged(repo, production0, 'production')).toEqual([MAPPING, MAPPING_TEST].sort());
    expect(await git(repo, 'show', `production:${MAPPING}`)).toBe(await git(repo, 'show', `main:${MAPPING}`));
    // Contoso's change stays on main.
    expect(await git(repo, 'show', `production:${CONTOSO_POLICY}`)).toContain('maxAttempts: 8');

    const main = await git(repo, 'rev-parse', 'main');
    const message = await git(repo, 'log', '-1', '--format=%B', 'production');
    expect(message.split('\n')[0]).toBe('Promote northwind from staging to production');
    expect(message).toContain(`From staging (main at ${main})`);
    expect(message).toContain('Pat Promoter <pat@acme.example>');
    expect(message).toContain('Rsync-Customers: northwind');
    expect(message).toContain(`Rsync-Source-Commit: ${main}`);
    expect(await git(repo, 'log', '-1', '--format=%an <%ae>', 'production')).toBe('Pat Promoter <pat@acme.example>');

    expect(await userState(repo)).toEqual(before);
    // Leave the work in progress behind for the next tests.
    await git(repo, 'reset', '-q', '--hard');
    await rm(path.join(repo, 'integrations/northwind/notes.txt'));
  });

  it('a second promotion right after has nothing to promote', async () => {
    const production1 = await git(repo, 'rev-parse', 'production');
    const p = promotionOf(await prepare(repo, { customers: ['northwind'] }));
    expect(p.commit).toBeNull();
    expect(p.files).toEqual([]);
    expect(renderPromotionText(p)).toContain('Nothing to promote');
    expect(await git(repo, 'rev-parse', 'production')).toBe(production1);
  });

  it('promotes again after the last promotion (no false conflict), with a new template version the customer uses', async () => {
    const production1 = await git(repo, 'rev-parse', 'production');
    await cp(
      path.join(repo, 'templates/erp-catalog-to-storefront/1'),
      path.join(repo, 'templates/erp-catalog-to-storefront/2'),
      { recursive: true },
    );
    await edit(repo, 'templates/erp-catalog-to-storefront/2/template.yaml', (t) =>
      t.replace(/^ {2}version: 1$/m, '  version: 2'),
    );
    await git(repo, 'add', 'templates/erp-catalog-to-storefront/2');
    await commitOnMain(repo, 'Northwind moves to erp-catalog-to-storefront@2; mapping comment', {
      'integrations/northwind/customer.yaml': (t) =>
        t.replace('erp-catalog-to-storefront@1', 'erp-catalog-to-storefront@2'),
      [MAPPING]: (t) => t.replace('Northwind only:', 'Northwind only (store prices):'),
    });
    await applyStaging(repo);

    const p = promotionOf(await prepare(repo, { customers: ['northwind'] }));
    expect(p.templates).toEqual(['erp-catalog-to-storefront@2']);
    expect(p.files.filter((f) => !f.template).map((f) => f.path)).toEqual([
      'integrations/northwind/customer.yaml',
      MAPPING,
    ]);
    expect(
      p.files
        .filter((f) => f.template)
        .every((f) => f.path.startsWith('templates/erp-catalog-to-storefront/2/') && f.status === 'added'),
    ).toBe(true);
    const updated = p.changes.filter((c) => c.action === 'update').map((c) => c.address);
    expect(updated).toContain('northwind/flow/products-to-storefront');
    expect(updated).toContain('northwind/flow/pos-prices');
    expect(p.changes.find((c) => c.address === 'northwind/flow/products-to-storefront')!.reason).toContain(
      'template erp-catalog-to-storefront@1 → erp-catalog-to-storefront@2',
    );
    expect(p.changes.every((c) => c.customer === 'northwind')).toBe(true);

    await completePromotion(p);
    expect(await git(repo, 'rev-list', '--count', `${production1}..production`)).toBe('1');
    const changed = await filesChanged(repo, production1, 'production');
    expect(
      changed.every(
        (f) => f.startsWith('integrations/northwind/') || f.startsWith('templates/erp-catalog-to-storefront/2/'),
      ),
    ).toBe(true);
    expect(await git(repo, 'rev-parse', 'production:templates/erp-catalog-to-storefront/2')).toBe(
      await git(repo, 'rev-parse', 'main:templates/erp-catalog-to-storefront/2'),
    );
    expect(await git(repo, 'log', '-1', '--format=%B', 'production')).toContain(
      'Rsync-Templates: erp-catalog-to-storefront@2',
    );
  });

  it('a template version that differs on production is a conflict; nothing is written', async () => {
    const production2 = await git(repo, 'rev-parse', 'production');
    const main = await git(repo, 'rev-parse', 'main');
    await commitOnMain(repo, 'Edit a promoted template version in place', {
      'templates/erp-catalog-to-storefront/2/template.yaml': (t) =>
        t.replace(/^ {2}description: >-$/m, '  description: >-\n    Edited in place.'),
    });
    const r = refusalOf(await prepare(repo, { customers: ['northwind'] }));
    expect(r.reason).toBe('conflict');
    expect(r.exitCode).toBe(1);
    expect(r.conflicts!.map((c) => c.path)).toEqual(['templates/erp-catalog-to-storefront/2/template.yaml']);
    expect(r.conflicts![0].why).toContain('new version');
    expect(await git(repo, 'rev-parse', 'production')).toBe(production2);
    await git(repo, 'reset', '-q', '--hard', main);
  });

  it('a change made directly on production to the same customer is a conflict listing the files; nothing is written', async () => {
    const hotfix = await commitOnBranch(repo, 'production', 'Hotfix on production', {
      [MAPPING]: (t) => t.replace("'currency': 'USD'", "'currency': $string('USD')"),
    });
    await commitOnMain(repo, 'Northwind: another mapping change', {
      [MAPPING]: (t) => t.replace('Northwind only (store prices):', 'Northwind only (in-store prices):'),
    });
    await applyStaging(repo);
    const refs = await git(repo, 'for-each-ref');
    const r = refusalOf(await prepare(repo, { customers: ['northwind'] }));
    expect(r.reason).toBe('conflict');
    expect(r.conflicts!.map((c) => c.path)).toEqual([MAPPING]);
    expect(r.conflicts![0].why).toContain('production changed it since the last promotion of northwind');
    expect(r.message).toContain('nothing was promoted');
    expect(r.hint).toContain('cherry-pick');
    expect(await git(repo, 'rev-parse', 'production')).toBe(hotfix);
    expect(await git(repo, 'for-each-ref')).toBe(refs);
    // Every customer (the default) is refused too: northwind is among them.
    expect(refusalOf(await prepare(repo)).reason).toBe('conflict');
  });

  it('updates a worktree that has production checked out when it is clean there, and refuses when it is not', async () => {
    const wt = path.join(await mkdtemp(path.join(tmpdir(), 'rsync-promote-prod-')), 'production');
    temps.push(path.dirname(wt));
    await git(repo, 'worktree', 'add', '-q', wt, 'production');
    // An unrelated local change in the production worktree survives.
    await edit(wt, 'integrations/northwind/customer.yaml', (t) => t.replace('stores: 60', 'stores: 62'));
    const before = await git(repo, 'rev-parse', 'production');

    const p = promotionOf(await prepare(repo, { customers: ['contoso'] }));
    expect(p.checkedOut).toBe(await git(wt, 'rev-parse', '--show-toplevel'));
    expect(p.files.map((f) => f.path)).toEqual([CONTOSO_POLICY]);
    const done = await completePromotion(p);
    expect(done.checkedOut).toBe(p.checkedOut);
    expect(await git(wt, 'rev-parse', 'HEAD')).toBe(p.commit);
    expect(await readFile(path.join(wt, CONTOSO_POLICY), 'utf8')).toContain('maxAttempts: 9');
    expect(await git(wt, 'status', '--porcelain')).toBe('M integrations/northwind/customer.yaml');
    expect(await git(repo, 'rev-parse', 'production^')).toBe(before);

    // Now a local change in the promoted folder: refused, nothing moves.
    await commitOnMain(repo, 'Contoso: 10 attempts', {
      [CONTOSO_POLICY]: (t) => t.replace('maxAttempts: 9', 'maxAttempts: 10'),
    });
    await applyStaging(repo);
    await edit(wt, CONTOSO_POLICY, (t) => t.replace('deadLetter: { retain: 90d }', 'deadLetter: { retain: 91d }'));
    const r = refusalOf(await prepare(repo, { customers: ['contoso'] }));
    expect(r.reason).toBe('checked-out-dirty');
    expect(r.exitCode).toBe(75);
    expect(r.files).toEqual([CONTOSO_POLICY]);
    expect(await git(repo, 'rev-parse', 'production')).toBe(p.commit);
    await git(wt, 'checkout', '-q', '--', '.');
    await git(repo, 'worktree', 'remove', '--force', wt);
  });

  describe('the built CLI', { timeout: SLOW }, () => {
    beforeAll(() => {
      expect(
        existsSync(path.join(ROOT, '.build', 'cli', 'commands', 'promote.js')),
        'build first: npx tsc -p tsconfig.json',
      ).toBe(true);
    });

    it('exit 1 on a conflict, with the files and a hint on stderr, no stack trace', async () => {
      const before = await git(repo, 'rev-parse', 'production');
      const r = await cli(repo, [
        'promote',
        '--from',
        'staging',
        '--to',
        'production',
        '--customer',
        'northwind',
        '--yes',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('rsync: Conflict: 1 file changed on production since the last promotion');
      expect(r.stderr).toContain(MAPPING);
      expect(r.stderr).toContain('cherry-pick');
      expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
      expect(await git(repo, 'rev-parse', 'production')).toBe(before);
      const j = await cli(repo, [
        'promote',
        '--from',
        'staging',
        '--to',
        'production',
        '-c',
        'northwind',
        '--yes',
        '--json',
      ]);
      expect(j.code).toBe(1);
      const out = JSON.parse(j.stdout);
      expect(out).toMatchObject({ version: 1, done: false, refused: { reason: 'conflict', exitCode: 1 } });
      expect(out.refused.conflicts.map((c: { path: string }) => c.path)).toEqual([MAPPING]);
    });

    it('exit 75 without --yes when not a terminal; then --yes promotes (exit 0)', async () => {
      const before = await git(repo, 'rev-parse', 'production');
      const r = await cli(repo, ['promote', '--from', 'staging', '--to', 'production', '--customer', 'contoso']);
      expect(r.code).toBe(75);
      expect(r.stdout).toContain('~ contoso/policy/finance-grade');
      expect(r.stdout).toContain('spec.retry.maxAttempts: 9 → 10');
      expect(r.stderr).toContain('rsync: Refusing to promote without confirmation: this is not a terminal.');
      expect(r.stderr).toContain('--yes');
      expect(r.stderr).not.toContain('    at ');
      expect(await git(repo, 'rev-parse', 'production')).toBe(before);

      const dry = await cli(repo, [
        'promote',
        '--from',
        'staging',
        '--to',
        'production',
        '--customer',
        'contoso',
        '--dry-run',
        '--json',
      ]);
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({
        done: false,
        dryRun: true,
        promotion: { customers: ['contoso'] },
      });
      expect(await git(repo, 'rev-parse', 'production')).toBe(before);

      const ok = await cli(repo, [
        'promote',
        '--from',
        'staging',
        '--to',
        'production',
        '--customer',
        'contoso',
        '--yes',
        '--json',
      ]);
      expect(ok.code).toBe(0);
      const out = JSON.parse(ok.stdout);
      expect(out).toMatchObject({ version: 1, done: true, result: { branch: 'production', before } });
      expect(await git(repo, 'rev-parse', 'production')).toBe(out.result.after);
      expect(await filesChanged(repo, before, 'production')).toEqual([CONTOSO_POLICY]);
    });
  });

  it('rsync.yaml is promoted only with --include-workspace', async () => {
    const before = await git(repo, 'rev-parse', 'production');
    await commitOnMain(repo, 'Silver: 3h', {
      'rsync.yaml': (t) => t.replace('spec: { freshness: 2h,', 'spec: { freshness: 3h,'),
    });
    await applyStaging(repo);
    const without = promotionOf(await prepare(repo, { customers: ['contoso'] }));
    expect(without.commit).toBeNull();
    expect(without.notes.join('\n')).toContain(
      'rsync.yaml differs between main and production; it is not promoted without --include-workspace',
    );

    const p = promotionOf(await prepare(repo, { customers: ['contoso'], includeWorkspace: true }));
    expect(p.workspace).toBe(true);
    expect(p.files.map((f) => f.path)).toEqual(['rsync.yaml']);
    expect(p.changes.map((c) => `${c.action} ${c.address}`)).toEqual(['update workspace/sla/silver']);
    await completePromotion(p);
    expect(await filesChanged(repo, before, 'production')).toEqual(['rsync.yaml']);
    expect(await git(repo, 'log', '-1', '--format=%B', 'production')).toContain('Rsync-Workspace: yes');
  });
});

describe('rsync promote refuses an invalid source', { timeout: SLOW }, () => {
  it('the source workspace does not validate (exit 1, its diagnostics)', async () => {
    const repo = await makeRepo();
    await commitOnMain(repo, 'Break a flow', {
      'integrations/northwind/flows/pos-prices.yaml': (t) =>
        t.replace('target: { connection: pos,', 'target: { connection: pos-nope,'),
    });
    const r = refusalOf(await prepare(repo, { customers: ['northwind'] }));
    expect(r.reason).toBe('source-invalid');
    expect(r.exitCode).toBe(1);
    expect(r.diagnostics!.some((d) => d.range?.file === 'integrations/northwind/flows/pos-prices.yaml')).toBe(true);

    const c = await cli(repo, ['promote', '--from', 'staging', '--to', 'production']);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/integrations\/northwind\/flows\/pos-prices\.yaml:\d+:\d+ error /);
    expect(c.stderr).toContain('rsync: The workspace of staging (main at');
    expect(c.stderr).not.toContain('    at ');
  });

  it('a mapping test of the source fails (exit 1, the failing case)', async () => {
    const repo = await makeRepo();
    await commitOnMain(repo, 'Change the mapping but not its test', {
      [MAPPING]: (t) => t.replace("'priceList': 'in-store'", "'priceList': 'shelf'"),
    });
    const r = refusalOf(await prepare(repo, { customers: ['northwind'] }));
    expect(r.reason).toBe('source-tests-failed');
    expect(r.exitCode).toBe(1);
    expect(r.cases!.length).toBeGreaterThan(0);
    expect(r.cases!.every((c) => c.file === MAPPING_TEST)).toBe(true);
    expect(await git(repo, 'rev-parse', 'production')).toBe(await git(repo, 'rev-parse', 'main^'));
  });

  it('the target branch does not exist: exit 66 with the command that creates it', async () => {
    const repo = await makeRepo({ production: false });
    const c = await cli(repo, ['promote', '--from', 'staging', '--to', 'production', '--yes']);
    expect(c.code).toBe(66);
    expect(c.stderr).toContain(
      'The branch production (the ref of environment production in rsync.yaml) does not exist',
    );
    expect(c.stderr).toContain('git branch production main');
    expect(c.stderr).not.toContain('    at ');
  });
});

/** Run the built CLI with stdin not a terminal, against the test database. */
function cli(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, DATABASE_URL: tdb.url, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
