-- Rollouts by cohort (engine/rollout, `rsync rollout`): the change a Rollout rolls out (the plan made at start: every
-- cohort's changes, with the mapping texts), its state, and each cohort's: the customers it took at start, its gate,
-- when it was applied (and the apply-log entry), how its gate was decided, and when it was put back (abort). The
-- worker advances a running rollout when the gate of its current cohort passes and halts it when one fails.
CREATE TABLE IF NOT EXISTS rsync.rollouts (
  id          bigserial   PRIMARY KEY,
  env         text        NOT NULL,
  name        text        NOT NULL,
  state       text        NOT NULL CHECK (state IN ('running', 'paused', 'halted', 'completed', 'aborted')),
  commit      text,
  ref         text,
  plan        jsonb       NOT NULL,
  -- The cohort under its gate (0-based), or the last one applied.
  current     int         NOT NULL DEFAULT 0,
  reason      text,
  started_by  text        NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
-- One rollout of a name at a time in an environment, until it completes or is aborted.
CREATE UNIQUE INDEX IF NOT EXISTS rollouts_one_open ON rsync.rollouts (env, name)
  WHERE state IN ('running', 'paused', 'halted');

CREATE TABLE IF NOT EXISTS rsync.rollout_cohorts (
  rollout_id   bigint      NOT NULL REFERENCES rsync.rollouts (id),
  position     int         NOT NULL,
  name         text        NOT NULL,
  customers    text[]      NOT NULL,
  selector     jsonb,
  gate         jsonb       NOT NULL DEFAULT '{}',
  state        text        NOT NULL CHECK (state IN ('pending', 'applied', 'passed', 'failed', 'reverted'))
                           DEFAULT 'pending',
  applied_at   timestamptz,
  apply_entry  bigint,
  decided_at   timestamptz,
  reason       text,
  approved_by  text,
  approved_at  timestamptz,
  reverted_at  timestamptz,
  revert_entry bigint,
  PRIMARY KEY (rollout_id, position)
);
