/* eslint-disable */
/**
 * Generated from schemas/canonical/defs.schema.json (https://rsync.dev/schemas/v1/canonical/defs.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

export type {Currency, Money, Timestamp} from "../defs.js";

/**
 * A calendar date, YYYY-MM-DD (e.g. 2026-03-14).
 */
export type CalendarDate = string;

/**
 * A decimal number as a string (e.g. a tax rate "0.0825"), never a JSON number.
 */
export type Decimal = string;

/**
 * A count of units: a non-negative integer.
 */
export type Quantity = number;

/**
 * An identifier in the source system, as a string (e.g. "gid://shopify/Order/5512" or "5512").
 */
export type ExternalId = string;

/**
 * A stock keeping unit: the vendor-neutral key of a sellable item.
 */
export type Sku = string;

/**
 * An e-mail address.
 */
export type Email = string;

/**
 * An ISO 3166-1 alpha-2 country code (e.g. US).
 */
export type CountryCode = string;

/**
 * Free-form tags.
 */
export type Tags = string[];

/**
 * A postal address.
 */
export interface Address {
  /**
   * First (given) name of the addressee.
   */
  firstName?: string;
  /**
   * Last (family) name of the addressee.
   */
  lastName?: string;
  /**
   * Company name.
   */
  company?: string;
  /**
   * First address line (street and number).
   */
  line1?: string;
  /**
   * Second address line (apartment, suite…).
   */
  line2?: string;
  /**
   * City.
   */
  city?: string;
  /**
   * State, province or region, as named.
   */
  region?: string;
  /**
   * State or province code (e.g. IL; ISO 3166-2 subdivision without the country prefix).
   */
  regionCode?: string;
  /**
   * Postal or ZIP code.
   */
  postalCode?: string;
  /**
   * Country, ISO 3166-1 alpha-2 (e.g. US).
   */
  country?: CountryCode;
  /**
   * Phone number at this address.
   */
  phone?: string;
}

/**
 * A quantity sold or refunded: a whole number of units, or a decimal string for goods sold by measure ("0.375" kg).
 */
export type SaleQuantity = number | string;
