/**
 * Rollouts in the worker: every `intervalMs` one pass of advanceRollouts (rollout.ts) over the environment's running
 * rollouts, beside the worker's fetch loop, never in it (a cohort's apply holds up no run). A pass still going when
 * the next is due is not doubled; workers on several machines take turns per rollout (an advisory lock).
 */
import type pg from 'pg';
import { redact } from '../connectors/secrets.js';
import { redactUrl } from '../state/db.js';
import { type Advance, advanceRollouts } from './rollout.js';

/** The default interval: `rsync worker --rollout-interval`. */
export const DEFAULT_ROLLOUT_INTERVAL_MS = 10_000;
/** Who the apply log names for what the worker does to a rollout. */
export const WORKER_ACTOR = 'rsync worker';

export interface RolloutLoopOptions {
  pool: pg.Pool;
  url: string;
  env: string;
  intervalMs?: number;
  log?: (line: string) => void;
}

export class RolloutLoop {
  private timer?: NodeJS.Timeout;
  private passing?: Promise<void>;

  constructor(private readonly o: RolloutLoopOptions) {}

  /** One pass now (what the timer runs). */
  pass(now?: () => Date): Promise<Advance[]> {
    const db = {
      pool: this.o.pool,
      url: this.o.url,
      describe: redactUrl(this.o.url),
      embedded: false,
      close: async () => {},
    };
    return advanceRollouts({ db, url: this.o.url, actor: WORKER_ACTOR, now }, this.o.env);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.passing ??= this.pass()
        .then((steps) => {
          for (const s of steps)
            if (s.outcome !== 'waiting')
              this.o.log?.(`rollout ${s.rollout}: ${s.outcome} (cohort ${s.cohort}): ${s.reason}`);
        })
        .catch((e) => this.o.log?.(`rollouts: a pass failed: ${redact((e as Error).message ?? String(e))}`))
        .finally(() => (this.passing = undefined));
    }, this.o.intervalMs ?? DEFAULT_ROLLOUT_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.passing;
  }
}
