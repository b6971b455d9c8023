-- The controller (gitops/controller.ts): per environment, the newest commit of its branch it saw, the last commit it
-- applied (a second controller never applies that commit again), and what it reported: synced at a commit, or out
-- of sync with the commit not applied and why. One row per environment, written only by the controller that holds
-- the environment's controller lock.
CREATE TABLE IF NOT EXISTS rsync.sync_state (
  env             text        PRIMARY KEY,
  branch          text        NOT NULL,
  seen_commit     text,
  applied_commit  text,
  applied_at      timestamptz,
  state           text        NOT NULL CHECK (state IN ('synced', 'out-of-sync')),
  reason          text,
  controller      text        NOT NULL,
  checked_at      timestamptz NOT NULL DEFAULT now()
);

-- Paused flows (rsync pause / rsync resume): a paused flow starts no run of any trigger in any worker. Kept apart
-- from the deployed resources so that an apply, which rewrites those, leaves a pause as it was.
CREATE TABLE IF NOT EXISTS rsync.flow_pauses (
  env        text        NOT NULL,
  address    text        NOT NULL,
  reason     text,
  paused_by  text        NOT NULL,
  paused_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (env, address)
);
