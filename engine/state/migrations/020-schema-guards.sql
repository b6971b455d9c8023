-- The schema guard (engine/runtime/schema-guard.ts): per flow, what its target's schema looked like the last time a
-- run checked it and found nothing wrong (the baseline a later check compares types and dropped fields with), and,
-- while the guard holds the flow paused, what it found (the diagnostic `rsync plan` shows as drift). One row per
-- flow; written by the worker before a run's first write, never by an apply.
CREATE TABLE IF NOT EXISTS rsync.schema_guards (
  env         text        NOT NULL,
  address     text        NOT NULL,
  target      text        NOT NULL,            -- the target as messages name it: <customer>/<connection> <entity>
  revision    integer     NOT NULL,            -- the flow revision that was checked
  writes      jsonb,                           -- the fields the revision's mapping writes (null: not known statically)
  seen        jsonb       NOT NULL,            -- the target's fields at the last passing check: { name: type }
  finding     jsonb,                           -- set while paused by the guard: { diagnostic, changes, run }
  checked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (env, address)
);
