/**
 * The impact-plan benchmark (issue 19): `rsync plan --impact` of a template change across 1,000 generated customers
 * (generate.ts), with 100 stored samples for every flow the change touches — the deployed and the proposed mapping
 * each run over 100 records per flow, offline.
 *
 *   node .build/test/bench/impact.bench.js [--customers 1000] [--samples 100] [--keep]
 *
 * Setup (not timed): the workspace committed in a temp Git repository (production = main), planned and applied
 * in-process to a fresh database, then 100 Shopify orders stored per orders-to-erp flow of shopify-orders-to-erp@1
 * (state/samples.ts, as the worker stores them), then one commit that changes that template's mapping. Timed: one
 * `node cli/bin/run.js plan --env production --impact --sample <samples> --json` in a fresh process — wall time,
 * CPU (user + sys) and peak RSS (GNU time, else /proc VmHWM), and the plan's own figures.
 *
 * The database: DATABASE_URL's server when set, else the embedded server the tests share (test/helpers/db.ts).
 * Exit code: 0 when it ran, 1 when it could not run or the plan is not the one expected.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { applyPlan } from '../../engine/apply/apply.js';
import { planEnvironment } from '../../engine/plan/index.js';
import type { Plan } from '../../engine/plan/types.js';
import { connect } from '../../engine/state/db.js';
import { addSamples } from '../../engine/state/samples.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { generateWorkspace } from './generate.js';
import { git, measure } from './plan-apply.bench.js';
import { machine, projectRoot, rssMethod } from './validate.bench.js';

export const IMPACT_TEMPLATE = 'shopify-orders-to-erp@1';
export const IMPACT_MAPPING = 'templates/shopify-orders-to-erp/1/mappings/shopify-order.jsonata';

/** A Shopify order as shopify-orders-to-erp's mapping reads it; `lower`: a name the benchmark's change upper-cases. */
export function shopifyOrderSample(
  customer: number,
  i: number,
  lower: boolean,
  voided = false,
): Record<string, unknown> {
  const id = 5_000_000 + customer * 1000 + i;
  return {
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: lower ? `#${id}-web` : `#${id}`,
    created_at: '2026-03-14T09:30:00-05:00',
    currency: 'USD',
    source_name: 'web',
    total_price: '40.00',
    subtotal_price: '36.00',
    total_tax: '4.00',
    total_discounts: '0.00',
    financial_status: voided ? 'voided' : 'paid',
    email: `buyer${id}@example.com`,
    line_items: [{ id: 1, sku: 'TEE-M', title: 'Tee', quantity: 2, price: '18.00' }],
  };
}

function parseArgs(argv: string[]) {
  const a = { customers: 1000, samples: 100, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--customers' || k === '--samples') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${k} needs a positive integer`);
      a[k === '--customers' ? 'customers' : 'samples'] = v;
    } else if (k === '--keep') a.keep = true;
    else if (k === '--wait-idle' || k === '--flows' || k === '--seed')
      i++; // npm run bench's, not ours
    else if (k !== '--profile' && k !== '--no-profile') throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const say = (s = '') => process.stdout.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const m = machine();
  say(
    `impact plan benchmark: ${args.customers.toLocaleString('en-US')} customers, ${args.samples} samples per changed flow`,
  );
  say(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(1)} GiB, ${m.os}, Node ${m.node}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rsync-bench-impact-'));
  const ws = path.join(tmp, 'ws');
  let db: TestDatabase | undefined;
  try {
    const setup = performance.now();
    generateWorkspace(ws, { customers: args.customers, flowsPerCustomer: 10, seed: 1 });
    rmSync(path.join(ws, '.rsync-bench.json'));
    git(ws, 'init', '--quiet');
    git(ws, 'add', '-A');
    git(ws, 'commit', '--quiet', '-m', 'generated');
    git(ws, 'branch', 'production');
    db = await testDatabase('bench_impact');
    const state = await connect(ws, { url: db.url });
    let flows: string[] = [];
    try {
      const first = await planEnvironment(state, { path: ws, env: 'production', actor: 'bench' });
      if (!first.ok) throw new Error('the generated workspace does not plan');
      await applyPlan(state, first.plan, { actor: 'bench', url: db.url });
      flows = first.plan.changes
        .filter((c) => c.kind === 'flow' && c.template === IMPACT_TEMPLATE && c.name.endsWith('orders-to-erp'))
        .map((c) => c.address);
      let n = 0;
      for (const address of flows) {
        n++;
        const records = Array.from({ length: args.samples }, (_, i) => shopifyOrderSample(n, i, i % 3 === 0, i === 1));
        await addSamples(state.pool, { env: 'production', address, revision: 1 }, records);
      }
    } finally {
      await state.close();
    }
    const file = path.join(ws, IMPACT_MAPPING);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"number": name,', '"number": $uppercase(name),'));
    git(ws, 'commit', '--quiet', '-am', 'bench: upper-case order numbers');
    git(ws, 'branch', '-f', 'production', 'main');
    say(
      `setup (not timed): ${secs(performance.now() - setup)} — ${flows.length} flows of ${IMPACT_TEMPLATE} with ${(flows.length * args.samples).toLocaleString('en-US')} samples`,
    );

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: db.url,
      NO_COLOR: '1',
      RSYNC_ACTOR: 'bench',
      GIT_CONFIG_GLOBAL: os.devNull,
      GIT_CONFIG_NOSYSTEM: '1',
    };
    delete env.DEBUG;
    const cli = path.join(projectRoot(), 'cli', 'bin', 'run.js');
    const argv = ['plan', '--env', 'production', '--impact', '--sample', String(args.samples), '--json'];
    const method = rssMethod();
    const r = await measure(cli, argv, ws, env, method);
    if (r.exitCode !== 0) throw new Error(`plan --impact: exit ${r.exitCode}\n${r.stderr.slice(-3000)}`);
    const plan = JSON.parse(r.stdout) as Plan;
    const impact = plan.impact!;
    const t = impact.totals;
    if (impact.flows.length !== flows.length || t.sampled !== flows.length * args.samples)
      throw new Error(
        `expected ${flows.length} flows × ${args.samples} records, got ${impact.flows.length} flows, ${t.sampled} records`,
      );
    say(
      `rsync ${argv.join(' ')}: wall ${secs(r.wallMs)}, CPU ${r.cpuMs === undefined ? '?' : secs(r.cpuMs)}, peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MB (${method})`,
    );
    say(
      `  ${impact.flows.length} flows, ${t.sampled.toLocaleString('en-US')} records × 2 revisions: ${t.different.toLocaleString('en-US')} written differently, ${t.unchanged.toLocaleString('en-US')} unchanged, ${t.newlyFiltered} newly filtered, ${t.newlyDead} newly dead; ${plan.summary.update} updates in ${plan.summary.radius?.customers.length} customers`,
    );
    say(
      `  ${((t.sampled * 2) / (r.wallMs / 1000)).toFixed(0)} record evaluations per second of wall time, the whole plan included`,
    );
  } finally {
    await db?.drop().catch(() => {});
    if (args.keep) process.stderr.write(`bench: kept ${tmp}\n`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`impact benchmark: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
