/* eslint-disable */
/**
 * Generated from schemas/mapping-test.schema.json (https://rsync.dev/schemas/v1/mapping-test.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, CanonicalEntityName, Metadata} from "./defs.js";

/**
 * The test cases beside a mapping: input fixture → expected output (or: a valid canonical entity).
 */
export interface MappingTest {
  apiVersion: ApiVersion;
  /**
   * The kind of document: MappingTest.
   */
  kind: "MappingTest";
  metadata: Metadata;
  spec: MappingTestSpec;
}
/**
 * The mapping under test and its cases.
 */
export interface MappingTestSpec {
  /**
   * Path of the JSONata mapping under test, relative to this file; ends with .jsonata.
   */
  mapping: string;
  /**
   * When set, every output of the mapping must be a valid canonical entity of this kind.
   */
  canonical?: CanonicalEntityName;
  /**
   * The JSONata variable $params for template mappings (the template's with: parameters).
   */
  params?: {
    [k: string]: unknown;
  };
  /**
   * The test cases.
   *
   * @minItems 1
   */
  cases: MappingTestCase[];
}

/**
 * One case: an input and exactly one of output (the exact expected output; null when the mapping filters the record), outputFile, or expect.
 */
export type MappingTestCase =
  | {
      /**
       * The case's name, shown in test reports.
       */
      name: string;
      /**
       * What the case checks.
       */
      description?: string;
      params?: MappingTestCaseParams;
      input: MappingTestInput;
      /**
       * The exact expected output (any JSON value); null means the mapping filters this record (returns nothing).
       */
      output: unknown;
      /**
       * The canonical invariants (schemas/canonical/invariants.json) the output breaks, by rule id (e.g. order.total): the case passes only when it breaks exactly these, because the pipeline dead-letters such a record and never writes it. Without it, an output must break none.
       *
       * @minItems 1
       */
      breaks?: string[];
    }
  | {
      /**
       * The case's name, shown in test reports.
       */
      name: string;
      /**
       * What the case checks.
       */
      description?: string;
      params?: MappingTestCaseParams;
      input: MappingTestInput;
      /**
       * A JSON file holding the exact expected output, relative to this file.
       */
      outputFile: string;
      /**
       * The canonical invariants (schemas/canonical/invariants.json) the output breaks, by rule id (e.g. order.total): the case passes only when it breaks exactly these, because the pipeline dead-letters such a record and never writes it. Without it, an output must break none.
       *
       * @minItems 1
       */
      breaks?: string[];
    }
  | {
      /**
       * The case's name, shown in test reports.
       */
      name: string;
      /**
       * What the case checks.
       */
      description?: string;
      params?: MappingTestCaseParams;
      input: MappingTestInput;
      expect: MappingTestExpectation;
      /**
       * The canonical invariants (schemas/canonical/invariants.json) the output breaks, by rule id (e.g. order.total): the case passes only when it breaks exactly these, because the pipeline dead-letters such a record and never writes it. Without it, an output must break none.
       *
       * @minItems 1
       */
      breaks?: string[];
    };

/**
 * A property the output must have, instead of an exact output.
 */
export interface MappingTestExpectation {
  /**
   * The output must be a valid canonical entity of this kind.
   */
  valid: CanonicalEntityName;
}

/**
 * $params for this case, merged over spec.params.
 */
export interface MappingTestCaseParams {
  [k: string]: unknown;
}

/**
 * The source record given to the mapping, exactly one of: { value } (inline) or { file, path? } (a JSON fixture).
 */
export type MappingTestInput =
  | {
      /**
       * The source record, inline (any JSON value).
       */
      value: unknown;
    }
  | {
      /**
       * A JSON fixture file holding the source record, relative to this file.
       */
      file: string;
      /**
       * Only with file: a dot-separated path to the record inside the fixture (e.g. response).
       */
      path?: string;
    };
