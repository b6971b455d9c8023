import { Flags } from '@oclif/core';
import { applyPlan } from '../../engine/apply/apply.js';
import { hasErrors } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import { filterReasonList } from '../../engine/mapping/filter.js';
import { mappingSamples, runMappingTests } from '../../engine/mapping/test-runner.js';
import { workspaceStats } from '../../engine/model/stats.js';
import { planEnvironment } from '../../engine/plan/index.js';
import { currentActor } from '../../engine/workspace/index.js';
import { renderPlanText, summaryLine } from '../../engine/plan/render.js';
import { loadFlows, type FlowDef } from '../../engine/runtime/flows.js';
import { flowStatus, type FlowStatus } from '../../engine/runtime/status.js';
import { syncSandbox } from '../../engine/runtime/simulate.js';
import { closeFakes, fakeableConnections, startFakes } from '../../engine/runtime/fakes.js';
import { projectRoot } from '../../engine/util/paths.js';
import { openAndValidate } from '../../engine/workspace/open.js';
import { RsyncCommand } from '../base.js';
import { openDatabase } from '../database.js';
import { countFlag, parseDurationFlag } from '../flags.js';
import { renderDiagnostic } from '../views/diagnostics.js';
import { table } from '../runtime.js';
import { renderStatus } from '../views/status.js';

export interface DemoResult {
  version: 1;
  valid: boolean;
  tests: { passed: number; failed: number };
  applied: { create: number; update: number; delete: number } | null;
  env: string;
  synced: {
    read: number;
    written: number;
    unchanged: number;
    filtered: number;
    dead: number;
    /** Filtered records by the reason their mapping gave, per flow (address → reason → count). */
    filteredBy: Record<string, Record<string, number>>;
    duplicatesRefused: number;
  } | null;
  /**
   * The systems served by their real connector against a vendor fake on 127.0.0.1 (the rest by the sandbox): per
   * system, the fake's URL, the requests it answered, and the records of the flows reading from or writing to it.
   */
  real: {
    system: string;
    connector: string;
    url: string;
    /** Requests the fake answered with a 2xx. */
    requests: number;
    flows: { address: string; role: 'source' | 'target'; trigger: string; read: number; written: number }[];
  }[];
  status: FlowStatus[];
}

