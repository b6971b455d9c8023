/**
 * The canonical model's entities: rsync's own retail records, between every source and every target (one mapping
 * per system, not per pair). Their schemas are schemas/canonical/<entity>.schema.json, and the `canonicalEntity`
 * enum of schemas/defs.schema.json lists the same names (test/schemas.test.ts checks that the three agree).
 */

export const CANONICAL_ENTITIES = [
  'product',
  'price',
  'inventoryLevel',
  'order',
  'refund',
  'customer',
  'fulfillment',
  'settlement',
  'journalEntry',
] as const;
export type CanonicalEntity = (typeof CANONICAL_ENTITIES)[number];
