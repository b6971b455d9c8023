/**
 * The data-impact plan and the blast radius (issue 19, items 1 and 2) on a generated workspace of 100 customers
 * (test/bench/generate.ts) committed in a temp Git repository, applied to a fresh PostgreSQL database.
 *
 * The samples are stored with state/samples.ts as the pipeline stores them (test/runtime/samples.test.ts proves a
 * run writes them); a third of the customers of the changed template get orders whose output the change alters, a
 * third orders it does not alter, and the rest no sample at all. The expected outcome of every record is computed
 * here by hand: both mapping texts evaluated with the engine's JSONata over the same records.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsonata from 'jsonata';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../engine/apply/apply.js';
import { planEnvironment } from '../../engine/plan/index.js';
import type { Plan } from '../../engine/plan/types.js';
import { connect, type Database } from '../../engine/state/db.js';
import { addSamples } from '../../engine/state/samples.js';
import { canonicalOf } from '../../engine/util/hash.js';
import { generateWorkspace } from '../bench/generate.js';
import { IMPACT_MAPPING as MAPPING, shopifyOrderSample } from '../bench/impact.bench.js';
import { buildProblem, git, runCli, show, type Run } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ENV = 'production';
const ACTOR = 'ci-bot <ci@acme.example>';
const TEMPLATE_DIR = 'templates/shopify-orders-to-erp/1';

const order = shopifyOrderSample;

describe('rsync plan --impact on 100 generated customers', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  let state: Database;
  let pool: pg.Pool;
  let repo: string;
  let scratch: string;
  /** The flows made from shopify-orders-to-erp@1's orders-to-erp, by customer. */
  const orderFlows = new Map<string, string>();
  /** The records stored per flow. */
  const samples = new Map<string, Record<string, unknown>[]>();
  let deployedMapping = '';

  const cli = (...args: string[]): Promise<Run> => runCli(args, repo, { url: db.url, actor: ACTOR, isolateGit: true });
  const plan = async (opts: { acknowledge?: string[]; sample?: number } = {}): Promise<Plan> => {
    const o = await planEnvironment(state, { path: repo, env: ENV, actor: ACTOR, impact: opts });
    if (!o.ok) throw new Error(`plan failed: ${JSON.stringify(o.diagnostics.slice(0, 3))}`);
    return o.plan;
  };
  const commit = (message: string) => {
    git(repo, 'commit', '--quiet', '-am', message);
    git(repo, 'branch', '-f', 'production', 'main');
  };
  const replace = (rel: string, from: string, to: string) => {
    const file = path.join(repo, rel);
    const text = readFileSync(file, 'utf8');
    expect(text.split(from).length, `${rel} holds "${from}" once`).toBe(2);
    writeFileSync(file, text.replace(from, to));
  };

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/plan.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('plan_impact');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    repo = mkdtempSync(path.join(os.tmpdir(), 'rsync-impact-'));
    scratch = mkdtempSync(path.join(os.tmpdir(), 'rsync-impact-plans-'));
    generateWorkspace(repo, { customers: 100, flowsPerCustomer: 10, seed: 1 });
    rmSync(path.join(repo, '.rsync-bench.json'));
    git(repo, 'init', '--quiet');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'generated');
    git(repo, 'branch', 'production');
    state = await connect(repo, { url: db.url });
    const first = await plan();
    await applyPlan(state, first, { actor: ACTOR, url: db.url });
    deployedMapping = readFileSync(path.join(repo, MAPPING), 'utf8');
    for (const c of first.changes)
      if (c.kind === 'flow' && c.template === 'shopify-orders-to-erp@1' && c.name.endsWith('orders-to-erp'))
        orderFlows.set(c.customer!, c.address);
    expect(orderFlows.size).toBeGreaterThan(20);
    // A third with orders the change alters (some of them voided: newly filtered), a third with orders it does not
    // alter, a third with no sample at all.
    let n = 0;
    for (const [customer, address] of orderFlows) {
      const k = n++ % 3;
      if (k === 2) continue;
      const records = Array.from({ length: 30 }, (_, i) => order(n, i, k === 0 && i % 3 === 0, k === 0 && i === 1));
      samples.set(customer, records);
      await addSamples(pool, { env: ENV, address, revision: 1 }, records);
    }
  });

  afterAll(async () => {
    await pool?.end();
    await state?.close();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Each record's outcome under a mapping text, by hand: the key, and the canonical JSON or null (filtered). */
  async function byHand(mapping: string, key: string, params: Record<string, unknown>, records: unknown[]) {
    const m = jsonata(mapping);
    const k = jsonata(key);
    const out: { key: string; text: string | null }[] = [];
    for (const r of records) {
      const v = await m.evaluate(r, { params });
      out.push({ key: String(await k.evaluate(r)), text: v == null ? null : canonicalOf(v).text });
    }
    return out;
  }

  it('lists exactly the customers and records whose canonical output changes, and the blast radius', async () => {
    replace(MAPPING, '"number": name,', '"number": $uppercase(name),');
    replace(MAPPING, '$not(test = true', '$not(financial_status = "voided" or test = true');
    commit('orders: upper-case order numbers, filter voided orders');
    const changed = readFileSync(path.join(repo, MAPPING), 'utf8');
    const p = await plan();
    const impact = p.impact!;
    expect(impact.flows.map((f) => f.address).sort()).toEqual([...orderFlows.values()].sort());

    const expectedChanged = new Set<string>();
    for (const f of impact.flows) {
      const records = samples.get(f.customer!);
      if (!records) {
        expect(f.sampled, f.address).toBe(false);
        continue;
      }
      const params = (p.changes.find((c) => c.address === f.address)!.after!.spec.template as { with: object }).with;
      const key = "'shopify-order-' & admin_graphql_api_id";
      const before = await byHand(deployedMapping, key, params as Record<string, unknown>, records);
      const after = await byHand(changed, key, params as Record<string, unknown>, records);
      const differently = before.filter((b, i) => after[i].text !== null && b.text !== after[i].text).map((b) => b.key);
      const filtered = before.filter((b, i) => b.text !== null && after[i].text === null).map((b) => b.key);
      expect(f.counts.sampled).toBe(records.length);
      expect(f.counts.different, f.address).toBe(differently.length);
      expect(f.counts.newlyFiltered, f.address).toBe(filtered.length);
      expect(f.counts.unchanged).toBe(records.length - differently.length - filtered.length);
      expect(f.counts.keyChanged + f.counts.newlyDead).toBe(0);
      expect(f.changedKeys.sort()).toEqual([...differently, ...filtered].sort());
      if (differently.length + filtered.length) expectedChanged.add(f.customer!);
    }
    const listed = impact.flows.filter((f) => f.changedKeys.length).map((f) => f.customer);
    expect(new Set(listed)).toEqual(expectedChanged);
    expect(expectedChanged.size).toBeGreaterThan(5);
    expect(impact.unsampled).toBe(orderFlows.size - samples.size);
    expect(impact.diagnostics).toEqual([]);

    // A record-level diff, field by field.
    const example = impact.flows.find((f) => f.examples.some((e) => e.outcome === 'different'))!;
    const diff = example.examples.find((e) => e.outcome === 'different')!;
    expect(diff.fields).toEqual([
      { path: 'number', before: expect.stringMatching(/-web$/), after: expect.stringMatching(/-WEB$/) },
    ]);

    // The blast radius: every customer of the template (the mapping is shared), its flows, their ERPs.
    const radius = p.summary.radius!;
    expect(radius.customers).toEqual([...orderFlows.keys()].sort());
    expect(radius.byTemplate['shopify-orders-to-erp@1']).toEqual({
      customers: orderFlows.size,
      flows: orderFlows.size,
      targets: orderFlows.size,
    });
    const types = Object.keys(radius.byConnectionType).sort();
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((t) => t === 'netsuite' || t === 'business-central')).toBe(true);
    expect(Object.values(radius.byConnectionType).reduce((a, g) => a + g.flows, 0)).toBe(orderFlows.size);
  });

  it('the CLI: text with the record diffs and "no sample", markdown, and a plan that saves and exits 2', async () => {
    const text = await cli('plan', '--env', ENV, '--impact', '--detailed-exitcode');
    expect(text.status, show(text)).toBe(2);
    const unsampled = [...orderFlows].find(([c]) => !samples.has(c))![1];
    expect(text.stdout).toContain(
      `? ${unsampled} (mapping changed): no sample: run the flow once (rsync run ${unsampled})`,
    );
    expect(text.stdout).toMatch(
      /record shopify-order-gid:\/\/shopify\/Order\/\d+: written differently\n\s+number: "#\d+-web" → "#\d+-WEB"/,
    );
    expect(text.stdout).toMatch(/Blast radius: \d+ customers, \d+ flows, \d+ target systems/);
    expect(text.stdout).toContain(
      `template shopify-orders-to-erp@1 → ${orderFlows.size} customers (${orderFlows.size} flows)`,
    );
    expect(text.stdout).toMatch(/Impact: \d+ changed flows \(\d+ sampled\)/);

    const md = await cli('plan', '--env', ENV, '--impact', '--format', 'markdown');
    expect(md.status, show(md)).toBe(0);
    expect(md.stdout).toContain('#### Data impact');
    expect(md.stdout).toContain('| flow | changed | sampled | differently | unchanged | newly filtered | newly dead |');
    expect(md.stdout).toContain(`| \`${unsampled}\` | mapping | no sample |`);
    expect(md.stdout).toMatch(/^- Blast radius: /m);
    expect(md.stdout).toContain('```diff');
  });

  it('a key change and new dead letters are errors: exit 1, nothing saved; --acknowledge lets it through', async () => {
    await applyPlan(state, await plan(), { actor: ACTOR, url: db.url });
    deployedMapping = readFileSync(path.join(repo, MAPPING), 'utf8');
    replace(
      `${TEMPLATE_DIR}/template.yaml`,
      `key: "'shopify-order-' & admin_graphql_api_id"`,
      `key: "'shopify-order-' & $string(id)"`,
    );
    replace(MAPPING, '"currency": currency,', '"currency": $lowercase(currency),');
    commit('orders: key by id, lower-case currency');

    const p = await plan();
    const sampled = p.impact!.flows.filter((f) => f.sampled);
    expect(sampled.length).toBe(samples.size);
    for (const f of sampled) {
      expect(f.changed).toEqual(['mapping', 'key']);
      expect(f.counts.newlyDead).toBe(f.counts.sampled - (f.counts.unchanged + f.counts.newlyFiltered));
      expect(f.examples[0].outcome).toBe('newlyDead');
      expect(f.examples[0].reason).toMatch(/^check: not a valid canonical order: currency/);
    }
    const codes = p.impact!.diagnostics.map((d) => `${d.severity} ${d.code}`);
    expect(new Set(codes)).toEqual(new Set(['error impact-dead-letters']));

    // Only the key: every record written today gets a new key.
    replace(MAPPING, '"currency": $lowercase(currency),', '"currency": currency,');
    commit('orders: keep the currency');
    const k = await plan();
    for (const f of k.impact!.flows.filter((x) => x.sampled)) {
      const written = samples.get(f.customer!)!.filter((r) => r.financial_status !== 'voided').length;
      expect(f.counts.keyChanged, f.address).toBe(written);
      expect(f.examples[0]).toMatchObject({
        outcome: 'different',
        newKey: expect.stringMatching(/^shopify-order-\d+$/),
      });
    }
    expect(new Set(k.impact!.diagnostics.map((d) => `${d.severity} ${d.code}`))).toEqual(
      new Set(['error impact-key-change']),
    );
    const d = k.impact!.diagnostics[0];
    expect(d.range?.file).toMatch(/customer\.yaml$|template\.yaml$/);
    expect(d.detail).toContain('--acknowledge');

    const out = path.join(scratch, 'plan.json');
    const refused = await cli('plan', '--env', ENV, '--impact', '--out', out);
    expect(refused.status, show(refused)).toBe(1);
    expect(refused.stdout).toContain('error impact-key-change');
    expect(refused.stderr).toContain(`${out} was not written`);
    expect(existsSync(out)).toBe(false);

    const first = [...orderFlows.values()][0];
    const one = await plan({ acknowledge: [`${ENV}/${first}`] });
    const acked = one.impact!.diagnostics.filter((x) => x.severity === 'warning').map((x) => x.address);
    expect(acked).toEqual(samples.has([...orderFlows.keys()][0]) ? [`${ENV}/${first}`] : []);

    const all = await cli(
      'plan',
      '--env',
      ENV,
      '--impact',
      '--acknowledge',
      '*/flow/*orders-to-erp',
      '--out',
      out,
      '--detailed-exitcode',
    );
    expect(all.status, show(all)).toBe(2);
    expect(all.stdout).toContain('acknowledged (--acknowledge */flow/*orders-to-erp)');
    const saved = JSON.parse(readFileSync(out, 'utf8')) as Plan;
    expect(saved.impact!.diagnostics.every((x) => x.severity === 'warning')).toBe(true);
  });

  it('the annotation rsync/acknowledge-impact acknowledges the change that adds it, not the next one', async () => {
    replace(
      `${TEMPLATE_DIR}/template.yaml`,
      '    - metadata: { name: orders-to-erp, labels: { domain: orders } }',
      '    - metadata: { name: orders-to-erp, labels: { domain: orders }, annotations: { rsync/acknowledge-impact: "new keys: the ERP dedupes on externalId" } }',
    );
    commit('orders: acknowledge the new keys');
    const p = await plan();
    const sampled = p.impact!.flows.filter((f) => f.sampled);
    expect(
      sampled.every((f) => f.acknowledged === 'rsync/acknowledge-impact: new keys: the ERP dedupes on externalId'),
    ).toBe(true);
    expect(p.impact!.diagnostics.every((x) => x.severity === 'warning')).toBe(true);
    await applyPlan(state, p, { actor: ACTOR, url: db.url });

    // Deployed with the annotation: a later key change needs its own acknowledgement.
    replace(`${TEMPLATE_DIR}/template.yaml`, `key: "'shopify-order-' & $string(id)"`, `key: "'order-' & $string(id)"`);
    commit('orders: shorter keys');
    const next = await plan();
    expect(next.impact!.diagnostics.some((x) => x.severity === 'error' && x.code === 'impact-key-change')).toBe(true);
  });
});
