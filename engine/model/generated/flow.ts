/* eslint-disable */
/**
 * Generated from schemas/flow.schema.json (https://rsync.dev/schemas/v1/flow.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, CanonicalEntityName, EnvironmentOverlays, Metadata, ResourceName, TimeZone} from "./defs.js";

/**
 * One sync: source (connection + stream) → mapping → target (connection + entity), with a trigger, an idempotency key, a policy and an SLA.
 */
export interface Flow {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Flow.
   */
  kind: "Flow";
  metadata: Metadata;
  spec: FlowSpec;
  environments?: EnvironmentOverlays;
}

/**
 * Source, trigger, mapping, target, idempotency key, policy and SLA of the flow.
 */
export interface FlowSpec {
  /**
   * What this flow does, for people.
   */
  description?: string;
  source: FlowSource;
  trigger: FlowTrigger;
  /**
   * Path of the JSONata mapping (source record → canonical entity), relative to this file; ends with .jsonata.
   */
  mapping: string;
  /**
   * The canonical entity the mapping produces; every mapped record is checked against it.
   */
  canonical: CanonicalEntityName;
  target: FlowTarget;
  /**
   * The idempotency key: a JSONata expression over the source record (e.g. "'shopify-order-' & admin_graphql_api_id").
   */
  key: string;
  /**
   * Name of a Policy; defaults to the customer's, then the workspace's.
   */
  policy?: ResourceName;
  /**
   * Name of an SLA; defaults to the customer's, then the workspace's.
   */
  sla?: ResourceName;
  /**
   * Records written to the target per batch (1 to 1000).
   */
  batchSize?: number;
  /**
   * Runs of this flow that may execute at once (1 to 64).
   */
  concurrency?: number;
  /**
   * False pauses the flow: it is deployed but never triggered.
   */
  enabled?: boolean;
}
/**
 * Where records come from: a connection and one of its streams.
 */
export interface FlowSource {
  /**
   * Name of a Connection of this customer.
   */
  connection: ResourceName;
  /**
   * A stream the connection's connector can read (e.g. orders).
   */
  stream: string;
}
/**
 * Where records go: a connection and one of its entities.
 */
export interface FlowTarget {
  /**
   * Name of a Connection of this customer.
   */
  connection: ResourceName;
  /**
   * An entity the connection's connector can write (e.g. salesOrder).
   */
  entity: string;
}

/**
 * What starts a run, exactly one of: { event: <webhook topic> or [<topics>] }, { schedule: { cron, timezone? } }, { manual: true }.
 */
export type FlowTrigger =
  | {
      /**
       * The webhook topic the source connection receives (e.g. orders/create), or several topics of one stream (e.g. [orders/create, orders/updated, orders/cancelled]: the order, its edits and its cancellation are successive versions of one record, under one key). A delivery of another topic is refused (400).
       */
      event: string | string[];
    }
  | {
      schedule: Schedule;
    }
  | {
      /**
       * Only started by hand (rsync run) or by a backfill.
       */
      manual: true;
    };

/**
 * A cron schedule, in a time zone.
 */
export interface Schedule {
  /**
   * A cron expression with 5 fields (minute hour day-of-month month day-of-week), e.g. "* /15 * * * *", or @hourly, @daily, @weekly, @monthly, @yearly; checked by rsync validate (cron-invalid).
   */
  cron: string;
  /**
   * IANA time zone of the schedule; defaults to the customer's, then the workspace's.
   */
  timezone?: TimeZone;
}
