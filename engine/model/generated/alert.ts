/* eslint-disable */
/**
 * Generated from schemas/alert.schema.json (https://rsync.dev/schemas/v1/alert.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {ApiVersion, Duration, EnvironmentOverlays, Metadata, ResourceName, SecretRef} from "./defs.js";

/**
 * When to tell someone, and where: conditions on runs, dead letters, SLAs, connections and workers, sent to a webhook, Slack, e-mail or PagerDuty once when a condition starts and once when it ends. Partner-wide in rsync.yaml, or a customer's in its folder.
 */
export interface Alert {
  apiVersion: ApiVersion;
  /**
   * The kind of document: Alert.
   */
  kind: "Alert";
  metadata: Metadata;
  spec: AlertSpec;
  environments?: EnvironmentOverlays;
}
/**
 * The conditions (any of them starts an incident), what they watch and the channels told.
 */
export interface AlertSpec {
  /**
   * Only these customers' flows (a partner-wide alert; default: every customer). A customer's own alert watches only its flows.
   *
   * @minItems 1
   */
  customers?: ResourceName[];
  /**
   * Only the flows of these names (default: every flow the alert watches).
   *
   * @minItems 1
   */
  flows?: ResourceName[];
  /**
   * How bad it is: PagerDuty's severity, and shown in every message.
   */
  severity?: "critical" | "error" | "warning" | "info";
  when: AlertConditions;
  /**
   * Where the messages go, each written as exactly one of slack, webhook, email or pagerduty.
   *
   * @minItems 1
   */
  channels: AlertChannel[];
}
/**
 * The conditions; each one that holds, for a flow (or the environment), is an incident: one message when it starts, one when it ends.
 */
export interface AlertConditions {
  /**
   * A flow's last finished run failed (until a later run succeeds).
   */
  runFailed?: true;
  deadLetters?: DeadLettersCondition;
  /**
   * An objective of a flow's SLA is breached: an open SLA event (freshness, latency p95, success rate).
   */
  slaBreached?: true;
  budgetBurn?: BudgetBurnCondition;
  /**
   * A flow's connection refused its credentials: its last finished run failed on authentication (401, 403, a key refused).
   */
  authFailed?: true;
  runStuck?: RunStuckCondition;
  noWorker?: NoWorkerCondition;
  /**
   * A rollout (rsync rollout) of customers the alert watches halted: a gate failed or a cohort could not be applied (until it is aborted).
   */
  rolloutHalted?: true;
}
/**
 * More than `over` records of a flow dead-lettered within the last `window`.
 */
export interface DeadLettersCondition {
  /**
   * The most dead letters in the window that are still fine.
   */
  over: number;
  /**
   * How far back dead letters count (e.g. 1h).
   */
  window?: Duration;
}
/**
 * A flow's error budget (its SLA's successRate) burns faster than `rate` times the sustainable pace over the last `window`: the share of records dead-lettered, divided by 1 − successRate.
 */
export interface BudgetBurnCondition {
  /**
   * The burn rate that alerts (1 spends the budget exactly by the end of the period; 14.4 spends a 30-day budget in 2 days).
   */
  rate: number;
  /**
   * Over how long the burn is measured (e.g. 1h).
   */
  window?: Duration;
}
/**
 * A run of a flow has been running longer than `after`.
 */
export interface RunStuckCondition {
  /**
   * How long a run may take (e.g. 30m).
   */
  after: Duration;
}
/**
 * No worker of the environment has been alive for `for`.
 */
export interface NoWorkerCondition {
  /**
   * How long without a live worker (e.g. 2m).
   */
  for?: Duration;
}
/**
 * One channel: exactly one of slack, webhook, email, pagerduty.
 */
export interface AlertChannel {
  slack?: SlackChannel;
  webhook?: WebhookChannel;
  email?: EmailChannel;
  pagerduty?: PagerDutyChannel;
}
/**
 * A Slack incoming webhook.
 */
export interface SlackChannel {
  /**
   * The incoming webhook's URL, a secret (whoever has it can post): by reference only.
   */
  url: SecretRef;
}
/**
 * A POST of the incident as JSON to any URL, optionally signed.
 */
export interface WebhookChannel {
  /**
   * Where to POST: an http(s) URL, or a secret reference when the URL itself is a credential.
   */
  url: string | SecretRef;
  /**
   * The HMAC-SHA256 key: each request is signed in X-Rsync-Signature (hex, of `<X-Rsync-Timestamp>.<body>`).
   */
  secret?: SecretRef;
}
/**
 * E-mail over SMTP.
 */
export interface EmailChannel {
  /**
   * The SMTP server (e.g. smtp.example.com).
   */
  host: string;
  /**
   * Its port: 587 (STARTTLS), 465 (TLS, with secure: true) or 25.
   */
  port?: number;
  /**
   * TLS from the first byte (port 465); false upgrades with STARTTLS when the server offers it.
   */
  secure?: boolean;
  /**
   * The SMTP user, when the server asks for AUTH.
   */
  username?: string;
  /**
   * The SMTP password, by reference only.
   */
  password?: SecretRef;
  /**
   * The sender address (e.g. alerts@acme.example).
   */
  from: string;
  /**
   * The recipients.
   *
   * @minItems 1
   */
  to: string[];
}
/**
 * PagerDuty's Events API v2: a trigger when an incident starts, a resolve (same dedup_key) when it ends.
 */
export interface PagerDutyChannel {
  /**
   * The integration key of the service's Events API v2 integration, by reference only.
   */
  routingKey: SecretRef;
  /**
   * The Events API endpoint (another region's, or a proxy).
   */
  url?: string;
}
