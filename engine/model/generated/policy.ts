/* eslint-disable */
/**
 * Generated from schemas/policy.schema.json (https://rsync.dev/schemas/v1/policy.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Duration, EnvironmentOverlays, Metadata, ResourceName} from "./defs.js";

/**
 * Governance: source-of-truth ownership per entity and field, retry and back-off, dead letters, PII, retention and approvals.
 */
export interface Policy {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Policy.
   */
  kind: "Policy";
  metadata: Metadata;
  spec: PolicySpec;
  environments?: EnvironmentOverlays;
}
/**
 * Ownership, retry, dead letters, PII, retention and approvals.
 */
export interface PolicySpec {
  ownership?: Ownership;
  retry?: RetryPolicy;
  /**
   * A scheduled run missed while no worker ran (its cron fired during the gap): run-once starts the flow once when a worker is back, however many firings were missed; skip starts nothing until the next firing.
   */
  missedRuns?: "run-once" | "skip";
  deadLetter?: DeadLetterPolicy;
  pii?: PiiPolicy;
  retention?: RetentionPolicy;
  approvals?: Approvals;
}
/**
 * The system of record per canonical entity (order) or entity field (product.description): a connection name or a connector type. A flow that writes owned data from a non-owner is an error.
 */
export interface Ownership {
  /**
   * The owning connection name or connector type (e.g. shopify).
   */
  [k: string]: ResourceName;
}
/**
 * How failed records and batches are retried before they are dead-lettered.
 */
export interface RetryPolicy {
  /**
   * Attempts in all, the first included (1 means no retry).
   */
  maxAttempts?: number;
  /**
   * How the delay grows between attempts.
   */
  backoff?: "exponential" | "linear" | "fixed";
  /**
   * Delay before the first retry (e.g. 2s).
   */
  initial?: Duration;
  /**
   * Longest delay between attempts (e.g. 10m).
   */
  max?: Duration;
}
/**
 * What happens to records that failed permanently or ran out of retries.
 */
export interface DeadLetterPolicy {
  /**
   * How long resolved dead letters (replayed or discarded) are kept (e.g. 90d), from when each was resolved. An open dead letter is kept until it is resolved.
   */
  retain?: Duration;
}
/**
 * Personal data: which canonical fields are PII, where they must never go, and whether they are masked.
 */
export interface PiiPolicy {
  /**
   * Canonical field paths that hold PII (e.g. customer.email, shippingAddress).
   */
  fields?: string[];
  /**
   * Connection names or connector types these fields must never reach (e.g. avalara).
   */
  forbidTargets?: ResourceName[];
  /**
   * Mask these fields in dead letters and logs.
   */
  mask?: boolean;
}
/**
 * How long run records (with their logs), webhook deliveries and ledger entries are kept; the worker deletes what is older (dead letters: deadLetter.retain). Nothing is deleted where no duration is given.
 */
export interface RetentionPolicy {
  /**
   * How long finished runs and their logs are kept (e.g. 30d), from when each finished.
   */
  runs?: Duration;
  /**
   * How long ledger entries (idempotency keys and ID cross-references) are kept (e.g. 400d), from when each was last written. A key past it is forgotten: the same record read again is written again.
   */
  ledger?: Duration;
  /**
   * How long finished webhook deliveries are kept (e.g. 30d); by default as long as runs.
   */
  deliveries?: Duration;
}
/**
 * Approvals needed per environment before apply (e.g. production: 1).
 */
export interface Approvals {
  /**
   * Number of approvals needed.
   */
  [k: string]: number;
}
