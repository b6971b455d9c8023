/**
 * WooCommerce's webhook topics, as WooCommerce documents them: the core topics, a resource (coupon, customer,
 * order, product) and an event (created, updated, deleted). There is no refund topic: a refund saves its order,
 * which sends order.updated with the order (its `refunds` only summarise each refund), so refunds themselves are
 * read from the refunds stream. Custom `action.<hook>` topics pass a hook's first argument, not a record, and are
 * not listed. The catalogue's `events` (spec.ts) may only name topics in this list (registry.test.ts).
 *
 * Sources:
 * - https://developer.woocommerce.com/docs/apis/rest-api/v3/webhooks/ ("Topics": the core topics; "Delivery/payload":
 *   for coupons, customers, orders and products the payload is the resource exactly as the REST API returns it)
 * - WooCommerce's WC_Webhook::build_payload (includes/class-wc-webhook.php): a deleted resource's payload is only
 *   its id, `{ "id": … }`
 */
export const documentedTopics: readonly string[] = [
  'coupon.created',
  'coupon.updated',
  'coupon.deleted',
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'order.created',
  'order.updated',
  'order.deleted',
  'product.created',
  'product.updated',
  'product.deleted',
];
