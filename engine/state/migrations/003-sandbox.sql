-- The sandbox connector's systems: a simulated storefront, POS or ERP per connection, on PostgreSQL tables.
-- `records` is what a simulated system can be read from (its orders, refunds, stock moves…), `writes` what rsync
-- wrote into it, with a version per key: a key written twice with different content has version 2, and the same
-- content written again is never counted (rsync skips it by its ledger) — what the exactly-once tests check.
CREATE SCHEMA IF NOT EXISTS rsync_sandbox;

CREATE TABLE rsync_sandbox.records (
  system      text        NOT NULL,   -- <customer>/<connection>
  stream      text        NOT NULL,
  id          text        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  payload     jsonb       NOT NULL,
  PRIMARY KEY (system, stream, id)
);
CREATE INDEX records_by_cursor ON rsync_sandbox.records (system, stream, updated_at, id);

CREATE SEQUENCE rsync_sandbox.target_ids;

CREATE TABLE rsync_sandbox.writes (
  system            text        NOT NULL,
  entity            text        NOT NULL,
  key               text        NOT NULL,
  target_id         text        NOT NULL,
  record            jsonb       NOT NULL,
  version           integer     NOT NULL DEFAULT 1,
  first_written_at  timestamptz NOT NULL DEFAULT now(),
  written_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, entity, key)
);
