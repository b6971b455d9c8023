-- rsync state: what is deployed per environment, its history, the apply log, and who holds an apply lock.

-- The current revision of every deployed resource, per environment (one row per address).
CREATE TABLE rsync.resources (
  env           text        NOT NULL,
  address       text        NOT NULL,   -- <customer>/<kind>/<name>
  customer      text,
  kind          text        NOT NULL,
  name          text        NOT NULL,
  revision      integer     NOT NULL,
  content_hash  text        NOT NULL,
  spec          jsonb       NOT NULL,   -- the resolved resource as applied (a flow includes its mapping's text)
  template      text,                   -- name@version when a template produced it
  commit        text,
  applied_at    timestamptz NOT NULL DEFAULT now(),
  applied_by    text        NOT NULL,
  PRIMARY KEY (env, address)
);

-- Every revision ever applied (and every removal), for history and rollback.
CREATE TABLE rsync.revisions (
  env           text        NOT NULL,
  address       text        NOT NULL,
  revision      integer     NOT NULL,
  action        text        NOT NULL CHECK (action IN ('create', 'update', 'delete')),
  content_hash  text,
  spec          jsonb,
  commit        text,
  apply_seq     bigint,
  applied_at    timestamptz NOT NULL DEFAULT now(),
  applied_by    text        NOT NULL,
  PRIMARY KEY (env, address, revision)
);

-- Mapping texts by content hash: a flow's deployed spec names its mapping by sha256.
CREATE TABLE rsync.blobs (
  sha256  text PRIMARY KEY,
  text    text NOT NULL
);

-- The apply log: append-only, each entry chained to the previous one by hash (rsync audit verify).
CREATE TABLE rsync.apply_log (
  seq          bigserial   PRIMARY KEY,
  n            bigint      NOT NULL UNIQUE,  -- 1, 2, 3 … with no gaps: a deleted entry shows as a gap
  env          text        NOT NULL,
  action       text        NOT NULL,      -- apply, dlq-replay, dlq-discard, promote …
  actor        text        NOT NULL,
  commit       text,
  ref          text,
  detail       jsonb       NOT NULL,      -- counts, plan hash, result, changed addresses
  at           timestamptz NOT NULL DEFAULT now(),
  prev_hash    text        NOT NULL,
  entry_hash   text        NOT NULL
);

-- The newest entry, so that removing the last entries is detected too.
CREATE TABLE rsync.apply_log_head (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  n           bigint  NOT NULL,
  entry_hash  text    NOT NULL
);

CREATE FUNCTION rsync.apply_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'rsync.apply_log is append-only';
END $$;
CREATE TRIGGER apply_log_append_only BEFORE UPDATE OR DELETE ON rsync.apply_log
  FOR EACH ROW EXECUTE FUNCTION rsync.apply_log_append_only();

-- Who holds an environment's apply lock (the lock itself is a PostgreSQL advisory lock).
CREATE TABLE rsync.locks (
  env       text        PRIMARY KEY,
  holder    text        NOT NULL,
  host      text        NOT NULL,
  pid       integer     NOT NULL,
  since     timestamptz NOT NULL DEFAULT now(),
  backend   integer     NOT NULL       -- pg_backend_pid() of the session that holds the advisory lock
);
