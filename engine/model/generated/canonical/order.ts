/* eslint-disable */
/**
 * Generated from schemas/canonical/order.schema.json (https://rsync.dev/schemas/v1/canonical/order.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Currency, Money, Timestamp} from "../defs.js";
import type {Address, Decimal, Email, ExternalId, SaleQuantity, Sku, Tags} from "./defs.js";

/**
 * Canonical order: a sale on a channel, with its lines, taxes, discounts, shipping, other charges and totals. Amounts are decimal strings in the order's currency (the shop's); where the buyer paid in another, `presentment` has the amounts in that one. Every discount is allocated to the lines or the shipping it reduced, and the totals add up (schemas/canonical/invariants.json).
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
   * When the order was last changed (an edit, a cancellation, a payment).
   */
  updatedAt?: Timestamp;
  /**
   * The order's life: open, cancelled (see cancelledAt, cancelReason), or closed (archived). Absent: open.
   */
  status?: "open" | "cancelled" | "closed";
  /**
   * When the order was cancelled.
   */
  cancelledAt?: Timestamp;
  /**
   * Why the order was cancelled.
   */
  cancelReason?: "customer" | "fraud" | "inventory" | "declined" | "staff" | "other";
  /**
   * Currency of every amount of the order (ISO 4217).
   */
  currency: Currency;
  /**
   * Prices (unit prices, shipping, charges) include tax: the total is then lines + shipping + charges, with taxTotal the tax inside them. Absent: false.
   */
  taxesIncluded?: boolean;
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
   * Other charges: tips, service charges, fees (not goods, not shipping).
   */
  charges?: OrderCharge[];
  /**
   * Sum of the line totals (net of their discounts).
   */
  subtotal?: Money;
  /**
   * Sum of the discounts allocated to the lines and the shipping, a positive amount (already taken off them).
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
   * Sum of the other charges.
   */
  chargesTotal?: Money;
  /**
   * What the buyer pays: subtotal + shippingTotal + chargesTotal + taxTotal (taxTotal left out when taxesIncluded).
   */
  total: Money;
  presentment?: OrderPresentment;
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
   * Units ordered now (after edits; 0 for a line removed by an edit).
   */
  quantity: SaleQuantity;
  /**
   * Price of one unit, modifiers included, before discounts; tax included when the order's taxesIncluded is true.
   */
  unitPrice: Money;
  /**
   * The discounts allocated to the line (all units), a positive amount: line-level and its share of order-level ones.
   */
  discount?: Money;
  /**
   * Tax on the line (all units).
   */
  tax?: Money;
  /**
   * Line total: quantity × unitPrice (rounded to the currency's minor units) − discount.
   */
  total?: Money;
  /**
   * The line sells a gift card: a liability when sold, revenue only when redeemed.
   */
  giftCard?: boolean;
  /**
   * An order edit removed the line (its quantity is then 0).
   */
  removed?: boolean;
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
   * The charge, before tax, net of its discount.
   */
  amount: Money;
  /**
   * Tax on the charge.
   */
  tax?: Money;
  /**
   * The discount allocated to the shipping charge (free-shipping codes), a positive amount.
   */
  discount?: Money;
}
/**
 * A charge that is not a line or shipping.
 */
export interface OrderCharge {
  /**
   * A tip (no tax, not revenue of the goods), a service charge, a fee, or other.
   */
  type: "tip" | "service" | "fee" | "other";
  /**
   * The charge's name, as shown (e.g. Delivery fee).
   */
  title?: string;
  /**
   * The charge, before tax (tax included when taxesIncluded).
   */
  amount: Money;
  /**
   * Tax on the charge.
   */
  tax?: Money;
}
/**
 * The order's amounts in the currency the buyer saw and paid in, when it is not the shop's currency.
 */
export interface OrderPresentment {
  /**
   * The buyer's currency (ISO 4217).
   */
  currency: Currency;
  /**
   * subtotal in the buyer's currency.
   */
  subtotal?: Money;
  /**
   * discountTotal in the buyer's currency.
   */
  discountTotal?: Money;
  /**
   * taxTotal in the buyer's currency.
   */
  taxTotal?: Money;
  /**
   * shippingTotal in the buyer's currency.
   */
  shippingTotal?: Money;
  /**
   * chargesTotal in the buyer's currency.
   */
  chargesTotal?: Money;
  /**
   * total in the buyer's currency.
   */
  total: Money;
}
