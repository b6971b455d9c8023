/**
 * `rsync history` (engine/history): a temp Git repository with a copy of the example workspace (staging bound to
 * its branch `trunk`), five commits and two applies to staging through engine/plan and engine/apply on a fresh
 * PostgreSQL database —
 *
 *   A, B, C (commits, an hour ago)  →  apply #1 (staging at C)  →  D, E (commits)  →  apply #2 (staging at E)
 *
 * — and the timeline shows them newest first, interleaved, each commit with the resources it touched, each apply
 * with who, which commit, where and what it did; --customer, --address, --env and --limit narrow it; without a
 * reachable database, or with no database ever created, it shows Git alone with a note (and creates nothing).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../engine/apply/apply.js';
import {
  workspaceHistory,
  type ApplyEvent,
  type CommitEvent,
  type HistoryEvent,
  type HistoryResult,
} from '../../engine/history/index.js';
import { planEnvironment } from '../../engine/plan/index.js';
import type { Plan } from '../../engine/plan/types.js';
import { connect, type Database } from '../../engine/state/db.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'bin', 'run.js');
const execFileP = promisify(execFile);
const ACTOR = 'Release Bot <bot@acme.example>';

let db: TestDatabase;
let database: Database;
let dir: string;
const sha: Record<string, string> = {};
const plans: Plan[] = [];

async function edit(rel: string, from: string, to: string): Promise<void> {
  const file = path.join(dir, rel);
  const text = await readFile(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${rel} no longer contains ${JSON.stringify(from)}: update this test`);
  await writeFile(file, text.replace(from, to));
}

/** Commit everything with author and committer date `at` (Git keeps whole seconds). */
async function commit(name: string, message: string, at: Date): Promise<void> {
  const iso = at.toISOString();
  // simple-git refuses to pass on an environment with EDITOR and the like: give it only what git needs.
  const git = simpleGit({ baseDir: dir }).env({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    GIT_AUTHOR_DATE: iso,
    GIT_COMMITTER_DATE: iso,
  });
  await git.add(['-A']);
  await git.commit(message);
  sha[name] = (await git.revparse(['HEAD'])).trim();
}

async function applyStaging(): Promise<Plan> {
  const outcome = await planEnvironment(database, { path: dir, env: 'staging', actor: ACTOR });
  if (!outcome.ok)
    throw new Error(`the test workspace does not validate: ${JSON.stringify(outcome.diagnostics.slice(0, 3))}`);
  await applyPlan(database, outcome.plan, { actor: ACTOR, url: db.url });
  plans.push(outcome.plan);
  return outcome.plan;
}

function label(e: HistoryEvent): string {
  return e.type === 'commit'
    ? `commit ${Object.keys(sha).find((k) => sha[k] === e.commit) ?? e.commit}`
    : `apply #${e.n}`;
}

