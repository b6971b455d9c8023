/* eslint-disable */
/**
 * Generated from schemas/canonical/product.schema.json (https://rsync.dev/schemas/v1/canonical/product.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Currency, Money, Timestamp} from "../defs.js";
import type {ExternalId, Sku, Tags} from "./defs.js";

/**
 * Canonical product: a sellable item and its variants.
 */
export interface Product {
  /**
   * The product's id in the source system.
   */
  id: ExternalId;
  /**
   * The product's SKU, when it has no variants or one SKU for all.
   */
  sku?: Sku;
  /**
   * The product's name.
   */
  title: string;
  /**
   * Long description (plain text or HTML).
   */
  description?: string;
  /**
   * Brand or manufacturer.
   */
  vendor?: string;
  /**
   * Product type or category, as the source names it.
   */
  productType?: string;
  /**
   * Whether the product is sold (active), being prepared (draft) or retired (archived).
   */
  status?: "active" | "draft" | "archived";
  /**
   * Currency of the variants' prices (ISO 4217).
   */
  currency?: Currency;
  /**
   * The product's variants (sizes, colours…), each with its own SKU.
   */
  variants?: ProductVariant[];
  /**
   * Tags.
   */
  tags?: Tags;
  /**
   * When the product was created.
   */
  createdAt?: Timestamp;
  /**
   * When the product was last changed.
   */
  updatedAt?: Timestamp;
}
/**
 * A variant of a product.
 */
export interface ProductVariant {
  /**
   * The variant's id in the source system.
   */
  id?: ExternalId;
  /**
   * The variant's SKU.
   */
  sku: Sku;
  /**
   * The variant's name (e.g. Large / Blue).
   */
  title?: string;
  /**
   * Barcode (GTIN, UPC, EAN, ISBN).
   */
  barcode?: string;
  /**
   * Selling price, in the product's currency.
   */
  price?: Money;
  /**
   * Original price before markdown.
   */
  compareAtPrice?: Money;
  /**
   * Unit cost.
   */
  cost?: Money;
  /**
   * Shipping weight, in weightUnit.
   */
  weight?: number;
  /**
   * Unit of weight.
   */
  weightUnit?: "g" | "kg" | "oz" | "lb";
  /**
   * Option name → value (e.g. { Size: L, Color: Blue }).
   */
  options?: {
    [k: string]: string;
  };
  /**
   * Whether the variant is taxed.
   */
  taxable?: boolean;
  /**
   * Whether the variant is shipped (false for services, gift cards…).
   */
  requiresShipping?: boolean;
}
