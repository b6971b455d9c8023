/**
 * The planner: a pure function of desired state (Git), deployed state (PostgreSQL) and the live pg-boss objects.
 * Pair by address first (pair.ts), then diff each pair. No I/O here: plan/index.ts reads Git and the database.
 */
import { expectedLive, queueDifferences, type DeployedLike, type LiveState } from '../live/layout.js';
import type { DeployedRow } from '../state/deployments.js';
import { hashOf } from '../util/hash.js';
import { isObject } from '../util/merge.js';
import type { DesiredState } from './desired.js';
import { inScope, pairByAddress } from './pair.js';
import { hasSelection, selectChanges, type SelectionRequest } from './select.js';
import { fieldChanges, lineDiff } from './diff.js';
import { blastRadius } from './radius.js';
import type { Branding } from '../workspace/branding.js';
import type { WorkspaceIdentity } from '../workspace/identity.js';
import {
  identityOf,
  PLAN_FORMAT,
  type Change,
  type DeployableResource,
  type Drift,
  type Plan,
  type PlanSummary,
} from './types.js';

export interface PlanInput {
  env: string;
  ref: string | null;
  commit: string | null;
  createdBy: string;
  now: Date;
  desired: DesiredState;
  /** Every deployed resource of the environment. */
  deployed: DeployedRow[];
  /** Mapping texts of deployed flows by sha256 (for line diffs of changed mappings). */
  deployedBlobs: Map<string, string>;
  /** The live pg-boss queues and schedules of the environment (null: not checked). */
  live: LiveState | null;
  /** Limit the plan to these customers. */
  customers?: string[];
  branding: Branding;
  /** The workspace the plan is made in (a saved plan is refused in another); absent for a plan never saved. */
  workspace?: WorkspaceIdentity;
  /** Limit the plan to some resources (--target, --exclude, --selector; select.ts). */
  selection?: SelectionRequest;
}

/**
 * One change to a resource: `have` is what is deployed (absent for a create), `want` what Git says (absent for a
 * delete). The resource's identity and template are `want`'s, or `have`'s for a delete.
 */
function changeOf(
  action: Change['action'],
  reason: string,
  have: DeployedRow | undefined,
  want: DeployableResource | undefined,
  fields: Change['fields'] = [],
): Change {
  const r = (want ?? have) as DeployableResource | DeployedRow;
  return {
    ...identityOf(r),
    action,
    reason,
    fromRevision: have ? have.revision : null,
    beforeHash: have ? have.hash : null,
    afterHash: want ? want.hash : null,
    ...(want ? { after: want } : {}),
    fields,
    template: r.template,
  };
}

/** Fingerprint of an environment's deployed state: a saved plan is stale once it changes. */
export function stateHash(deployed: readonly { address: string; hash: string; revision: number }[]): string {
  return hashOf(
    deployed
      .map((d) => [d.address, d.hash, d.revision] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
  );
}

function describeFields(fields: { path: string }[]): string {
  const names = fields.map((f) => f.path.replace(/^spec\./, ''));
  const shown = names.slice(0, 3).join(', ');
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}

export function makePlan(input: PlanInput): Plan {
  const scope = input.customers?.length ? new Set(input.customers) : null;
  const changes: Change[] = [];
  let unchanged = 0;
  const blobs: Record<string, string> = {};

  for (const pair of pairByAddress(input.desired.resources, input.deployed, scope)) {
    if (pair.action === 'delete') {
      const { have } = pair;
      changes.push(changeOf('delete', `no longer declared at ${input.ref ?? 'the working tree'}`, have, undefined));
      continue;
    }
    const { want } = pair;
    const mapping = isObject(want.spec.mapping) ? (want.spec.mapping as { sha256?: string }) : undefined;
    if (pair.action === 'create') {
      if (mapping?.sha256) blobs[mapping.sha256] = input.desired.blobs.get(mapping.sha256) ?? '';
      changes.push(
        changeOf(
          'create',
          `not yet deployed to ${input.env}${want.template ? `, from template ${want.template}` : ''}`,
          undefined,
          want,
        ),
      );
      continue;
    }
    const { have } = pair;
    if (have.hash === want.hash) {
      unchanged++;
      continue;
    }
    const fields = fieldChanges(have.spec, want.spec);
    const change = changeOf('update', '', have, want, fields);
    const reasons: string[] = [];
    const oldMapping = isObject(have.spec.mapping) ? (have.spec.mapping as { sha256?: string }) : undefined;
    if (mapping?.sha256 && mapping.sha256 !== oldMapping?.sha256) {
      blobs[mapping.sha256] = input.desired.blobs.get(mapping.sha256) ?? '';
      const before = oldMapping?.sha256 ? input.deployedBlobs.get(oldMapping.sha256) : undefined;
      change.mappingDiff = lineDiff(before ?? '', input.desired.blobs.get(mapping.sha256) ?? '');
      reasons.push('mapping changed');
    }
    if (have.template !== want.template && (have.template || want.template)) {
      reasons.push(`template ${have.template ?? '(none)'} → ${want.template ?? '(none)'}`);
    }
    const other = fields.filter((f) => !f.path.startsWith('mapping.') && !f.path.startsWith('template.'));
    if (other.length) reasons.push(`${describeFields(other)} changed`);
    change.reason = reasons.join('; ') || 'changed';
    changes.push(change);
  }
  changes.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));

  // A partial plan: the changes asked for, and a count and list of the others (never hidden).
  const selected = hasSelection(input.selection)
    ? selectChanges(input.env, input.selection!, changes, input.desired.resources, input.deployed)
    : undefined;
  const included = selected && new Set(selected.selection.included);
  const kept = selected ? selected.kept : changes;
  if (included) {
    const changed = new Set(changes.map((c) => c.address));
    unchanged = input.desired.resources.filter(
      (r) => inScope(scope, r.customer) && included.has(r.address) && !changed.has(r.address),
    ).length;
  }

  const drift = input.live
    ? findDrift(
        input.env,
        input.deployed.filter((d) => inScope(scope, d.customer) && (!included || included.has(d.address))),
        input.live,
        scope === null && !included,
      )
    : [];
  const summary = summarise(kept, unchanged, drift.length);
  summary.radius = blastRadius(kept, input.desired.resources, input.deployed);
  return {
    version: PLAN_FORMAT,
    format: PLAN_FORMAT,
    env: input.env,
    ref: input.ref,
    commit: input.commit,
    createdAt: input.now.toISOString(),
    createdBy: input.createdBy,
    customers: scope ? [...scope].sort() : null,
    workspace: input.workspace ?? null,
    basis: { stateHash: stateHash(input.deployed), resources: input.deployed.length },
    ...(selected ? { selection: selected.selection } : {}),
    changes: kept,
    drift,
    summary,
    blobs: selected ? blobsOf(kept, blobs) : blobs,
    branding: input.branding,
    empty: kept.length === 0 && drift.length === 0,
  };
}

