/**
 * Shopify's webhook topics, as Shopify documents them: the retail part of the list (orders, refunds, products,
 * inventory, customers, fulfilments and the shop), not every topic. The catalogue's `events` (spec.ts) may only
 * name topics in this list (registry.test.ts).
 *
 * Sources:
 * - https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics (the topic names, with sample payloads)
 * - https://shopify.dev/docs/api/admin-graphql/latest/enums/WebhookSubscriptionTopic (the same topics as enum
 *   values: ORDERS_CANCELLED is orders/cancelled, ORDERS_DELETE is orders/delete — there is no orders/deleted)
 * - https://community.shopify.com/c/shopify-apis-and-sdks/difference-between-the-orders-updated-and-orders-edited-webhooks/td-p/1060608
 *   (orders/edited is sent when the goods of an order change, and carries the edit, not the order)
 */
export const documentedTopics: readonly string[] = [
  'app/uninstalled',
  'carts/create',
  'carts/update',
  'checkouts/create',
  'checkouts/delete',
  'checkouts/update',
  'collections/create',
  'collections/delete',
  'collections/update',
  'customers/create',
  'customers/delete',
  'customers/disable',
  'customers/enable',
  'customers/update',
  'draft_orders/create',
  'draft_orders/delete',
  'draft_orders/update',
  'fulfillments/create',
  'fulfillments/update',
  'inventory_items/create',
  'inventory_items/delete',
  'inventory_items/update',
  'inventory_levels/connect',
  'inventory_levels/disconnect',
  'inventory_levels/update',
  'locations/create',
  'locations/delete',
  'locations/update',
  'orders/cancelled',
  'orders/create',
  'orders/delete',
  'orders/edited',
  'orders/fulfilled',
  'orders/paid',
  'orders/partially_fulfilled',
  'orders/updated',
  'products/create',
  'products/delete',
  'products/update',
  'refunds/create',
  'shop/update',
];
