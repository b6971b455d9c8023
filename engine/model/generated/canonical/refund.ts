/* eslint-disable */
/**
 * Generated from schemas/canonical/refund.schema.json (https://rsync.dev/schemas/v1/canonical/refund.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Currency, Money, Timestamp} from "../defs.js";
import type {ExternalId, SaleQuantity, Sku} from "./defs.js";

/**
 * Canonical refund: money returned on an order, with the returned lines (and whether they are restocked).
 */
export interface Refund {
  /**
   * The refund's id in the source system.
   */
  externalId: ExternalId;
  /**
   * The refunded order's id in the source system.
   */
  orderExternalId: ExternalId;
  /**
   * When the refund was made.
   */
  createdAt: Timestamp;
  /**
   * When the refund last changed (it completed or failed): a later version replaces an earlier one, never the other way round.
   */
  updatedAt?: Timestamp;
  /**
   * Where the money is: pending (posted, not yet returned), succeeded, or failed / cancelled (nothing was returned: the credit is to be reversed). Absent: succeeded.
   */
  status?: "pending" | "succeeded" | "failed" | "cancelled";
  /**
   * Currency of every amount (ISO 4217).
   */
  currency: Currency;
  /**
   * The line and shipping amounts include tax (a tax-inclusive shop): the total is then lines + shipping + adjustment, with tax the tax inside them. Absent: false.
   */
  taxesIncluded?: boolean;
  /**
   * Why (as entered, e.g. damaged).
   */
  reason?: string;
  /**
   * The returned or refunded lines; absent or empty for an amount-only refund.
   */
  lines?: RefundLine[];
  /**
   * Shipping refunded.
   */
  shipping?: Money;
  /**
   * Tax refunded.
   */
  tax?: Money;
  /**
   * An amount refunded that is no line, shipping or tax (a goodwill or amount-only refund); negative for an amount kept (a restocking fee).
   */
  adjustment?: Money;
  /**
   * Total refunded, a positive amount: lines + shipping + tax + adjustment (tax left out when taxesIncluded).
   */
  total: Money;
  /**
   * The payment transactions that returned the money.
   */
  transactions?: RefundTransaction[];
}
/**
 * A refunded line.
 */
export interface RefundLine {
  /**
   * The order line's id in the source system.
   */
  orderLineExternalId?: ExternalId;
  /**
   * The SKU refunded.
   */
  sku?: Sku;
  /**
   * Units refunded.
   */
  quantity: SaleQuantity;
  /**
   * Amount refunded for the line, tax excluded.
   */
  amount?: Money;
  /**
   * Whether the units go back to stock.
   */
  restock?: boolean;
}
/**
 * A refund payment transaction.
 */
export interface RefundTransaction {
  /**
   * The transaction's id in the source system.
   */
  externalId?: ExternalId;
  /**
   * The payment gateway or method (e.g. shopify_payments, cash).
   */
  gateway?: string;
  /**
   * Amount returned.
   */
  amount: Money;
  /**
   * Transaction status.
   */
  status?: "pending" | "success" | "failure";
}
