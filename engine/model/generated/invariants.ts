/* eslint-disable */
/**
 * Generated from schemas/invariants.schema.json (https://rsync.dev/schemas/v1/invariants.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

/**
 * The arithmetic a canonical record must satisfy (schemas/canonical/invariants.json): sums that must hold, exactly, in the record's currency. A record that breaks one is dead-lettered with the rule, the field paths and the amounts; `rsync test` fails on it.
 */
export interface CanonicalInvariants {
  /**
   * The schema of this file, for editors.
   */
  $schema?: string;
  /**
   * What the file is, for people.
   */
  description?: string;
  /**
   * How a product (quantity × unit price) is brought to the currency's minor units: the one rule.
   */
  rounding: "half-even" | "half-up";
  /**
   * Canonical entity → its invariants.
   */
  entities: {
    [k: string]: EntityInvariants;
  };
}

/**
 * A field: `total`; `lines[].total` sums a field over an array's items (an absent array sums to 0). A leading `-` subtracts it. A trailing `?` counts an absent field as 0; without it, a rule whose field is absent does not apply to the record.
 */
export type InvariantPath = string;

/**
 * A field (see path), or the product of two fields.
 */
export type InvariantTerm =
  | InvariantPath
  | {
      /**
       * The product of two fields, rounded to the currency's minor units.
       *
       * @minItems 2
       * @maxItems 2
       */
      times: InvariantPath[];
      /**
       * Subtract the product.
       */
      negate?: boolean;
    };

/**
 * One sum that must hold: the terms add up to `equals`.
 */
export interface InvariantRule {
  /**
   * The rule's id, <entity>.<name> (e.g. order.total): what a dead letter and a test's `breaks:` name.
   */
  id: string;
  /**
   * What must hold, as a finance team would say it.
   */
  title: string;
  /**
   * Check the rule on each item of this array (paths are then the item's).
   */
  each?: string;
  /**
   * Apply only when these fields have these values (an absent boolean is false).
   */
  when?: {
    [k: string]: boolean | string;
  };
  /**
   * Apply only when these fields are present (an array: with at least one item).
   */
  requires?: string[];
  /**
   * The field the terms must add up to, or "0" when they must cancel out.
   */
  equals?: InvariantPath | "0";
  /**
   * What is added up (a `-` before a field subtracts it).
   *
   * @minItems 1
   */
  terms: InvariantTerm[];
  /**
   * The field holding the currency the rule's amounts are in, when not the entity's (a presentment currency).
   */
  currency?: string;
}

/**
 * An entity's invariants: its currency field, the amounts that must fit it, and its rules.
 */
export interface EntityInvariants {
  /**
   * The field that holds the currency of every amount of the record (ISO 4217).
   */
  currency: string;
  /**
   * Amounts that must fit their currency's minor units (no digit beyond them but 0), by currency field.
   */
  precision?: {
    /**
     * The field holding these amounts' currency; the entity's when absent.
     */
    currency?: string;
    /**
     * The amounts (field paths) in that currency.
     *
     * @minItems 1
     */
    fields: InvariantPath[];
  }[];
  /**
   * The sums that must hold.
   */
  rules?: InvariantRule[];
}
