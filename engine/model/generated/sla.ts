/* eslint-disable */
/**
 * Generated from schemas/sla.schema.json (https://rsync.dev/schemas/v1/sla.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Duration, EnvironmentOverlays, Metadata, Percentage} from "./defs.js";

/**
 * Service-level objectives for a flow or a customer: freshness, latency p95, success rate and support tier.
 */
export interface SLA {
  apiVersion: ApiVersion;
  /**
   * The kind of document: SLA.
   */
  kind: "SLA";
  metadata: Metadata;
  spec: SLASpec;
  environments?: EnvironmentOverlays;
}
/**
 * The objectives.
 */
export interface SLASpec {
  /**
   * Maximum lag from a change in the source to its write in the target (e.g. 5m).
   */
  freshness?: Duration;
  /**
   * 95th percentile of the time from an event's delivery to its write in the target, for event flows (e.g. 60s).
   */
  latencyP95?: Duration;
  /**
   * Minimum share of records written without dead-lettering, e.g. "99.9%" (its complement is the error budget).
   */
  successRate?: Percentage;
  /**
   * The support tier that goes with this SLA (e.g. gold).
   */
  supportTier?: string;
}
