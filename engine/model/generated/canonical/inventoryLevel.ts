/* eslint-disable */
/**
 * Generated from schemas/canonical/inventoryLevel.schema.json (https://rsync.dev/schemas/v1/canonical/inventoryLevel.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Timestamp} from "../defs.js";
import type {ExternalId, Sku} from "./defs.js";

/**
 * Canonical inventory level: the stock of a SKU at a location.
 */
export interface InventoryLevel {
  /**
   * The SKU counted.
   */
  sku: Sku;
  /**
   * The location (store, warehouse) in the source system.
   */
  locationId: ExternalId;
  /**
   * Units available to sell (may be negative when oversold).
   */
  available: number;
  /**
   * Units physically on hand, committed ones included.
   */
  onHand?: number;
  /**
   * When the level was last changed.
   */
  updatedAt?: Timestamp;
}
