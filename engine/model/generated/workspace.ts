/* eslint-disable */
/**
 * Generated from schemas/workspace.schema.json (https://rsync.dev/schemas/v1/workspace.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Duration, Metadata, Percentage, ResourceName, SecretRef, TimeZone} from "./defs.js";

/**
 * rsync.yaml at the root of a partner's repository: the partner, its branding, its environments and the defaults of its customers' flows.
 */
export interface Workspace {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Workspace.
   */
  kind: "Workspace";
  metadata: Metadata;
  spec: WorkspaceSpec;
}
/**
 * The partner, its branding, its environments, defaults and where secret files live.
 */
export interface WorkspaceSpec {
  partner: Partner;
  branding?: Branding;
  environments: Environments;
  secrets?: SecretsSettings;
  audit?: AuditSettings;
  defaults?: WorkspaceDefaults;
  validation?: ValidationSettings;
  promotion?: PromotionSettings;
}
/**
 * The integration partner that owns this workspace.
 */
export interface Partner {
  /**
   * The partner's display name (e.g. Acme Retail Integrations).
   */
  name: string;
  /**
   * The partner's website (http:// or https:// URL).
   */
  website?: string;
  /**
   * Where customers get support: an e-mail address or a URL.
   */
  support?: string;
}
/**
 * How rsync presents itself to the partner's customers (reports, status pages, notifications).
 */
export interface Branding {
  /**
   * The product name shown instead of rsync (e.g. Acme Connect).
   */
  productName?: string;
  /**
   * URL of the logo (SVG or PNG).
   */
  logoUrl?: string;
  /**
   * The brand colour as #RRGGBB (quote it in YAML: "#0B5FFF").
   */
  primaryColor?: string;
  /**
   * A footer line (e.g. Managed by Acme).
   */
  footer?: string;
  /**
   * Where the customer's users get help (http(s):// or mailto: URL).
   */
  supportUrl?: string;
}
/**
 * The environments (stages) of this workspace by name, each bound to a Git ref (e.g. staging: { ref: main }).
 */
export interface Environments {
  [k: string]: Environment;
}
/**
 * An environment: the Git ref it deploys from, and whether apply needs approval.
 */
export interface Environment {
  /**
   * The Git ref (branch, tag or commit) whose content this environment deploys.
   */
  ref: string;
  /**
   * What this environment is for.
   */
  description?: string;
  /**
   * True when a plan for this environment must be approved before apply.
   */
  requiresApproval?: boolean;
  /**
   * Environment-wide overrides (free-form; interpreted by the engine, e.g. endpoints and schedules).
   */
  overrides?: {
    [k: string]: unknown;
  };
}
/**
 * Where secret files live on the machines that run rsync (workers): `{ secretRef: "file:NAME" }` reads NAME inside this folder, and nothing outside it. Never a folder of this repository: secrets stay out of Git.
 */
export interface SecretsSettings {
  /**
   * An absolute path on the worker's machine (e.g. /run/secrets/acme, where Docker and Kubernetes mount secrets); RSYNC_SECRETS_DIR overrides it on a machine that keeps them elsewhere.
   */
  folder: string;
}
/**
 * Where the apply log's chain is anchored outside PostgreSQL, and the key that makes it an HMAC chain. `rsync audit verify` checks the database against every anchor: a chain rewritten consistently in the database no longer matches them.
 */
export interface AuditSettings {
  /**
   * An append-only file (absolute path on the machine that applies) to which each apply, replay and discard appends the chain's head as a JSON line; RSYNC_AUDIT_ANCHOR overrides it. Keep it where the database's users cannot write (another host, a WORM bucket's sync folder).
   */
  anchorFile?: string;
  /**
   * Record the head as a Git note (refs/notes/rsync-audit) on each applied commit of the workspace's repository; push the notes ref to keep a copy elsewhere.
   */
  gitNotes?: boolean;
  /**
   * A secret (by reference) that makes each new entry's hash an HMAC-SHA256: without the key, nobody can forge a consistent chain.
   */
  key?: SecretRef;
}
/**
 * Defaults for every customer and flow that does not set its own.
 */
export interface WorkspaceDefaults {
  /**
   * Default time zone of schedules (IANA name, e.g. America/Chicago).
   */
  timezone?: TimeZone;
  /**
   * Name of the default Policy.
   */
  policy?: ResourceName;
  /**
   * Name of the default SLA.
   */
  sla?: ResourceName;
}
/**
 * How strict `rsync validate` is beyond the rules every workspace follows.
 */
export interface ValidationSettings {
  /**
   * Make a flow whose mapping no MappingTest covers an error (mapping-untested) instead of a warning, so that every flow's mapping is tested before it is planned.
   */
  requireMappingTests?: boolean;
}
/**
 * What `rsync promote` asks of the source environment before it promotes a change: that it ran the change for a soak time without too many dead letters. `--skip-soak --reason …` overrides it, audited.
 */
export interface PromotionSettings {
  /**
   * How long the source environment must have run the change (since it was applied there), e.g. 1h.
   */
  soak?: Duration;
  /**
   * The largest share of records dead-lettered in the source environment since the change was applied, e.g. "0.5%".
   */
  maxDeadLetterRate?: Percentage;
}
