/* eslint-disable */
/**
 * Generated from schemas/customer.schema.json (https://rsync.dev/schemas/v1/customer.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Currency, CustomerLimits, EnvironmentOverlays, Metadata, ResourceName, TimeZone} from "./defs.js";

/**
 * integrations/<customer>/customer.yaml: one retailer (a tenant), its defaults, and the templates it uses. metadata.name is the customer's folder name.
 */
export interface Customer {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Customer.
   */
  kind: "Customer";
  metadata: Metadata;
  spec: CustomerSpec;
  environments?: EnvironmentOverlays;
}
/**
 * The retailer, its defaults and the templates it uses.
 */
export interface CustomerSpec {
  /**
   * The retailer's display name (e.g. Northwind Traders).
   */
  displayName: string;
  /**
   * Default time zone of this customer's schedules (IANA name, e.g. America/Chicago).
   */
  timezone?: TimeZone;
  /**
   * Number of stores (informative).
   */
  stores?: number;
  /**
   * ISO 3166-1 alpha-2 country code (e.g. US).
   */
  country?: string;
  /**
   * The retailer's main currency (ISO 4217, e.g. USD).
   */
  currency?: Currency;
  /**
   * The retailer's commercial tier with the partner (informative, e.g. enterprise).
   */
  tier?: string;
  /**
   * Name of the default Policy of this customer's flows.
   */
  policy?: ResourceName;
  /**
   * Name of the default SLA of this customer's flows.
   */
  sla?: ResourceName;
  /**
   * This customer's concurrency and daily record quota (each one unset here from rsync.yaml's spec.defaults.limits, else no limit).
   */
  limits?: CustomerLimits;
  /**
   * People to contact about this customer's integrations.
   */
  contacts?: Contact[];
  /**
   * Template instances: each adds the template's flows (and their mappings) to this customer.
   */
  uses?: CustomerTemplateUse[];
}
/**
 * A contact person.
 */
export interface Contact {
  /**
   * The person's name.
   */
  name: string;
  /**
   * The person's e-mail address.
   */
  email?: string;
  /**
   * Their role (e.g. IT lead, finance).
   */
  role?: string;
}
/**
 * One use of a template, by name@version, with its parameters.
 */
export interface CustomerTemplateUse {
  /**
   * The template and its major version, name@version (e.g. shopify-orders-to-erp@1).
   */
  template: string;
  /**
   * The template's parameters, validated against the template's spec.parameters.
   */
  with?: {
    [k: string]: unknown;
  };
  /**
   * A prefix for the produced flow names (e.g. eu-), so one template can be used twice.
   */
  prefix?: string;
  /**
   * Per-flow patches: template flow name (without prefix) → a partial flow spec, deep-merged into the template's flow spec.
   */
  patch?: {
    /**
     * A partial flow spec (e.g. { sla: platinum }); the resulting Flow is validated as a whole.
     */
    [k: string]: {
      [k: string]: unknown;
    };
  };
  /**
   * per-environment values for this template use: environments.<env>.with is merged into with when that environment is chosen
   */
  environments?: {
    /**
     * the overlay of one environment
     */
    [k: string]: {
      /**
       * parameters that differ in this environment
       */
      with?: {
        [k: string]: unknown;
      };
    };
  };
}
