/**
 * `rsync diff` (engine/diff): on a temp Git repository holding a copy of the example workspace, five commits —
 *   A  the example, with northwind on shopify-orders-to-erp@1
 *   B  a mapping changes (northwind's in-store price mapping)
 *   C  a schedule changes (northwind's payouts, a template parameter: "0 6 * * *" → "30 5 * * *")
 *   D  a flow is deleted (northwind's pos-prices, with its mapping and tests)
 *   E  northwind bumps shopify-orders-to-erp@1 → @2
 * — the diff names exactly the addresses that change and how, with the mapping's line diff, the template's blast
 * radius, the working tree as the default head, environment overlays, `A...B`, an invalid side listed first with
 * exit 1, and white-labelled Markdown. No database is involved.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { simpleGit, type SimpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffWorkspace, type WorkspaceDiff } from '../../engine/diff/index.js';
import { renderDiffMarkdown, renderDiffText } from '../../engine/diff/render.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'bin', 'run.js');
const execFileP = promisify(execFile);

let dir: string;
let git: SimpleGit;
const sha: Record<string, string> = {};

/** Replace `from` by `to` in a file of the temp workspace; fails when `from` is not there (the example changed). */
async function edit(rel: string, from: string, to: string): Promise<void> {
  const file = path.join(dir, rel);
  const text = await readFile(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${rel} no longer contains ${JSON.stringify(from)}: update this test`);
  await writeFile(file, text.replace(from, to));
}

async function commit(name: string, message: string): Promise<void> {
  await git.add(['-A']);
  await git.commit(message);
  sha[name] = (await git.revparse(['HEAD'])).trim();
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP('node', [CLI, ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function restoreWorkingTree(): Promise<void> {
  await git.raw(['checkout', '--', '.']);
  await git.raw(['clean', '-fdq']);
}

function actions(d: WorkspaceDiff): string[] {
  return d.changes.map((c) => `${{ create: '+', update: '~', delete: '-' }[c.action]}${c.address}`);
}

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
  dir = await mkdtemp(path.join(tmpdir(), 'rsync-diff-'));
  for (const p of ['rsync.yaml', 'integrations', 'templates', 'test/fixtures'])
    await cp(path.join(ROOT, p), path.join(dir, p), { recursive: true });
  git = simpleGit({ baseDir: dir });
  await git.init(['-b', 'main']);
  await git.addConfig('user.name', 'Ann Example');
  await git.addConfig('user.email', 'ann@acme.example');
  await git.addConfig('commit.gpgsign', 'false');
  // The example workspace has northwind on @3; this history is told between @1 and @2.
  await edit(
    'integrations/northwind/customer.yaml',
    '- template: shopify-orders-to-erp@3',
    '- template: shopify-orders-to-erp@2',
  );
  await edit('integrations/northwind/customer.yaml', BUMP_FROM, BUMP_TO);
  await commit('A', 'The example workspace, northwind on shopify-orders-to-erp@1');
  await edit(
    'integrations/northwind/mappings/netsuite-store-price.jsonata',
    `'priceList': 'in-store',`,
    `'priceList': 'store-shelf',`,
  );
  await commit('B', 'Shelf prices go to the store-shelf price list');
  await edit('integrations/northwind/customer.yaml', `schedule: "0 6 * * *"`, `schedule: "30 5 * * *"`);
  await commit('C', 'Payouts at 05:30');
  await git.rm([
    'integrations/northwind/flows/pos-prices.yaml',
    'integrations/northwind/mappings/netsuite-store-price.jsonata',
    'integrations/northwind/mappings/netsuite-store-price.test.yaml',
  ]);
  await commit('D', 'Retire the in-store price flow');
  await edit('integrations/northwind/customer.yaml', BUMP_TO, BUMP_FROM);
  await commit('E', 'northwind: shopify-orders-to-erp@2');
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('rsync diff between two commits', () => {
  it('names exactly the resources that change from A to E, and how', async () => {
    const d = await diffWorkspace({ path: dir, base: sha.A, head: sha.E });
    expect(d.base.valid).toBe(true);
    expect(d.head.valid).toBe(true);
    expect(d.base.commit).toBe(sha.A);
    expect(d.head.commit).toBe(sha.E);
    expect(actions(d)).toEqual([
      '~northwind/customer/northwind',
      '~northwind/flow/orders-to-erp',
      '~northwind/flow/payouts-to-erp',
      '-northwind/flow/pos-prices',
      '~northwind/flow/refunds-to-erp',
    ]);
    expect(d.summary).toMatchObject({
      create: 0,
      update: 4,
      delete: 1,
      byCustomer: { northwind: { create: 0, update: 4, delete: 1 } },
    });
    expect(d.summary.unchanged).toBeGreaterThan(20);

    const payouts = d.changes.find((c) => c.address === 'northwind/flow/payouts-to-erp')!;
    expect(payouts.reason).toContain('schedule "0 6 * * *" → "30 5 * * *"');
    expect(payouts.fields).toContainEqual({
      path: 'spec.trigger.schedule.cron',
      before: '0 6 * * *',
      after: '30 5 * * *',
    });
    expect(payouts.mapping).toBeUndefined();

    const orders = d.changes.find((c) => c.address === 'northwind/flow/orders-to-erp')!;
    expect(orders.template).toEqual({ before: 'shopify-orders-to-erp@1', after: 'shopify-orders-to-erp@2' });
    expect(orders.reason).toContain('mapping changed');
    expect(orders.reason).toContain('template shopify-orders-to-erp@1 → @2');
    expect(orders.mapping).toMatchObject({
      before: 'templates/shopify-orders-to-erp/1/mappings/shopify-order.jsonata',
      after: 'templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata',
    });
    expect(orders.mapping!.diff).toContain(
      `+    'channel': $present($params.channel) ? $params.channel : $present(source_name),`,
    );

    // refunds-to-erp maps as in version 1 (same text), so it changes by its template, not by its mapping.
    const refunds = d.changes.find((c) => c.address === 'northwind/flow/refunds-to-erp')!;
    expect(refunds.mapping).toBeUndefined();
    expect(refunds.fields).toContainEqual({ path: 'template.version', before: 1, after: 2 });

    // Blast radius of the bump: one customer moves two flows to the new version.
    expect(d.moves).toEqual([
      {
        customer: 'northwind',
        from: 'shopify-orders-to-erp@1',
        to: 'shopify-orders-to-erp@2',
        flows: ['northwind/flow/orders-to-erp', 'northwind/flow/refunds-to-erp'],
      },
    ]);
    expect(d.summary.byTemplate['shopify-orders-to-erp@2']).toEqual({ customers: 1, flows: 2 });
    expect(d.templates).toEqual([]); // no template's own files changed
    expect(d.settings).toEqual([]);

    const pos = d.changes.find((c) => c.address === 'northwind/flow/pos-prices')!;
    expect(pos.source).toMatch(/^integrations\/northwind\/flows\/pos-prices\.yaml:\d+$/);
  });

  it('shows a mapping change as a JSONata line diff (A..B)', async () => {
    const d = await diffWorkspace({ path: dir, base: `${sha.A}..${sha.B}` });
    expect(actions(d)).toEqual(['~northwind/flow/pos-prices']);
    const c = d.changes[0];
    expect(c.reason).toBe('mapping changed');
    expect(c.fields).toEqual([]);
    expect(c.mapping?.before).toBe('integrations/northwind/mappings/netsuite-store-price.jsonata');
    expect(c.mapping?.diff).toContain(`-    'priceList': 'in-store',`);
    expect(c.mapping?.diff).toContain(`+    'priceList': 'store-shelf',`);
    expect(c.mapping?.diff[0]).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/);
    const text = renderDiffText(d);
    expect(text).toContain(`        +    'priceList': 'store-shelf',`);
    expect(text).toContain('Changes: 0 to create, 1 to update, 0 to delete');
  });

  it('compares with where a branch forked for A...B, like a pull request', async () => {
    await git.checkout(['-b', 'feature', sha.C]);
    await edit(
      'integrations/contoso/customer.yaml',
      'locationId: DUB-WH\n        safetyStock: 1',
      'locationId: DUB-WH\n        safetyStock: 3',
    );
    await commit('F', 'contoso: keep 3 in reserve on the web store');
    await git.checkout(['main']);
    // main moved on after C (D, E); the pull request's own change is only F's.
    const d = await diffWorkspace({ path: dir, base: 'main...feature' });
    expect(d.base.commit).toBe(sha.C);
    expect(d.head.commit).toBe(sha.F);
    expect(actions(d)).toEqual(['~contoso/customer/contoso', '~contoso/flow/storefront-inventory-levels']);
    expect(d.changes[1].reason).toContain('template parameter safetyStock changed');
    // The plain two-dot range would also show main's own later commits, undone.
    const twoDot = await diffWorkspace({ path: dir, base: 'main..feature' });
    expect(twoDot.changes.length).toBeGreaterThan(2);
  });
});

describe('rsync diff against the working tree', () => {
  it('is the default head, and a template change shows its blast radius', async () => {
    await edit(
      'templates/erp-inventory-to-channel/1/mappings/netsuite-inventory.jsonata',
      `'onHand': $qty(quantityonhand)`,
      `'onHand': $qty(quantityonhand) + 0`,
    );
    try {
      const d = await diffWorkspace({ path: dir, base: 'HEAD' });
      expect(d.head).toMatchObject({ workingTree: true, label: 'working tree', commit: null, valid: true });
      // Both northwind inventory flows use the NetSuite mapping; contoso's use the Business Central one.
      expect(actions(d)).toEqual([
        '~northwind/flow/pos-inventory-levels',
        '~northwind/flow/storefront-inventory-levels',
      ]);
      expect(d.templates).toEqual([
        {
          template: 'erp-inventory-to-channel@1',
          action: 'update',
          files: [
            { path: 'templates/erp-inventory-to-channel/1/mappings/netsuite-inventory.jsonata', action: 'update' },
          ],
          customers: ['northwind'],
          flows: ['northwind/flow/pos-inventory-levels', 'northwind/flow/storefront-inventory-levels'],
        },
      ]);
      const text = renderDiffText(d);
      expect(text).toContain('the working tree');
      expect(text).toContain(
        'template erp-inventory-to-channel@1 changed [~mappings/netsuite-inventory.jsonata] → 1 customer (northwind), 2 flows',
      );
    } finally {
      await restoreWorkingTree();
    }
  });

  it('compares overlays as fields without --env, and as the environment deploys with --env', async () => {
    await edit(
      'integrations/northwind/connections/shopify.yaml',
      'shop: northwind-staging.myshopify.com',
      'shop: northwind-sandbox.myshopify.com',
    );
    try {
      const declared = await diffWorkspace({ path: dir, base: 'HEAD' });
      expect(actions(declared)).toEqual(['~northwind/connection/shopify']);
      expect(declared.changes[0].fields).toEqual([
        {
          path: 'environments.staging.settings.shop',
          before: 'northwind-staging.myshopify.com',
          after: 'northwind-sandbox.myshopify.com',
        },
      ]);
      // Connections show the flows that use them.
      expect(declared.changes[0].usedBy).toEqual(
        expect.arrayContaining(['northwind/flow/orders-to-erp', 'northwind/flow/products-to-storefront']),
      );
      const staging = await diffWorkspace({ path: dir, base: 'HEAD', env: 'staging' });
      expect(staging.changes[0].fields).toEqual([
        {
          path: 'spec.settings.shop',
          before: 'northwind-staging.myshopify.com',
          after: 'northwind-sandbox.myshopify.com',
        },
      ]);
      const production = await diffWorkspace({ path: dir, base: 'HEAD', env: 'production' });
      expect(production.empty).toBe(true);
      expect(production.changes).toEqual([]);
    } finally {
      await restoreWorkingTree();
    }
  });
});

describe('the rsync diff command', () => {
  it('exits 0 with changes, and 2 with --detailed-exitcode; 0 when nothing changes', async () => {
    const r = await cli(['diff', sha.C, sha.D]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('- northwind/flow/pos-prices  (removed)');
    expect((await cli(['diff', sha.C, sha.D, '--detailed-exitcode'])).code).toBe(2);
    const same = await cli(['diff', 'HEAD', '--detailed-exitcode']);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('No changes');
    expect(same.stdout).toContain('(the head side is the working tree, uncommitted changes included)');
  }, 60_000);

  it('takes a second argument that is a folder, not a ref, as the path', async () => {
    const r = await execFileP('node', [CLI, 'diff', sha.A, dir, '--json'], { cwd: tmpdir() }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    const out = JSON.parse(r.stdout) as WorkspaceDiff;
    expect(out.head.workingTree).toBe(true);
    expect(out.workspace).toBe(dir);
    expect(out.changes.map((c) => c.address)).toContain('northwind/flow/pos-prices');
  }, 60_000);

  it('lists an invalid side first and exits 1, still showing the diff', async () => {
    await edit('integrations/northwind/connections/pos.yaml', 'kind: Connection', 'kind: Connexion');
    await edit('integrations/contoso/customer.yaml', 'safetyStock: 1', 'safetyStock: 4');
    try {
      const r = await cli(['diff', 'HEAD']);
      expect(r.code).toBe(1);
      const errorAt = r.stdout.indexOf('✗ head (the working tree) has');
      const changeAt = r.stdout.indexOf('~ contoso/flow/storefront-inventory-levels');
      expect(errorAt).toBeGreaterThan(-1);
      expect(changeAt).toBeGreaterThan(errorAt);
      expect(r.stdout).toContain('integrations/northwind/connections/pos.yaml');
      expect(r.stdout).toContain('kind-unknown');

      const j = await cli(['diff', 'HEAD', '--json']);
      expect(j.code).toBe(1);
      const out = JSON.parse(j.stdout) as WorkspaceDiff;
      expect(out.base.valid).toBe(true);
      expect(out.head.valid).toBe(false);
      expect(out.head.errors.map((e) => e.code)).toContain('kind-unknown');
      // What could be read is still compared: the unreadable connection disappears, contoso's change shows.
      expect(out.changes.map((c) => `${c.action} ${c.address}`)).toEqual(
        expect.arrayContaining(['delete northwind/connection/pos', 'update contoso/flow/storefront-inventory-levels']),
      );
    } finally {
      await restoreWorkingTree();
    }
  }, 60_000);

  it('renders white-labelled Markdown for a pull-request comment', async () => {
    const r = await cli(['diff', sha.A, sha.B, '--format', 'markdown']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '### <img src="https://acme.example/brand/acme-connect.svg" alt="Acme Connect" height="20"> Acme Connect changes',
    );
    expect(r.stdout).toContain('<sub>Managed by Acme Retail Integrations</sub>');
    expect(r.stdout).toContain('```diff');
    expect(r.stdout).toContain(`-     'priceList': 'in-store',`);
    expect(r.stdout).toContain(`+     'priceList': 'store-shelf',`);
    expect(r.stdout).not.toMatch(/\brsync\b/);
    // And the same from the engine, for the blast radius of a version bump.
    const md = renderDiffMarkdown(await diffWorkspace({ path: dir, base: sha.D, head: sha.E }));
    expect(md).toContain(
      '- northwind: shopify-orders-to-erp@1 → shopify-orders-to-erp@2 (2 flows: orders-to-erp, refunds-to-erp)',
    );
  }, 60_000);

  it('refuses an unknown ref with exit 66 and a hint, not a stack trace', async () => {
    const r = await cli(['diff', 'no-such-branch']);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('no-such-branch');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
