/* eslint-disable */
/**
 * Generated from schemas/rollout.schema.json (https://rsync.dev/schemas/v1/rollout.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Duration, Labels, Metadata, Percentage, ResourceName} from "./defs.js";

/**
 * A change rolled out a few customers at a time: cohorts (by customer list or label selector) applied in order, each held by a gate (a wait, a maximum dead-letter rate, SLA held, a reconciliation check passing, a manual approval) before the next is applied. Partner-wide: in rsync.yaml or rollouts.yaml at the workspace root. `rsync rollout start <name>` starts it; the worker advances it.
 */
export interface Rollout {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Rollout.
   */
  kind: "Rollout";
  metadata: Metadata;
  spec: RolloutSpec;
}
/**
 * The cohorts, in the order they are applied.
 */
export interface RolloutSpec {
  /**
   * Applied one after another: each once the gate of the one before it passed. A customer belongs to the first cohort that takes it.
   *
   * @minItems 1
   */
  cohorts: RolloutCohort[];
}

/**
 * Some customers, and the gate that must pass before the next cohort is applied. With neither `customers` nor `selector` it takes every customer no earlier cohort took (e.g. everyone); only the last cohort may.
 */
export interface RolloutCohort {
  /**
   * The cohort's name, unique in the rollout (e.g. canary, early, everyone).
   */
  name: ResourceName;
  /**
   * These customers (by folder name).
   *
   * @minItems 1
   */
  customers?: ResourceName[];
  /**
   * The customers whose customer.yaml carries all these labels (as `rsync plan --selector` selects).
   */
  selector?: Labels;
  gate?: RolloutGate;
}

/**
 * What must hold, after the cohort is applied, before the next one is: every condition given. A condition that fails (a dead-letter rate above the maximum, an open SLA breach, a reconciliation that found mismatches) halts the rollout. No gate: the next cohort follows at once.
 */
export interface RolloutGate {
  /**
   * At least this long since the cohort was applied (e.g. 1h, 1d).
   */
  wait?: Duration;
  /**
   * At most this share of the cohort's records dead-lettered since it was applied (dead / written + unchanged + dead, e.g. "1%"); above it the rollout halts.
   */
  maxDeadLetterRate?: Percentage;
  /**
   * With maxDeadLetterRate: the rate passes only once the cohort's flows have counted at least this many records since it was applied.
   */
  minRecords?: number;
  /**
   * No SLA breach open on a flow of the cohort's customers; one open halts the rollout.
   */
  slaHeld?: true;
  /**
   * The reconciliation check of this name passed for every customer of the cohort, in a run finished after the cohort was applied; one with mismatches halts the rollout.
   */
  reconciliation?: ResourceName;
  /**
   * A person approves: `rsync rollout approve <name>`.
   */
  approval?: true;
}
