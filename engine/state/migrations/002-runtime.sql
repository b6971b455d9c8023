-- rsync runtime state: runs, cursors, the ledger, dead letters, webhook deliveries, backfills, rate limits.
-- A flow is named by its address (<customer>/flow/<name>) within an environment.

-- One row per run of a flow: what started it, on which revision, and what became of every record it read.
-- read = written + unchanged + filtered + dead (promise 3), counted in the same transactions as the cursor.
CREATE TABLE rsync.runs (
  id           bigserial   PRIMARY KEY,
  env          text        NOT NULL,
  address      text        NOT NULL,
  revision     integer     NOT NULL,
  trigger      text        NOT NULL,              -- schedule, event, manual, backfill, replay
  status       text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
  worker       text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  read         bigint      NOT NULL DEFAULT 0,
  written      bigint      NOT NULL DEFAULT 0,
  unchanged    bigint      NOT NULL DEFAULT 0,
  filtered     bigint      NOT NULL DEFAULT 0,
  dead         bigint      NOT NULL DEFAULT 0,
  retries      integer     NOT NULL DEFAULT 0,
  error        text,
  log          jsonb       NOT NULL DEFAULT '[]'   -- notable events: back-off waits, retries, the error
);
CREATE INDEX runs_by_flow ON rsync.runs (env, address, id DESC);
CREATE INDEX runs_running ON rsync.runs (status) WHERE status = 'running';

-- Where each flow's incremental read resumes. Moved only after the records before it are delivered (promise 5).
CREATE TABLE rsync.cursors (
  env         text        NOT NULL,
  address     text        NOT NULL,
  cursor      jsonb,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (env, address)
);

-- The ledger: per flow, idempotency key → target id, content hash and revision (promise 4). Also the ID
-- cross-reference between systems: `target` (<customer>/<connection>) and `target_id` say where the record went.
CREATE TABLE rsync.ledger (
  env           text        NOT NULL,
  address       text        NOT NULL,
  key           text        NOT NULL,
  target        text        NOT NULL,
  target_id     text        NOT NULL,
  content_hash  text        NOT NULL,
  revision      integer     NOT NULL,
  writes        integer     NOT NULL DEFAULT 1,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (env, address, key)
);
-- Echo detection: what rsync itself last wrote into a system, by content.
CREATE INDEX ledger_echo ON rsync.ledger (env, target, content_hash);

-- Records that failed permanently or ran out of retries: error, payload (PII masked) and the revision that failed.
CREATE TABLE rsync.dead_letters (
  id           bigserial   PRIMARY KEY,
  env          text        NOT NULL,
  address      text        NOT NULL,
  customer     text        NOT NULL,
  revision     integer     NOT NULL,
  run_id       bigint,
  key          text,
  stage        text        NOT NULL,             -- map, check, key, write
  error        text        NOT NULL,
  attempts     integer     NOT NULL DEFAULT 1,
  payload      jsonb       NOT NULL,             -- the source record, PII masked (what the operator sees)
  replay       jsonb,                            -- the source record as read, kept for replay; never shown
  status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'discarded')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  resolved_at  timestamptz,
  resolved_by  text,
  resolution   jsonb
);
CREATE INDEX dead_letters_open ON rsync.dead_letters (env, address) WHERE status = 'open';

-- Webhook deliveries: de-duplicated by the sender's delivery id, then worked by event runs (SKIP LOCKED).
CREATE TABLE rsync.deliveries (
  id           bigserial   PRIMARY KEY,
  env          text        NOT NULL,
  address      text        NOT NULL,
  delivery_id  text        NOT NULL,
  topic        text,
  records      jsonb       NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  done_at      timestamptz,
  UNIQUE (env, address, delivery_id)
);
CREATE INDEX deliveries_pending ON rsync.deliveries (env, address, id) WHERE done_at IS NULL;

-- Backfills, cut into windows that workers claim (a session advisory lock per window: a killed worker's lock
-- goes with its connection) and resume from their own cursor.
CREATE TABLE rsync.backfills (
  id          bigserial   PRIMARY KEY,
  env         text        NOT NULL,
  address     text        NOT NULL,
  since       timestamptz NOT NULL,
  until       timestamptz NOT NULL,
  revision    integer,                           -- null: the current revision when a window starts
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text        NOT NULL,
  done_at     timestamptz
);
CREATE TABLE rsync.backfill_windows (
  backfill_id  bigint      NOT NULL REFERENCES rsync.backfills (id),
  n            integer     NOT NULL,
  since        timestamptz NOT NULL,
  until        timestamptz NOT NULL,
  cursor       jsonb,
  read         bigint      NOT NULL DEFAULT 0,
  done_at      timestamptz,
  PRIMARY KEY (backfill_id, n)
);
CREATE INDEX backfill_windows_open ON rsync.backfill_windows (backfill_id, n) WHERE done_at IS NULL;

-- Per-connection token buckets, shared by every worker.
CREATE TABLE rsync.rate_limits (
  system      text             PRIMARY KEY,
  tokens      double precision NOT NULL,
  updated_at  timestamptz      NOT NULL DEFAULT clock_timestamp()
);

-- Workers alive (heartbeat), for rsync status and to tell a crashed worker's runs from running ones.
CREATE TABLE rsync.workers (
  id          text        PRIMARY KEY,
  env         text        NOT NULL,
  host        text        NOT NULL,
  pid         integer     NOT NULL,
  backend     integer     NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  seen_at     timestamptz NOT NULL DEFAULT now()
);