/** The mapping texts the kept changes need. */
function blobsOf(changes: readonly Change[], all: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of changes) {
    const sha = isObject(c.after?.spec.mapping) ? (c.after!.spec.mapping as { sha256?: string }).sha256 : undefined;
    if (sha && sha in all) out[sha] = all[sha];
  }
  return out;
}

function summarise(changes: Change[], unchanged: number, drift: number): PlanSummary {
  const s: PlanSummary = { create: 0, update: 0, delete: 0, unchanged, drift, byCustomer: {}, byTemplate: {} };
  const templateCustomers = new Map<string, Set<string>>();
  for (const c of changes) {
    s[c.action]++;
    const key = c.customer ?? '(partner-wide)';
    const per = (s.byCustomer[key] ??= { create: 0, update: 0, delete: 0 });
    per[c.action]++;
    if (c.template && c.kind === 'flow') {
      const t = (s.byTemplate[c.template] ??= { customers: 0, flows: 0 });
      t.flows++;
      const set = templateCustomers.get(c.template) ?? new Set();
      if (c.customer) set.add(c.customer);
      templateCustomers.set(c.template, set);
      t.customers = set.size;
    }
  }
  return s;
}

/** One drifted pg-boss object, listed under the deployed resources it serves. */
function driftOf(
  object: string,
  type: Drift['type'],
  problem: Drift['problem'],
  detail: string,
  addresses: string[],
): Drift {
  return { object, type, problem, detail, addresses };
}

/**
 * Live pg-boss objects against what the deployed state needs. `complete` is true when the whole environment was
 * planned, so an rsync queue nobody needs is reported as unexpected.
 */
export function findDrift(env: string, deployed: DeployedLike[], live: LiveState, complete: boolean): Drift[] {
  const expected = expectedLive(env, deployed);
  const queues = new Map(live.queues.map((q) => [q.name, q]));
  const schedules = new Map(live.schedules.map((s) => [s.name, s]));
  const drift: Drift[] = [];
  for (const q of expected.queues.values()) {
    const have = queues.get(q.name);
    if (!have) {
      drift.push(driftOf(q.name, 'queue', 'missing', 'the pg-boss queue does not exist', q.addresses));
      continue;
    }
    const diffs = queueDifferences(have, q.settings);
    if (diffs.length) drift.push(driftOf(q.name, 'queue', 'changed', diffs.join(', '), q.addresses));
  }
  for (const s of expected.schedules.values()) {
    const have = schedules.get(s.name);
    if (!have) {
      drift.push(
        driftOf(s.name, 'schedule', 'missing', `the schedule "${s.cron}" (${s.timezone}) does not exist`, s.addresses),
      );
    } else if (have.cron !== s.cron || have.timezone !== s.timezone) {
      drift.push(
        driftOf(
          s.name,
          'schedule',
          'changed',
          `"${have.cron}" (${have.timezone}) instead of "${s.cron}" (${s.timezone})`,
          s.addresses,
        ),
      );
    }
  }
  if (complete) {
    const prefix = `rsync.${env}.`;
    for (const s of live.schedules) {
      if (s.name.startsWith(prefix) && !expected.schedules.has(s.name)) {
        drift.push(driftOf(s.name, 'schedule', 'unexpected', `a schedule "${s.cron}" that no deployed flow uses`, []));
      }
    }
    // Apply removes an rsync queue nobody uses once it is empty: the plan must say so.
    for (const q of live.queues) {
      if (q.name.startsWith(prefix) && !expected.queues.has(q.name)) {
        drift.push(
          driftOf(
            q.name,
            'queue',
            'unexpected',
            'a queue that no deployed flow uses (apply removes it once it is empty)',
            [],
          ),
        );
      }
    }
  }
  return drift.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
}
