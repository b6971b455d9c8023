/* eslint-disable */
/**
 * Generated from schemas/canonical/settlement.schema.json (https://rsync.dev/schemas/v1/canonical/settlement.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Currency, Money, Timestamp} from "../defs.js";
import type {CalendarDate, ExternalId} from "./defs.js";

/**
 * Canonical settlement: a payout from a payment provider or marketplace, with the transactions it settles.
 */
export interface Settlement {
  /**
   * The payout's id in the source system.
   */
  externalId: ExternalId;
  /**
   * Who pays out (e.g. shopify_payments, stripe, amazon).
   */
  source?: string;
  /**
   * Currency of every amount (ISO 4217).
   */
  currency: Currency;
  /**
   * Sum of the settled transactions before fees.
   */
  grossAmount?: Money;
  /**
   * Fees withheld, a positive amount.
   */
  fees?: Money;
  /**
   * What reaches the bank: grossAmount − fees.
   */
  netAmount: Money;
  /**
   * When the money arrives (or arrived) in the bank.
   */
  arrivalDate?: CalendarDate;
  /**
   * Payout status.
   */
  status?: "pending" | "in_transit" | "paid" | "failed" | "cancelled";
  /**
   * The transactions this payout settles.
   */
  transactions?: SettlementTransaction[];
  /**
   * When the payout last changed status.
   */
  updatedAt?: Timestamp;
}
/**
 * A settled transaction.
 */
export interface SettlementTransaction {
  /**
   * The transaction's id in the source system.
   */
  externalId?: ExternalId;
  /**
   * What kind of transaction.
   */
  type: "charge" | "refund" | "adjustment" | "dispute" | "fee" | "reserve" | "other";
  /**
   * The order it belongs to, if any.
   */
  orderExternalId?: ExternalId;
  /**
   * Gross amount (negative for refunds).
   */
  amount: Money;
  /**
   * Fee on the transaction, a positive amount.
   */
  fee?: Money;
  /**
   * amount − fee.
   */
  net?: Money;
}
