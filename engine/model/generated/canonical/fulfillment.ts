/* eslint-disable */
/**
 * Generated from schemas/canonical/fulfillment.schema.json (https://rsync.dev/schemas/v1/canonical/fulfillment.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Timestamp} from "../defs.js";
import type {ExternalId, Quantity, Sku} from "./defs.js";

/**
 * Canonical fulfilment: lines of an order shipped (or handed over) from a location.
 */
export interface Fulfillment {
  /**
   * The fulfilment's id in the source system.
   */
  externalId: ExternalId;
  /**
   * The fulfilled order's id in the source system.
   */
  orderExternalId: ExternalId;
  /**
   * pending or open (in progress), success (shipped or handed over), cancelled, failure.
   */
  status?: "pending" | "open" | "success" | "cancelled" | "failure";
  /**
   * Carrier tracking numbers.
   */
  trackingNumbers?: string[];
  /**
   * The carrier (e.g. UPS).
   */
  carrier?: string;
  /**
   * The lines fulfilled.
   *
   * @minItems 1
   */
  lines: FulfillmentLine[];
  /**
   * When the fulfilment was created.
   */
  createdAt?: Timestamp;
  /**
   * The location it ships from, in the source system.
   */
  locationId?: ExternalId;
}
/**
 * A fulfilled line.
 */
export interface FulfillmentLine {
  /**
   * The order line's id in the source system.
   */
  orderLineExternalId?: ExternalId;
  /**
   * The SKU fulfilled.
   */
  sku: Sku;
  /**
   * Units fulfilled.
   */
  quantity: Quantity;
}
