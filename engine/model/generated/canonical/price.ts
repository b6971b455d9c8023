/* eslint-disable */
/**
 * Generated from schemas/canonical/price.schema.json (https://rsync.dev/schemas/v1/canonical/price.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Currency, Money, Timestamp} from "../defs.js";
import type {Sku} from "./defs.js";

/**
 * Canonical price: the price of a SKU in a currency, optionally on a price list and from a date.
 */
export interface Price {
  /**
   * The SKU priced.
   */
  sku: Sku;
  /**
   * The price.
   */
  amount: Money;
  /**
   * Currency of amount and compareAt (ISO 4217).
   */
  currency: Currency;
  /**
   * The price list or price level (e.g. retail, wholesale); absent for the base price.
   */
  priceList?: string;
  /**
   * Original price before markdown.
   */
  compareAt?: Money;
  /**
   * When this price takes effect.
   */
  effectiveFrom?: Timestamp;
  /**
   * The amount includes tax (VAT-style prices). Absent: false.
   */
  taxesIncluded?: boolean;
}
