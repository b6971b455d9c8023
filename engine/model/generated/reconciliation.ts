/* eslint-disable */
/**
 * Generated from schemas/reconciliation.schema.json (https://rsync.dev/schemas/v1/reconciliation.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Duration, EnvironmentOverlays, Metadata, ResourceName} from "./defs.js";

/**
 * A check that two systems agree over a window of time: how many records each has, the sums of money per currency, and which keys one side has and the other lacks (e.g. storefront orders against ERP sales orders, payouts against GL journal lines). A customer's, in its folder; the worker runs it on a schedule and `rsync reconcile <name>` runs it now.
 */
export interface Reconciliation {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Reconciliation.
   */
  kind: "Reconciliation";
  metadata: Metadata;
  spec: ReconciliationSpec;
  environments?: EnvironmentOverlays;
}
/**
 * The two sides compared, the window and how often.
 */
export interface ReconciliationSpec {
  /**
   * What this check proves, for people.
   */
  description?: string;
  /**
   * One side: usually the system of record (the storefront's orders, the payment provider's payouts).
   */
  left: ReconciliationSide;
  /**
   * The other side: usually where rsync writes (the ERP's sales orders, the GL's journal lines).
   */
  right: ReconciliationSide;
  /**
   * How far back the check looks: the records whose `time` is in [now - settle - window, now - settle).
   */
  window?: Duration;
  /**
   * How long a record may take to reach the other side: the window ends this long before now, so records still on their way are not reported.
   */
  settle?: Duration;
  /**
   * How often the worker runs the check.
   */
  every?: Duration;
  /**
   * How many keys each list of a result names (missing on the left, missing on the right, amounts differing); the counts are always whole.
   */
  maxKeys?: number;
}

/**
 * A system's records in the window: a connection's stream read through its connector, or the records rsync wrote to a connection's entity read back from it (as `rsync xref verify` does): exactly one of `stream` and `entity`. Each record gives a key, and optionally an amount and its currency.
 */
export interface ReconciliationSide {
  /**
   * A connection of this customer.
   */
  connection: ResourceName;
  /**
   * Read this stream of the connection (e.g. orders), as a flow's source does.
   */
  stream?: string;
  /**
   * Read back the records of this entity (e.g. salesOrder) that the customer's flows wrote to the connection, by their target ids; the connector must be able to fetch records.
   */
  entity?: string;
  /**
   * A JSONata expression over a record giving the key the two sides are matched by (e.g. "'order-' & $string(id)" on one side and "'order-' & externalId" on the other).
   */
  key: string;
  /**
   * A JSONata expression over a record giving its time (an RFC 3339 text, or Unix seconds or milliseconds): the window is over it (e.g. created_at).
   */
  time: string;
  /**
   * A JSONata expression giving the record's amount of money, a decimal text (e.g. total_price); summed exactly, per currency, and compared key by key.
   */
  amount?: string;
  /**
   * A JSONata expression giving the amount's ISO 4217 currency (e.g. currency); without it every amount is summed as one currency.
   */
  currency?: string;
  /**
   * A JSONata expression: only the records for which it is true are compared (e.g. "test != true").
   */
  filter?: string;
}
