/* eslint-disable */
/**
 * Generated from schemas/template.schema.json (https://rsync.dev/schemas/v1/template.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Metadata} from "./defs.js";

/**
 * templates/<name>/<version>/template.yaml: a versioned, parameterised bundle of flows (and the mappings beside it), used by customers with uses: [{ template: name@version, with: {…} }].
 */
export interface Template {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Template.
   */
  kind: "Template";
  metadata: Metadata;
  spec: TemplateSpec;
}
/**
 * The version, the parameters and the flows of the template.
 */
export interface TemplateSpec {
  /**
   * The template's major version; it matches the folder name and the @version customers use.
   */
  version: number;
  /**
   * What the template does, for the customers' consultants.
   */
  description?: string;
  /**
   * A JSON Schema (draft 2020-12) for the customers' with: parameters; its defaults apply.
   */
  parameters?: {
    [k: string]: unknown;
  };
  /**
   * Flow documents without apiVersion and kind. ${{ with.name }} is substituted: as a whole scalar by the parameter's value with its type, inside a longer string by interpolation. The resulting Flow is validated against flow.schema.json.
   *
   * @minItems 1
   */
  flows: TemplateFlow[];
}
/**
 * A flow of the template: its metadata and a spec that may hold ${{ with.name }} placeholders.
 */
export interface TemplateFlow {
  metadata: Metadata;
  spec: TemplateFlowSpec;
}
/**
 * A flow spec (see flow.schema.json) whose values may be ${{ with.name }} placeholders; checked after substitution.
 */
export interface TemplateFlowSpec {
  /**
   * What this flow does, for people.
   */
  description?: unknown;
  /**
   * { connection, stream }: where records come from.
   */
  source: unknown;
  /**
   * { event } | { schedule: { cron, timezone? } } | { manual: true }: what starts a run.
   */
  trigger: unknown;
  /**
   * Path of the JSONata mapping, relative to template.yaml.
   */
  mapping: unknown;
  /**
   * The canonical entity the mapping produces.
   */
  canonical: unknown;
  /**
   * { connection, entity }: where records go.
   */
  target: unknown;
  /**
   * The idempotency key, a JSONata expression over the source record.
   */
  key: unknown;
  /**
   * Name of a Policy.
   */
  policy?: unknown;
  /**
   * Name of an SLA.
   */
  sla?: unknown;
  /**
   * Records written to the target per batch (1 to 1000).
   */
  batchSize?: unknown;
  /**
   * Runs of this flow that may execute at once (1 to 64).
   */
  concurrency?: unknown;
  /**
   * False pauses the flow.
   */
  enabled?: unknown;
}
