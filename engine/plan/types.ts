/**
 * The plan: a plain, versioned, serialisable value — the changes that turn what is deployed into what Git says,
 * each with a field-level diff and a display-only reason, plus drift (the live pg-boss queues and schedules that
 * no longer match what was applied). `rsync plan --out` writes it; `rsync apply plan.json` applies exactly it.
 */

import type { Branding } from '../workspace/branding.js';
import type { PlanImpact } from './impact.js';
import type { BlastRadius } from './radius.js';
import type { PlanSelection } from './select.js';
import type { WorkspaceIdentity } from '../workspace/identity.js';

/** 2: plans carry the workspace they were made in (`workspace`); a plan of format 1 is made again. */
export const PLAN_FORMAT = 2;

export type Action = 'create' | 'update' | 'delete';

/** The annotation that acknowledges a flow's data impact (impact.ts), in the change that adds or edits it. */
export const ACKNOWLEDGE_ANNOTATION = 'rsync/acknowledge-impact';

/** A resource as rsync deploys it: its identity, the resolved value, and that value's content hash. */
export interface DeployableResource {
  address: string;
  customer: string | null;
  kind: string;
  name: string;
  /** The resolved value; for a flow it names its mapping by content hash (the text is in `blobs`). */
  spec: Record<string, unknown>;
  hash: string;
  /** name@version of the template that produced it. */
  template: string | null;
  /** The file that declares it, for messages. */
  source: string | null;
}

/** One field that changes: a dotted path, and the old and new values (undefined = absent). */
export interface FieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

/** A resource by its address and the parts of it (customer null: partner-wide). */
export interface ResourceIdentity {
  address: string;
  customer: string | null;
  kind: string;
  name: string;
}

/** The identity of `r` alone, in the order a change (and its JSON) lists it. */
export const identityOf = (r: ResourceIdentity): ResourceIdentity => ({
  address: r.address,
  customer: r.customer,
  kind: r.kind,
  name: r.name,
});

/** What happens to one resource, as the plan and the workspace diff both say it. */
export interface ResourceAction extends ResourceIdentity {
  action: Action;
  /** Display only: why this change, e.g. `mapping changed; schedule "0 6 * * *" → "30 5 * * *"` (never drives apply). */
  reason: string;
}

export interface Change extends ResourceAction {
  /** The revision it replaces or deletes. */
  fromRevision: number | null;
  beforeHash: string | null;
  afterHash: string | null;
  /** The value apply writes (absent for delete). */
  after?: DeployableResource;
  fields: FieldChange[];
  /** For a flow whose mapping changes: a unified line diff of the JSONata. */
  mappingDiff?: string[];
  template: string | null;
}

export interface Drift {
  /** The queue or schedule that differs, by its pg-boss name. */
  object: string;
  type: 'queue' | 'schedule';
  problem: 'missing' | 'changed' | 'unexpected';
  detail: string;
  /** The deployed resources it serves. */
  addresses: string[];
}

/** A flow whose target's schema no longer fits what it writes, as the schema guard found it (plan/target-drift.ts). */
export interface TargetDrift {
  /** The flow. */
  address: string;
  /** `<customer>/<connection> <entity>` */
  target: string;
  changes: import('../state/schema-guards.js').SchemaChange[];
  summary: string;
  detail: string;
  /** The run that found it, and when. */
  run: number;
  foundAt: string;
  /** True when this plan changes the flow's mapping so that it no longer writes what was dropped and writes what is now required. */
  fixedByPlan?: boolean;
}

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  unchanged: number;
  drift: number;
  byCustomer: Record<string, { create: number; update: number; delete: number }>;
  /** Template blast radius: `name@version` → how many customers and flows the plan touches through it. */
  byTemplate: Record<string, { customers: number; flows: number }>;
  /** Which customers, flows and target systems the plan touches, by template version and target type (radius.ts). */
  radius?: BlastRadius;
}

export interface Plan {
  /** The plan's format: `version`, as in every command's --json output. */
  version: typeof PLAN_FORMAT;
  /** The same number under its name before issue 21, kept for plan files and scripts that read it. */
  format: typeof PLAN_FORMAT;
  env: string;
  ref: string | null;
  commit: string | null;
  createdAt: string;
  createdBy: string;
  /** Customers the plan was limited to (`--customer`), or null for all. */
  customers: string[] | null;
  /**
   * The workspace the plan was made in (workspace/identity.ts): `rsync apply plan.json` refuses it in another.
   * Null only for the plans rsync makes for itself and never saves (promotion's checks).
   */
  workspace: WorkspaceIdentity | null;
  /** Fingerprint of the deployed state the plan was made against: apply refuses the plan when it moved. */
  basis: { stateHash: string; resources: number };
  /**
   * A partial plan's selection (--target, --exclude, --selector): what it takes and what it leaves out. Absent for a
   * plan of everything in scope. Apply touches only the live objects of `selection.included`.
   */
  selection?: PlanSelection;
  changes: Change[];
  drift: Drift[];
  /** Targets whose schema changed under a flow (the schema guard paused it): apply does not heal these. */
  targetDrift?: TargetDrift[];
  summary: PlanSummary;
  /** Mapping texts by sha256, for the flows the plan creates or updates (apply stores them). */
  blobs: Record<string, string>;
  branding: Branding;
  /** True when there is nothing to do (no changes, no drift). */
  empty: boolean;
  /** With `rsync plan --impact`: what the changed flows would do to sampled records (impact.ts). */
  impact?: PlanImpact;
}
