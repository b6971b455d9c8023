-- The minutes whose schedules were started, per environment (runtime/worker.ts tick): a tick claims every whole
-- minute after the last one claimed up to the database's now, each once across all workers, so a clock that jumps
-- (the worker's or the database's) neither starts a minute twice nor skips one. Pruned after a day.
CREATE TABLE IF NOT EXISTS rsync.schedule_ticks (
  env     text        NOT NULL,
  minute  timestamptz NOT NULL,
  at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (env, minute)
);
