/* eslint-disable */
/**
 * Generated from schemas/workspace.schema.json (https://rsync.dev/schemas/v1/workspace.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, CustomerLimits, Duration, LocalSecretRef, Metadata, Percentage, ResourceName, SecretRef, TimeZone} from "./defs.js";

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
  console?: ConsoleSettings;
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
 * An environment: the Git ref it deploys from, and whether apply needs approval (and how many).
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
   * True when a plan for this environment must be approved before apply. The controller (rsync controller, rsync worker --sync) never applies such an environment: it reports a new commit as out of sync.
   */
  requiresApproval?: boolean;
  /**
   * True: the controller plans each new commit of the environment's branch and applies it (inside a sync window, when any are declared). False: it reports the commit as out of sync.
   */
  autoSync?: boolean;
  /**
   * True: the controller heals drift it finds on its interval (a pg-boss queue or schedule changed or deleted outside rsync) by applying the commit already deployed, under the same rules as autoSync.
   */
  selfHeal?: boolean;
  /**
   * When the controller may apply: only inside one of these windows (none declared: at any time). Each opens on its cron schedule and stays open for its duration.
   */
  syncWindows?: SyncWindow[];
  approvals?: EnvironmentApprovals;
  /**
   * Environment-wide overrides (free-form; interpreted by the engine, e.g. endpoints and schedules).
   */
  overrides?: {
    [k: string]: unknown;
  };
}
/**
 * A window in which automatic applies are allowed, e.g. { schedule: "0 22 * * *", duration: 8h, timezone: America/Chicago } (22:00 to 06:00).
 */
export interface SyncWindow {
  /**
   * When the window opens: a cron expression with 5 fields (minute hour day-of-month month day-of-week); checked by rsync validate (cron-invalid).
   */
  schedule: string;
  /**
   * How long the window stays open once it opened (e.g. 8h).
   */
  duration: Duration;
  /**
   * IANA time zone of the schedule; defaults to the workspace's default time zone.
   */
  timezone?: TimeZone;
}
/**
 * With requiresApproval: how many distinct approvers (an admin or operator) must approve a saved plan, by its hash, before `rsync apply` applies it, and whether its author may be one of them. A Policy's `approvals` for this environment may ask more: the strictest one in force for the customers a plan changes counts.
 */
export interface EnvironmentApprovals {
  /**
   * Approvals needed (distinct people; the same one twice counts once).
   */
  required?: number;
  /**
   * True when the plan's author (who made it: `createdBy`) may not approve it.
   */
  separateAuthor?: boolean;
}
/**
 * Where secrets come from and whose they are: the folder of `file:` secrets on the machines that run rsync, the secret managers behind `vault:`, `aws:` and `gcp:` references, how long a fetched value is kept, and the naming rule that keeps each customer to its own secrets. Never a folder of this repository: secrets stay out of Git.
 */
export interface SecretsSettings {
  /**
   * An absolute path on the worker's machine (e.g. /run/secrets/acme, where Docker and Kubernetes mount secrets); RSYNC_SECRETS_DIR overrides it on a machine that keeps them elsewhere.
   */
  folder?: string;
  /**
   * How long a value fetched from a secret manager is used before it is fetched again (a rotated secret reaches a running worker within this time); default 5m. env: and file: secrets are read at each use.
   */
  cacheTtl?: Duration;
  scopes?: SecretScopes;
  vault?: VaultSettings;
  aws?: AwsSecretsSettings;
  gcp?: GcpSecretsSettings;
}
/**
 * The naming rule per backend that keeps each customer to its own secrets: a customer's documents may reference only secrets that match its `customer` patterns; a partner-wide one (rsync.yaml, or a connection with `secretScope: partner`) only the `partner` patterns, and never a customer's. A backend without a pattern cannot be used where one is needed.
 */
export interface SecretScopes {
  customer: CustomerSecretScope;
  partner?: PartnerSecretScope;
}
/**
 * The patterns of one customer's secrets, with {CUSTOMER} and {customer} standing for its name.
 */
export interface CustomerSecretScope {
  /**
   * The environment variables a customer may name, as a pattern: * matches any run of characters, {CUSTOMER} standing for the customer's name in upper snake case (big-box: BIG_BOX) and {customer} for its name as written; e.g. {CUSTOMER}_*.
   */
  env?: string;
  /**
   * The files a customer may name inside the secrets folder; a pattern ending in / is that folder and everything under it; e.g. {customer}/.
   */
  file?: string;
  /**
   * The Vault paths (inside the KV mount) a customer may name; e.g. customers/{customer}/.
   */
  vault?: string;
  /**
   * The AWS Secrets Manager secret names a customer may name; e.g. customers/{customer}/.
   */
  aws?: string;
  /**
   * The Google Secret Manager secret ids a customer may name; e.g. {customer}-*.
   */
  gcp?: string;
}
/**
 * The patterns of the partner's own secrets, for rsync.yaml and for connections with `secretScope: partner`.
 */
