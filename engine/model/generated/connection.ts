/* eslint-disable */
/**
 * Generated from schemas/connection.schema.json (https://rsync.dev/schemas/v1/connection.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, EnvironmentOverlays, Metadata} from "./defs.js";

/**
 * A customer's instance of a connector: its type and settings, with secrets by reference only.
 */
export interface Connection {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Connection.
   */
  kind: "Connection";
  metadata: Metadata;
  spec: ConnectionSpec;
  environments?: EnvironmentOverlays;
}
/**
 * The connector type and its settings.
 */
export interface ConnectionSpec {
  /**
   * A connector type from the catalogue (engine/connectors), e.g. shopify, netsuite, http, postgres, sandbox.
   */
  connector: string;
  /**
   * The connector's settings, validated against that connector's settings schema. Secrets by reference only: { secretRef: "env:NAME" }, { secretRef: "file:NAME" } (NAME inside the secrets folder rsync.yaml declares), or vault:, aws:, gcp: (a secret manager rsync.yaml configures).
   */
  settings?: {
    [k: string]: unknown;
  };
  /**
   * What this connection is (e.g. the production Shopify store).
   */
  description?: string;
  /**
   * Whose secrets it may reference, where rsync.yaml declares spec.secrets.scopes: its customer's (the default), or the partner's own (a system the partner runs for every customer), never another customer's.
   */
  secretScope?: "customer" | "partner";
  limits?: ConnectionLimits;
}
/**
 * Quotas of this connection, counted across every worker.
 */
export interface ConnectionLimits {
  /**
   * Most API requests rsync sends to this connection per day (00:00 to 00:00 UTC), counted where the connector sends them (the kit's HTTP client). When reached, runs reading or writing it stop between pages and resume at 00:00 UTC, or when an apply raises it.
   */
  apiCallsPerDay?: number;
}