export default class Demo extends RsyncCommand<DemoResult> {
  static summary =
    'Run the example workspace end to end: validate, test, apply to staging, then sync it: WooCommerce, Square, Stripe and Shopify through their real connectors against local fakes, the rest against sandbox systems.';
  static description = `Uses this installation's example workspace (rsync.yaml, integrations/, templates/) and, with no
DATABASE_URL, the embedded PostgreSQL under its .rsync/ folder. After the apply it starts a fake of each vendor API
it has one of (WooCommerce, Square, Stripe, Shopify: engine/runtime/fakes.ts) on 127.0.0.1, and those connections are
served by their real connectors, pointed at the fakes at run time (their URL and credentials; integrations/ is
not changed); every other connection is the sandbox connector's. It fills the fakes and the simulated systems
with copies of real vendor payloads (the mapping tests' fixtures, every id, number and e-mail address its own,
the amounts as they are), runs a worker for a bounded time (--for), and sends
it webhooks as each vendor sends them: Shopify's and WooCommerce's bare record with their headers, Square's and
Stripe's event envelopes, each signed with the vendor's scheme; an open Square sale is completed a minute later,
and a flow that takes orders/updated and orders/cancelled gets edits and cancellations. A sample its flow would
filter is one copy in five, one it would dead-letter is left out. It prints what was synced, the filtered records
by the reason their mapping gave, what went through each real connector, and the status table. Every run adds new
records; re-sent webhooks are refused as duplicates. --ref applies another Git ref than the environment's (HEAD: the commit checked out).`;
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment to apply to', default: 'staging' }),
    records: countFlag({
      description: 'records per scheduled flow and webhooks per event flow',
      default: 20,
      max: 10_000,
    }),
    for: Flags.string({ description: 'the longest the worker runs', default: '60s' }),
    ref: Flags.string({
      char: 'r',
      description: "apply this Git ref instead of the environment's (HEAD: the commit checked out)",
    }),
  };

  async run(): Promise<DemoResult> {
    const { flags } = await this.parse(Demo);
    const forMs = parseDurationFlag('for', flags.for, { min: 1000 })!;
    const root = projectRoot();
    const say = (s: string) => !this.json && this.log(s);

    say('1. Validate the example workspace');
    const v = await openAndValidate({ path: root });
    const stats = workspaceStats(v.ws);
    for (const d of v.diagnostics) say(renderDiagnostic(d));
    say(
      `   ${stats.customers} customers, ${stats.flows} flows, ${stats.templates} templates: ${hasErrors(v.diagnostics) ? 'ERRORS' : 'valid'}`,
    );
    const result: DemoResult = {
      version: 1,
      valid: !hasErrors(v.diagnostics),
      tests: { passed: 0, failed: 0 },
      applied: null,
      env: flags.env,
      synced: null,
      real: [],
      status: [],
    };
    if (!result.valid) {
      this.exitCode = ExitCode.FAILED;
      return result;
    }

    say('2. Run the mapping tests');
    const report = await runMappingTests(v.ws, v.mappings);
    result.tests = { passed: report.passed, failed: report.failed };
    say(`   ${report.passed} passed, ${report.failed} failed`);

    say(`3. Plan and apply to ${flags.env}`);
    const db = await openDatabase(root, this.json);
    try {
      say(`   database: ${db.describe}`);
      const actor = await currentActor(root);
      const outcome = await planEnvironment(db, { path: root, env: flags.env, actor, ref: flags.ref });
      if (!outcome.ok) {
        for (const d of outcome.diagnostics) say(renderDiagnostic(d));
        this.exitCode = ExitCode.FAILED;
        return result;
      }
      const plan = outcome.plan;
      if (!plan.empty) {
        say(
          renderPlanText(plan)
            .split('\n')
            .map((l) => `   ${l}`)
            .join('\n'),
        );
        const applied = await applyPlan(db, plan, { actor, url: db.url });
        result.applied = applied.applied;
        say(
          `   applied: ${applied.applied.create} created, ${applied.applied.update} updated, ${applied.applied.delete} deleted (apply log entry ${applied.logEntry})`,
        );
      } else say(`   ${summaryLine(plan)}`);

      const flows = [...(await loadFlows(db.pool, flags.env)).values()].filter((f) => f.enabled);
      const fakes = await startFakes(fakeableConnections(flows));
      say(`4. Sync (a worker for at most ${flags.for})`);
      for (const f of fakes) say(`   ${f.system}: the ${f.connector} connector, pointed at its fake at ${f.url}`);
      say('   every other connection: the sandbox connector (simulated systems in the state database)');
      const byFile = await mappingSamples(v.ws);
      const samples = (f: FlowDef) => byFile.get(f.mappingFile) ?? [];
      const sync = await syncSandbox(db, flags.env, flows, samples, {
        records: flags.records,
        forMs,
        fakes,
        progress: (p) => {
          if (p.step === 'seeded')
            say(`   the simulated systems hold ${p.records} new records for each of ${p.flows} scheduled flows`);
          else if (p.step === 'sent')
            say(
              `   sent ${[...p.statuses.values()].reduce((a, b) => a + b, 0)} webhooks as their vendors send them (envelope, headers, signature) to ${p.url}/hooks/<customer>/<flow> (${[...p.statuses].map(([s, n]) => `${n} × HTTP ${s}`).join(', ')}):\n${[
                ...p.topics,
              ]
                .map(([t, n]) => `     ${n} × ${t}`)
                .join('\n')}`,
            );
          else say(`   sent them all again: ${p.duplicates} recognised as duplicates by their delivery id`);
        },
      }).finally(() => closeFakes(fakes));
      const sum = (k: 'read' | 'written' | 'unchanged' | 'filtered' | 'dead') =>
        sync.flows.reduce((n, r) => n + r[k], 0);
      result.synced = {
        read: sum('read'),
        written: sum('written'),
        unchanged: sum('unchanged'),
        filtered: sum('filtered'),
        dead: sum('dead'),
        filteredBy: Object.fromEntries(
          sync.flows
            .filter((r) => r.filtered > 0)
            .map((r) => [r.address, Object.fromEntries(filterReasonList(r.filtered, r.filteredBy))]),
        ),
        duplicatesRefused: sync.duplicatesRefused,
      };
      say(`   synced in ${(sync.elapsedMs / 1000).toFixed(1)} s:`);
      say(
        table(
          ['FLOW', 'READ', 'WRITTEN', 'UNCHANGED', 'FILTERED', 'DEAD'],
          sync.flows.map((r) => [
            r.address.replace('/flow/', '/'),
            String(r.read),
            String(r.written),
            String(r.unchanged),
            String(r.filtered),
            String(r.dead),
          ]),
        )
          .split('\n')
          .map((l) => `   ${l}`)
          .join('\n'),
      );
      const counted = new Map(sync.flows.map((r) => [r.address, r]));
      result.real = sync.fakes.map((f) => ({
        system: f.system,
        connector: f.connector,
        url: f.url,
        requests: f.requests,
        flows: flows
          .filter((fl) => fl.source.system === f.system || fl.target.system === f.system)
          .map((fl) => ({
            address: fl.address,
            role: fl.source.system === f.system ? ('source' as const) : ('target' as const),
            trigger: fl.trigger,
            read: counted.get(fl.address)?.read ?? 0,
            written: counted.get(fl.address)?.written ?? 0,
          })),
      }));
      if (result.real.length) say('   through the real connectors:');
      for (const r of result.real) {
        for (const fl of r.flows) {
          const name = fl.address.replace('/flow/', '/');
          say(
            fl.role === 'target'
              ? `   ${name}: ${fl.written} records written to the fake at ${r.url} by the ${r.connector} connector`
              : fl.trigger === 'event'
                ? `   ${name}: ${fl.read} webhooks verified and received by the ${r.connector} connector`
                : `   ${name}: ${fl.read} records read from the fake at ${r.url} by the ${r.connector} connector`,
          );
        }
        say(`     (${r.system}'s fake answered ${r.requests} requests)`);
      }
      const filtered = sync.flows.filter((r) => r.filtered > 0);
      if (filtered.length) {
        say("   filtered, by the mapping's reason (a rule of the mapping, not a loss):");
        say(
          table(
            ['FLOW', 'FILTERED', 'REASON'],
            filtered.flatMap((r) =>
              filterReasonList(r.filtered, r.filteredBy).map(([reason, n]) => [
                r.address.replace('/flow/', '/'),
                String(n),
                reason,
              ]),
            ),
          )
            .split('\n')
            .map((l) => `   ${l}`)
            .join('\n'),
        );
      }
      result.status = await flowStatus(db.pool, flags.env, flows);
      say(`\n5. Status (rsync status --env ${flags.env})`);
      say(
        renderStatus(flags.env, result.status, 0)
          .split('\n')
          .map((l) => `   ${l}`)
          .join('\n'),
      );
    } finally {
      await db.close();
    }
    say(
      `\nNext: rsync status --env ${flags.env}, rsync runs --log, rsync dlq list, rsync worker --env ${flags.env} --sandbox; see README.md.`,
    );
    this.exitCode = report.failed ? ExitCode.FAILED : ExitCode.OK;
    return result;
  }
}
