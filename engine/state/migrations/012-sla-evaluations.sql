-- The SLA evaluator (runtime/sla.ts) derives breaches from the runs and deliveries since its last evaluation, and
-- may derive the same breach twice (two evaluations overlapping a breach that ended between them): a breach is
-- one row per flow, objective and start, so a repeat is the same row.
CREATE UNIQUE INDEX IF NOT EXISTS sla_events_start ON rsync.sla_events (env, address, objective, started_at);

-- Where each environment's evaluation got to: the next one derives breaches from the runs and deliveries after it.
CREATE TABLE IF NOT EXISTS rsync.sla_evaluations (
  env           text        PRIMARY KEY,
  evaluated_at  timestamptz NOT NULL
);

-- The evaluator reads what happened since its last evaluation: runs by when they ended, deliveries by when they
-- were written (without these, a scan of every run and delivery every 30 s).
CREATE INDEX IF NOT EXISTS runs_finished ON rsync.runs (env, finished_at);
CREATE INDEX IF NOT EXISTS deliveries_done ON rsync.deliveries (env, done_at) WHERE done_at IS NOT NULL;
