/**
 * A workspace diff: what a change to the workspace (a pull request, a commit, uncommitted edits) does to the
 * resources rsync deploys — not lines of YAML but flows, mappings, schedules, SLAs, policies and connections,
 * per customer, each created, updated or deleted, with field-level diffs and JSONata line diffs.
 *
 * It is a plain, serialisable value (the `--json` output of `rsync diff`), like the plan: the plan compares Git
 * with what PostgreSQL says is deployed; the diff compares Git with Git.
 */
import type { Action, FieldChange, PlanSummary, ResourceAction } from '../plan/types.js';
import type { Branding } from '../workspace/branding.js';

export const DIFF_FORMAT = 1;

/** One side of the diff: a Git ref, or the working tree. */
export interface DiffSide {
  /** How to call it: `main`, `merge-base of main and HEAD`, `working tree`. */
  label: string;
  /** The ref as given (null for the working tree). */
  ref: string | null;
  /** The commit it resolved to (null for the working tree). */
  commit: string | null;
  workingTree: boolean;
  /** No validation errors (warnings alone leave a side valid). */
  valid: boolean;
  /** The side's validation errors, in the `--json` form of a diagnostic. */
  errors: Record<string, unknown>[];
  warnings: number;
}

/** A resource that differs between the two sides, found by pairing them by address. */
export interface ResourceChange extends ResourceAction {
  /** For an update: the fields that differ (dotted paths of the resolved value; the mapping's hash left out). */
  fields: FieldChange[];
  /** For a flow whose mapping text changes: the files on each side and a unified line diff of the JSONata. */
  mapping?: { before: string | null; after: string | null; diff: string[] };
  /** The template (name@version) that produces the resource on each side, when one does. */
  template: { before: string | null; after: string | null };
  /** Where it is declared (file:line): the head side, or the base side for a delete. */
  source: string | null;
  /** For a connection, policy or SLA: the flows (addresses) that use it, on the head side (the base for a delete). */
  usedBy?: string[];
}

/** A template version whose own files differ: its blast radius is the customers' flows that change through it. */
export interface TemplateChange {
  /** name@version, or the folder under templates/ when the template document itself cannot be read. */
  template: string;
  action: Action;
  /** The template's files that differ, workspace-relative. */
  files: { path: string; action: Action }[];
  /** Customers with flows that change and come from this template (on either side). */
  customers: string[];
  /** Those flows' addresses. */
  flows: string[];
}

/** A customer whose flows move from one template version (or template) to another. */
export interface TemplateMove {
  customer: string;
  from: string;
  to: string;
  flows: string[];
}

/** The plan's summary without drift (a diff compares two sides of Git; nothing is live). `byTemplate` counts the head
 * side's template, the base's for a delete. */
export type DiffSummary = Omit<PlanSummary, 'drift'>;

export interface WorkspaceDiff {
  /** The diff's format, named `version` as in every command's --json output (it was `format` before issue 21). */
  version: typeof DIFF_FORMAT;
  /** The workspace folder. */
  workspace: string;
  base: DiffSide;
  head: DiffSide;
  /** The environment whose overlays were merged into both sides, or null: resources as declared, overlays as fields. */
  env: string | null;
  /** Customers the diff was limited to (`--customer`), or null for all. */
  customers: string[] | null;
  changes: ResourceChange[];
  /** Changes to the Workspace document of rsync.yaml (partner, branding, environments, defaults): not deployed, but reviewed. */
  settings: FieldChange[];
  templates: TemplateChange[];
  moves: TemplateMove[];
  summary: DiffSummary;
  branding: Branding;
  /** True when no resource and no workspace setting differs. */
  empty: boolean;
}
