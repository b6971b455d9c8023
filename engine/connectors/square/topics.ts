/**
 * Square's webhook event types, as Square documents them: the retail part of the list (orders, payments, refunds,
 * inventory, catalog, customers, payouts), not every event. The catalogue's `events` (spec.ts) may only name
 * topics in this list (registry.test.ts).
 *
 * Sources (each event's reference page, https://developer.squareup.com/reference/square/webhooks/<event>, gives
 * its payload):
 * - https://developer.squareup.com/docs/webhooks-api/v1-tech-ref (Webhook Events Reference)
 * - https://developer.squareup.com/reference/square/webhooks/order.created and …/order.updated: `data.object` is
 *   `order_created` / `order_updated` — order_id, version, location_id, state, timestamps — not the order; only
 *   orders created through the Orders API send them
 *   (https://developer.squareup.com/forums/t/which-event-to-get-order-details-with-orders-api-and-webhooks/9325:
 *   "you'll need to call RetrieveOrder with the order_id")
 * - https://developer.squareup.com/docs/refunds-api/webhooks (refund.created, refund.updated: `data.object.refund`)
 * - https://developer.squareup.com/docs/inventory-api/webhooks (inventory.count.updated:
 *   `data.object.inventory_counts`, the InventoryCount records)
 * - https://developer.squareup.com/reference/square/webhooks/catalog.version.updated and
 *   https://developer.squareup.com/blog/new-webhook-event-for-syncing-with-square-catalog (only
 *   `catalog_version.updated_at`: search the catalog for what changed since)
 * - https://developer.squareup.com/docs/customers-api/use-the-api/customer-webhooks and
 *   …/webhooks/customer.created, …/customer.updated, …/customer.deleted (`data.object.customer`)
 * - https://developer.squareup.com/reference/square/payouts-api/webhooks/payout.failed
 */
export const documentedTopics: readonly string[] = [
  'catalog.version.updated',
  'customer.created',
  'customer.deleted',
  'customer.updated',
  'inventory.count.updated',
  'order.created',
  'order.fulfillment.updated',
  'order.updated',
  'payment.created',
  'payment.updated',
  'payout.failed',
  'refund.created',
  'refund.updated',
];
