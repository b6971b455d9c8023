/**
 * Alerts in the worker: every `intervalMs` the evaluator (evaluate.ts) judges the conditions, and every second the
 * due deliveries are sent (deliver.ts). Both run beside the worker's fetch loop, never in it: a channel that
 * answers slowly or asks to wait holds up no run, and a pass still going when the next is due is not doubled.
 */
import type pg from 'pg';
import { redact } from '../../connectors/secrets.js';
import { deliverDue } from './deliver.js';
import { evaluateAlerts } from './evaluate.js';

export { deliverDue, retryDelayMs, MAX_ATTEMPTS } from './deliver.js';
export { evaluateAlerts, type EvaluationResult } from './evaluate.js';
export { send, type Answer } from './channels.js';
export { alertDef, channelOf, type AlertDef, type Channel } from './model.js';
export { messageOf, sampleMessage, type AlertMessage } from './render.js';

/** The evaluator's default interval: `rsync worker --alert-interval`. */
export const DEFAULT_ALERT_INTERVAL_MS = 30_000;
const DELIVER_EVERY_MS = 1_000;

export interface AlertLoopOptions {
  pool: pg.Pool;
  /** The worker's environment: its deliveries are sent first (any environment's after two minutes unsent). */
  env: string;
  intervalMs?: number;
  log?: (line: string) => void;
}

export class AlertLoop {
  private timers: NodeJS.Timeout[] = [];
  private evaluating?: Promise<void>;
  private delivering?: Promise<void>;

  constructor(private readonly o: AlertLoopOptions) {}

  start(): void {
    const log = (what: string) => (e: unknown) =>
      this.o.log?.(`alerts: ${what} failed: ${redact((e as Error).message ?? String(e))}`);
    this.timers.push(
      setInterval(() => {
        this.evaluating ??= evaluateAlerts(this.o.pool)
          .then(() => {}, log('evaluation'))
          .finally(() => (this.evaluating = undefined));
      }, this.o.intervalMs ?? DEFAULT_ALERT_INTERVAL_MS),
      setInterval(() => {
        this.delivering ??= deliverDue(this.o.pool, this.o.env, { log: this.o.log })
          .then(() => {}, log('delivery'))
          .finally(() => (this.delivering = undefined));
      }, DELIVER_EVERY_MS),
    );
    for (const t of this.timers) t.unref();
  }

  /** Stop the timers and wait for the passes in flight (a send times out after 10 s). */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all([this.evaluating, this.delivering]);
  }
}
