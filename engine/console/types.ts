/**
 * The shapes the console's API answers with, as the pages read them: one definition for the server (data.ts) and
 * the front end (web/). Plain types, importing nothing, so the pages' build reads this file alone.
 */

export interface ConsoleBranding {
  productName: string;
  partner?: string;
  logoUrl?: string;
  primaryColor: string;
  footer?: string;
  supportUrl?: string;
  /** OpenID Connect sign-in, when configured: the sign-in page's link (only in the page, not /api/branding). */
  signInWith?: { label: string; href: string };
}

export type Health = 'ok' | 'late' | 'failing' | 'idle';

/** A flow's row of the overview: its health against its SLA (runtime/status.ts) and its recent volume. */
export interface OverviewRow {
  address: string;
  customer: string;
  flow: string;
  revision: number;
  trigger: string;
  enabled: boolean;
  health: Health;
  lastRun: { id: number; status: string; at: string } | null;
  /** How far the target is behind, and the SLA's freshness (ms). */
  lagMs: number | null;
  freshnessMs: number | null;
  recordsLastHour: number;
  recordsLastDay: number;
  /** Open dead letters, and webhook deliveries not worked yet. */
  deadLetters: number;
  pendingDeliveries: number;
  /** The month's error budget left ("99.12%"), when its SLA has a success rate. */
  budgetLeft: string | null;
}

export interface Overview {
  env: string;
  at: string;
  customers: string[];
  totals: Record<Health, number> & { flows: number; deadLetters: number };
  /** How many flows the filters matched (the API sends at most `limit` of them). */
  matched?: number;
  flows: OverviewRow[];
}

/** A run as the flow page lists it (the API sends the whole run row). */
export interface RunView {
  id: number;
  trigger: string;
  outcome: string;
  startedAt: string;
  finishedAt: string | null;
  read: number;
  written: number;
  unchanged: number;
  filtered: number;
  dead: number;
  retries: number;
  error: string | null;
  /** Notable events: back-off waits, retries, the error. */
  log: Record<string, unknown>[];
}

export interface FlowPageView<Status = { health: Health; lagMs: number | null; deadLetters: number }, Run = RunView> {
  address: string;
  customer: string;
  flow: string;
  revision: number;
  /** The Git commit the revision was applied from. */
  commit: string | null;
  appliedAt: string | null;
  appliedBy: string | null;
  trigger: { kind: string; event?: string; schedule?: { cron: string; timezone: string } };
  source: { system: string; type: string; stream: string };
  target: { system: string; type: string; entity: string };
  key: string;
  mapping: { file: string; text: string };
  /** The flow, its policy and its SLA as declared (their `spec`). */
  declared: {
    flow: unknown;
    policy: { address: string; spec: unknown } | null;
    sla: { address: string; spec: unknown } | null;
  };
  status: Status | null;
  runs: Run[];
  /** Per hour, the last 48 hours: records read, written and dead-lettered, and the p95 run duration (ms). */
  volume: { hour: string; read: number; written: number; dead: number; p95Ms: number | null }[];
}

export interface JourneyStep {
  at: string;
  step: 'received' | 'written' | 'dead-lettered' | 'retried' | 'replayed' | 'discarded' | 'resolved' | 'edited';
  detail: string;
  run?: number | null;
  letter?: number;
}

/** One flow's part of a record's journey: its key there, its ids, and what happened to it, oldest first. */
export interface JourneyFlow {
  address: string;
  customer: string;
  key: string | null;
  sourceId: string | null;
  target: string | null;
  targetId: string | null;
  writes: number;
  revision: number | null;
  /** What the target held after the last write (its view, PII masked), when the connector keeps one. */
  view: unknown;
  steps: JourneyStep[];
}

/** An apply or promotion of the environment (the apply log). */
export interface ChangeEntry {
  n: number;
  at: string;
  action: string;
  actor: string;
  commit: string | null;
  ref: string | null;
  summary: string;
  changes: string[];
}

/** A plan awaiting approval (apply/approvals.ts): the Changes page shows it with its approvals and an Approve button. */
export interface ApprovalView {
  /** The plan's hash: what is approved, and the API's name for it (POST /api/approvals/<hash>/approve). */
  hash: string;
  author: string;
  commit: string | null;
  createdAt: string;
  summary: unknown;
  required: number;
  missing: number;
  separateAuthor: boolean;
  /** The approvals that count: one per person. */
  approvals: { approver: string; at: string; reason: string | null }[];
}

/** What a dead-letter action did, or would do (a dry run). */
export interface ActionResultView {
  action: string;
  dryRun: boolean;
  /** The letters it acts (or would act) on: open ones for replay, discard and resolve. */
  letters: { id: number; address: string; status: string }[];
  /** Letters asked for that it leaves alone, and why. */
  skipped: { id: number; why: string }[];
  replayed?: { id: number; address: string; revision: number; outcome: string; error?: string }[];
}

/** A dead letter as the console shows it (state/dead-letters.ts keeps it); no payloads for a customer viewer. */
export interface DeadLetterView {
  id: number;
  /** `<customer>/flow/<name>` and its customer. */
  address: string;
  customer: string;
  /** The revision that failed, and its run. */
  revision: number;
  runId: number | null;
  key: string | null;
  /** Where it failed (map, check, key, write), why, and after how many attempts. */
  stage: string;
  error: string;
  attempts: number;
  /** The record as read, PII masked (null without the right to see payloads). */
  payload: unknown;
  status: 'open' | 'replayed' | 'discarded' | 'resolved';
  createdAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: unknown;
  assignee: string | null;
  /** The edited record, PII masked, and who edited it when. */
  edited: unknown;
  editedAt: string | null;
  editedBy: string | null;
}
