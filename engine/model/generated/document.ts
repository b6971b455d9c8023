/* eslint-disable */
/**
 * Generated from schemas/document.schema.json (https://rsync.dev/schemas/v1/document.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Alert} from "./alert.js";
import type {Connection} from "./connection.js";
import type {Customer} from "./customer.js";
import type {Flow} from "./flow.js";
import type {MappingTest} from "./mapping-test.js";
import type {Policy} from "./policy.js";
import type {Reconciliation} from "./reconciliation.js";
import type {Rollout} from "./rollout.js";
import type {SLA} from "./sla.js";
import type {Template} from "./template.js";
import type {Workspace} from "./workspace.js";

/**
 * Any rsync document: dispatches on kind to the kind's schema. Point your editor here (# yaml-language-server: $schema=<relative path>/schemas/document.schema.json).
 */
export type RsyncDocument =
  Workspace | Customer | Connection | Flow | Policy | SLA | Alert | Reconciliation | Rollout | Template | MappingTest;
