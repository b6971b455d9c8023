/* eslint-disable */
/**
 * Generated from schemas/canonical/customer.schema.json (https://rsync.dev/schemas/v1/canonical/customer.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Timestamp} from "../defs.js";
import type {Address, Email, ExternalId} from "./defs.js";

/**
 * Canonical customer: a buyer of the retailer.
 */
export interface Customer {
  /**
   * The customer's id in the source system.
   */
  externalId: ExternalId;
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
  /**
   * Known addresses, the default first.
   */
  addresses?: Address[];
  /**
   * Whether the customer agreed to receive marketing.
   */
  acceptsMarketing?: boolean;
  /**
   * When the customer was created.
   */
  createdAt?: Timestamp;
}