export interface PartnerSecretScope {
  /**
   * The environment variables the partner may name, as a pattern: * matches any run of characters; e.g. ACME_*.
   */
  env?: string;
  /**
   * The files the partner may name inside the secrets folder; a pattern ending in / is that folder and everything under it; e.g. partner/.
   */
  file?: string;
  /**
   * The Vault paths (inside the KV mount) the partner may name; e.g. partner/.
   */
  vault?: string;
  /**
   * The AWS Secrets Manager secret names the partner may name; e.g. partner/.
   */
  aws?: string;
  /**
   * The Google Secret Manager secret ids the partner may name; e.g. partner-*.
   */
  gcp?: string;
}
/**
 * HashiCorp Vault behind `vault:PATH#FIELD` references: a KV version 2 secrets engine, read with a token or by an AppRole login.
 */
export interface VaultSettings {
  /**
   * Vault's address, e.g. https://vault.acme.internal:8200.
   */
  address: string;
  /**
   * The path the KV v2 engine is mounted at; default secret.
   */
  mount?: string;
  /**
   * A Vault Enterprise namespace, sent as X-Vault-Namespace.
   */
  namespace?: string;
  /**
   * A Vault token, by reference (e.g. env:VAULT_TOKEN); or give appRole.
   */
  token?: LocalSecretRef;
  appRole?: VaultAppRole;
}
/**
 * AppRole login: role_id and secret_id for a client token, logged in again before the token expires.
 */
export interface VaultAppRole {
  /**
   * The role's role_id, by reference.
   */
  roleId: LocalSecretRef;
  /**
   * A secret_id of the role, by reference.
   */
  secretId: LocalSecretRef;
  /**
   * Where the AppRole auth method is mounted; default approle.
   */
  mount?: string;
}
/**
 * AWS Secrets Manager behind `aws:NAME` references, with the SDK's default credential chain.
 */
export interface AwsSecretsSettings {
  /**
   * The region of the secrets, e.g. eu-west-1.
   */
  region: string;
  /**
   * Another endpoint (a VPC endpoint, or a fake in tests).
   */
  endpoint?: string;
}
/**
 * Google Secret Manager behind `gcp:NAME` references.
 */
export interface GcpSecretsSettings {
  /**
   * The Google Cloud project of the secrets.
   */
  project: string;
  /**
   * Another endpoint (a fake in tests).
   */
  endpoint?: string;
  /**
   * A service account key (its JSON), by reference; default: Application Default Credentials.
   */
  credentialsRef?: LocalSecretRef;
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
 * The web console (`rsync console`): how the partner's people sign in.
 */
export interface ConsoleSettings {
  oidc?: OidcSettings;
}
/**
 * OpenID Connect sign-in with the partner's identity provider (authorization code with PKCE, state and nonce; the ID token verified). A person's role comes from a claim (e.g. groups) by `roles.map`; a person with none of the mapped values is refused.
 */
export interface OidcSettings {
  /**
   * The provider's issuer URL (its /.well-known/openid-configuration is read). https://, or http:// on a loopback address (127.0.0.1, localhost) for a local test provider.
   */
  issuer: string;
  /**
   * The console's client id at the provider.
   */
  clientId: string;
  /**
   * The client secret, by reference only (e.g. { secretRef: env:RSYNC_OIDC_CLIENT_SECRET }).
   */
  clientSecret: SecretRef;
  /**
   * The console's callback URL, registered at the provider (the console serves it at /auth/oidc/callback: e.g. https://console.acme.example/auth/oidc/callback).
   */
  redirectUrl: string;
  /**
   * Scopes asked for (openid is always asked); add the one that releases the role claim if the provider needs it (e.g. groups).
   */
  scopes?: string[];
  /**
   * The claim that names the person in the audit log and approvals (then preferred_username, then sub).
   */
  nameClaim?: string;
  roles: OidcRoles;
  customers?: OidcCustomers;
}
/**
 * Which role a person has: the values of `claim` (a string or a list, e.g. the person's groups) mapped to roles; the strongest mapped one wins (admin, operator, viewer).
 */
export interface OidcRoles {
  /**
   * The claim to read (e.g. groups, roles).
   */
  claim: string;
  /**
   * Claim value → role (e.g. rsync-admins: admin, support: operator).
   */
  map: {
    [k: string]: "admin" | "operator" | "viewer";
  };
}
/**
 * Customer viewers: a person with no partner role whose `claim` has a value mapped here is a customer viewer of that one customer (two customers: refused).
 */
export interface OidcCustomers {
  /**
   * The claim to read (e.g. groups, or an organisation claim).
   */
  claim: string;
  /**
   * Claim value → customer name (e.g. northwind-it: northwind).
   */
  map: {
    [k: string]: ResourceName;
  };
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
  /**
   * The limits of every customer whose customer.yaml does not set its own (each setting on its own).
   */
  limits?: CustomerLimits;
}
/**
 * How strict `rsync validate` is beyond the rules every workspace follows.
 */
export interface ValidationSettings {
  /**
   * Make a flow whose mapping no MappingTest covers an error (mapping-untested) instead of a warning, so that every flow's mapping is tested before it is planned.
   */
  requireMappingTests?: boolean;
  /**
   * What a flow whose mapping no MappingTest covers is: a warning (the default), an error (as requireMappingTests: true), or not reported (off: for a workspace whose mappings are tested elsewhere).
   */
  untestedMappings?: "warn" | "error" | "off";
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
