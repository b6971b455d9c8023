/* eslint-disable */
/**
 * Generated from schemas/canonical/order.schema.json (https://rsync.dev/schemas/v1/canonical/order.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Currency, Money, Timestamp} from "../defs.js";
import type {Address, Decimal, Email, ExternalId, Quantity, Sku, Tags} from "./defs.js";

/**
 * Canonical order: a sale on a channel, with its lines, taxes, discounts, shipping and totals. Amounts are decimal strings in the order's currency.
 */
export interface Order {
  /**
   * The order's id in the source system.
   */
  externalId: ExternalId;
  /**
   * The order number people see (e.g. #1001).
   */
  number?: string;
  /**
   * Where the order was placed (e.g. web, pos, amazon).
   */
  channel?: string;
  /**
   * When the order was placed.
   */
  createdAt: Timestamp;
  /**
   * Currency of every amount of the order (ISO 4217).
   */
  currency: Currency;
  customer?: OrderCustomer;
  /**
   * Billing address.
   */
  billingAddress?: Address;
  /**
   * Shipping address.
   */
  shippingAddress?: Address;
  /**
   * The order lines.
   *
   * @minItems 1
   */
  lines: OrderLine[];
  /**
   * The order's taxes, by tax line.
   */
  taxes?: OrderTax[];
  /**
   * Discounts applied to the order.
   */
  discounts?: OrderDiscount[];
  /**
   * Shipping charges.
   */
  shipping?: OrderShipping[];
  /**
   * Sum of the line totals.
   */
  subtotal?: Money;
  /**
   * Sum of the discounts, a positive amount.
   */
  discountTotal?: Money;
  /**
   * Sum of the taxes.
   */
  taxTotal?: Money;
  /**
   * Sum of the shipping charges.
   */
  shippingTotal?: Money;
  /**
   * What the buyer pays: subtotal − discounts + shipping + taxes.
   */
  total: Money;
  /**
   * Payment status.
   */
  financialStatus?: "pending" | "authorized" | "partially_paid" | "paid" | "partially_refunded" | "refunded" | "voided";
  /**
   * Fulfilment status.
   */
  fulfillmentStatus?: "unfulfilled" | "partial" | "fulfilled";
  /**
   * Tags.
   */
  tags?: Tags;
  /**
   * The buyer's or staff's note.
   */
  note?: string;
}
/**
 * The buyer, as known on the order.
 */
export interface OrderCustomer {
  /**
   * The customer's id in the source system.
   */
  externalId?: ExternalId;
  /**
   * E-mail address.
   */
  email?: Email;
  /**
   * Phone number.
   */
  phone?: string;
  /**
   * First (given) name.
   */
  firstName?: string;
  /**
   * Last (family) name.
   */
  lastName?: string;
}
/**
 * One line of an order.
 */
export interface OrderLine {
  /**
   * The line's id in the source system.
   */
  externalId?: ExternalId;
  /**
   * The SKU sold (absent for custom items).
   */
  sku?: Sku;
  /**
   * The line's description.
   */
  title?: string;
  /**
   * Units ordered.
   */
  quantity: Quantity;
  /**
   * Price of one unit, before discounts and taxes.
   */
  unitPrice: Money;
  /**
   * Discount on the line (all units), a positive amount.
   */
  discount?: Money;
  /**
   * Tax on the line (all units).
   */
  tax?: Money;
  /**
   * Line total: quantity × unitPrice − discount (tax excluded).
   */
  total?: Money;
}
/**
 * A tax line.
 */
export interface OrderTax {
  /**
   * The tax's name (e.g. IL State Tax).
   */
  title?: string;
  /**
   * The rate as a decimal fraction string (e.g. "0.0625" for 6.25%).
   */
  rate?: Decimal;
  /**
   * The tax amount.
   */
  amount: Money;
}
/**
 * A discount.
 */
export interface OrderDiscount {
  /**
   * The discount code, when one was entered.
   */
  code?: string;
  /**
   * The discounted amount, a positive amount.
   */
  amount: Money;
  /**
   * A fixed amount, a percentage, or free/discounted shipping.
   */
  type?: "fixed" | "percentage" | "shipping";
}
/**
 * A shipping charge.
 */
export interface OrderShipping {
  /**
   * The shipping method (e.g. Standard).
   */
  title?: string;
  /**
   * The charge, before tax.
   */
  amount: Money;
  /**
   * Tax on the charge.
   */
  tax?: Money;
}