function touched(e: HistoryEvent): string[] {
  return (e as CommitEvent).touched.map((t) => `${{ create: '+', update: '~', delete: '-' }[t.action]}${t.address}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BUMP_FROM = `    - template: shopify-orders-to-erp@2
      with:
        storefront: shopify
        erp: netsuite
        refundEntity: creditMemo
        channel: shopify
`;
const BUMP_TO = `    - template: shopify-orders-to-erp@1
      with:
        storefront: shopify
        erp: netsuite
        refundEntity: creditMemo
`;

beforeAll(async () => {
  db = await testDatabase('history');
  dir = await mkdtemp(path.join(tmpdir(), 'rsync-history-'));
  for (const p of ['rsync.yaml', 'integrations', 'templates', 'test/fixtures'])
    await cp(path.join(ROOT, p), path.join(dir, p), { recursive: true });
  const git = simpleGit({ baseDir: dir });
  await git.init(['-b', 'trunk']);
  await git.addConfig('user.name', 'Ann Example');
  await git.addConfig('user.email', 'ann@acme.example');
  await git.addConfig('commit.gpgsign', 'false');
  await edit('rsync.yaml', '    staging:\n      ref: main', '    staging:\n      ref: trunk');
  // The example workspace has northwind on @3; this history is told between @1 and @2.
  await edit(
    'integrations/northwind/customer.yaml',
    '- template: shopify-orders-to-erp@3',
    '- template: shopify-orders-to-erp@2',
  );
  await edit('integrations/northwind/customer.yaml', BUMP_FROM, BUMP_TO);

  const hourAgo = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
  await commit('A', 'The example workspace', hourAgo);
  await edit(
    'integrations/northwind/mappings/netsuite-store-price.jsonata',
    `'priceList': 'in-store',`,
    `'priceList': 'store-shelf',`,
  );
  await commit('B', 'Shelf prices go to the store-shelf price list', new Date(hourAgo.getTime() + 60_000));
  await edit('integrations/northwind/customer.yaml', `schedule: "0 6 * * *"`, `schedule: "30 5 * * *"`);
  await commit('C', 'Payouts at 05:30', new Date(hourAgo.getTime() + 120_000));

  database = await connect(dir, { url: db.url });
  await applyStaging();

  // D and E after apply #1 and before apply #2, in whole seconds.
  const next = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  await simpleGit({ baseDir: dir }).rm([
    'integrations/northwind/flows/pos-prices.yaml',
    'integrations/northwind/mappings/netsuite-store-price.jsonata',
    'integrations/northwind/mappings/netsuite-store-price.test.yaml',
  ]);
  await commit('D', 'Retire the in-store price flow', new Date(next));
  await edit('integrations/northwind/customer.yaml', BUMP_TO, BUMP_FROM);
  await commit('E', 'northwind: shopify-orders-to-erp@2', new Date(next + 1000));
  await sleep(Math.max(0, next + 2000 - Date.now()));
  await applyStaging();
}, 180_000);

afterAll(async () => {
  await database?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('rsync history', () => {
  it('merges the commits and the applies in time order, newest first', async () => {
    const h = await workspaceHistory({ path: dir, url: db.url });
    expect(h.git.available).toBe(true);
    expect(h.applyLog.available).toBe(true);
    expect(h.commit).toBe(sha.E);
    expect(h.events.map(label)).toEqual([
      'apply #2',
      'commit E',
      'commit D',
      'apply #1',
      'commit C',
      'commit B',
      'commit A',
    ]);
    expect(h.more).toBe(false);
    for (let i = 1; i < h.events.length; i++) expect(h.events[i - 1].at >= h.events[i].at).toBe(true);
  });

  it('gives each commit its author, date, message and the resources it touched', async () => {
    const h = await workspaceHistory({ path: dir, url: db.url });
    const byName = (n: string) => h.events.find((e) => e.type === 'commit' && e.commit === sha[n]) as CommitEvent;
    expect(byName('B')).toMatchObject({
      author: 'Ann Example',
      email: 'ann@acme.example',
      subject: 'Shelf prices go to the store-shelf price list',
    });
    expect(byName('B').files).toEqual(['integrations/northwind/mappings/netsuite-store-price.jsonata']);
    expect(touched(byName('B'))).toEqual(['~northwind/flow/pos-prices']);
    expect(touched(byName('C'))).toEqual(['~northwind/customer/northwind', '~northwind/flow/payouts-to-erp']);
    expect(touched(byName('D'))).toEqual(['-northwind/flow/pos-prices']);
    expect(touched(byName('E'))).toEqual([
      '~northwind/customer/northwind',
      '~northwind/flow/orders-to-erp',
      '~northwind/flow/refunds-to-erp',
    ]);
    const a = touched(byName('A'));
    expect(a.every((t) => t.startsWith('+'))).toBe(true);
    expect(a).toEqual(
      expect.arrayContaining([
        '+contoso/flow/orders-to-tax',
        '+northwind/flow/pos-prices',
        '+workspace/policy/standard',
      ]),
    );
    expect(byName('A').settings).toEqual(['metadata', 'spec']); // rsync.yaml's Workspace document appears
    expect(byName('B').settings).toEqual([]);
    expect(byName('A').parents).toEqual([]);
    expect(byName('C').at).toBe(new Date(new Date(byName('A').at).getTime() + 120_000).toISOString());
  });

  it('gives each apply who applied which commit to which environment, when, and what it did', async () => {
    const h = await workspaceHistory({ path: dir, url: db.url });
    const [first, second] = [
      h.events.find((e) => label(e) === 'apply #1'),
      h.events.find((e) => label(e) === 'apply #2'),
    ] as ApplyEvent[];
    expect(first).toMatchObject({
      env: 'staging',
      actor: ACTOR,
      action: 'apply',
      commit: sha.C,
      ref: 'trunk',
      subject: 'Payouts at 05:30',
    });
    expect(first.result).toBe(`${plans[0].summary.create} created, 0 updated, 0 deleted`);
    expect(plans[0].summary.create).toBeGreaterThan(20);
    expect(second).toMatchObject({
      env: 'staging',
      commit: sha.E,
      subject: 'northwind: shopify-orders-to-erp@2',
      result: '0 created, 3 updated, 1 deleted',
    });
    expect([...second.changes].sort()).toEqual([
      'delete northwind/flow/pos-prices',
      'update northwind/customer/northwind',
      'update northwind/flow/orders-to-erp',
      'update northwind/flow/refunds-to-erp',
    ]);
    expect(second.changeCount).toBe(4);
  });

  it('narrows to a customer', async () => {
    const h = await workspaceHistory({ path: dir, url: db.url, customer: 'contoso' });
    expect(h.events.map(label)).toEqual(['apply #1', 'commit A']);
    const a = h.events[1] as CommitEvent;
    expect(a.touched.every((t) => t.customer === 'contoso' || t.customer === null)).toBe(true);
    expect(touched(a)).toContain('+contoso/flow/orders-to-tax');
    // The customer's own resources and the partner-wide ones it inherits; not northwind's.
    const changes = (h.events[0] as ApplyEvent).changes;
    expect(changes.every((c) => / (contoso|workspace)\//.test(c))).toBe(true);
    expect(changes).toEqual(
      expect.arrayContaining(['create contoso/flow/orders-to-tax', 'create workspace/policy/standard']),
    );
    expect(touched(a)).toContain('+workspace/sla/gold');
    expect(touched(a).some((t) => t.includes('northwind/'))).toBe(false);
  });

  it('narrows to an address, with its environment', async () => {
    const h = await workspaceHistory({ path: dir, url: db.url, address: 'staging/northwind/flow/pos-prices' });
    expect(h.filters).toMatchObject({ env: 'staging', address: 'staging/northwind/flow/pos-prices' });
    expect(h.events.map(label)).toEqual(['apply #2', 'commit D', 'apply #1', 'commit B', 'commit A']);
    expect((h.events[0] as ApplyEvent).changes).toEqual(['delete northwind/flow/pos-prices']);
    expect((h.events[2] as ApplyEvent).changes).toEqual(['create northwind/flow/pos-prices']);
    expect(touched(h.events[3])).toEqual(['~northwind/flow/pos-prices']);
    expect(touched(h.events[4])).toEqual(['+northwind/flow/pos-prices']); // A created everything; only this one is shown
    expect((h.events[2] as ApplyEvent).subject).toBe('Payouts at 05:30'); // C is not in this timeline, its subject still shows
  });

  it('narrows to an environment, and limits the timeline', async () => {
    const none = await workspaceHistory({ path: dir, url: db.url, env: 'production' });
    expect(none.events.map(label)).toEqual(['commit E', 'commit D', 'commit C', 'commit B', 'commit A']);
    const limited = await workspaceHistory({ path: dir, url: db.url, limit: 3 });
    expect(limited.events.map(label)).toEqual(['apply #2', 'commit E', 'commit D']);
    expect(limited.more).toBe(true);
    await expect(workspaceHistory({ path: dir, url: db.url, env: 'qa' })).rejects.toThrow(/Unknown environment "qa"/);
    await expect(workspaceHistory({ path: dir, url: db.url, address: 'pos-prices' })).rejects.toThrow(
      /is not an address/,
    );
  });

  it('shows Git alone, with a note, when the database cannot be reached', async () => {
    const h = await workspaceHistory({ path: dir, url: 'postgres://nobody:secret@127.0.0.1:9/none' });
    expect(h.applyLog.available).toBe(false);
    expect(h.applyLog.note).toMatch(/cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:9\/none/);
    expect(h.applyLog.note).not.toContain('secret');
    expect(h.events.map(label)).toEqual(['commit E', 'commit D', 'commit C', 'commit B', 'commit A']);
  });

  it('does not create an embedded database just to read history', async () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      const h = await workspaceHistory({ path: dir });
      expect(h.applyLog.available).toBe(false);
      expect(h.applyLog.note).toContain('no embedded database');
      expect(h.events).toHaveLength(5);
      expect(existsSync(path.join(dir, '.rsync', 'db.json'))).toBe(false); // no embedded database (the plan cache may exist)
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });

  it('prints a timeline, and --json', async () => {
    const env = { ...process.env, DATABASE_URL: db.url, NO_COLOR: '1' };
    const text = await execFileP('node', [CLI, 'history', '--limit', '4'], { cwd: dir, env });
    const lines = text.stdout.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(
      at(`apply #2 → staging  by ${ACTOR}  commit ${sha.E.slice(0, 7)} "northwind: shopify-orders-to-erp@2" (trunk)`),
    ).toBeGreaterThan(-1);
    expect(lines[at('apply #2') + 1].trim()).toBe('0 created, 3 updated, 1 deleted');
    expect(
      at(`commit ${sha.E.slice(0, 7)}  Ann Example <ann@acme.example>  northwind: shopify-orders-to-erp@2`),
    ).toBeGreaterThan(at('apply #2'));
    const d = at(`commit ${sha.D.slice(0, 7)}`);
    expect(d).toBeGreaterThan(-1);
    expect(lines[d + 1].trim()).toBe('- northwind/flow/pos-prices');
    expect(lines[at('apply #2') + 2].trim()).toMatch(/^[-~] northwind\//); // the apply's own changes follow its counts
    expect(text.stdout).toContain('older events not shown');

    const json = await execFileP('node', [CLI, 'history', '--json', '--customer', 'northwind', '--limit', '50'], {
      cwd: dir,
      env,
    });
    const h = JSON.parse(json.stdout) as HistoryResult;
    expect(h.version).toBe(1);
    expect(h.events.map(label)).toEqual([
      'apply #2',
      'commit E',
      'commit D',
      'apply #1',
      'commit C',
      'commit B',
      'commit A',
    ]);
    expect(h.filters.customer).toBe('northwind');
  }, 60_000);
});
