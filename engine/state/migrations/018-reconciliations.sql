-- Reconciliation checks (runtime/reconcile/, state/reconciliations.ts): one row per run of a check, by the worker's
-- schedule or `rsync reconcile`: the window it compared, what each side had (counts, sums of money per currency as
-- decimal text), and the mismatches (keys missing on each side, amounts that differ, keys twice on one side),
-- listed up to the check's maxKeys with whole counts. Keys only, never a record's content (no PII).
CREATE TABLE IF NOT EXISTS rsync.reconciliations (
  id            bigserial   PRIMARY KEY,
  env           text        NOT NULL,
  address       text        NOT NULL,              -- <customer>/reconciliation/<name>
  customer      text        NOT NULL,
  name          text        NOT NULL,
  revision      integer     NOT NULL,
  trigger       text        NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  window_start  timestamptz NOT NULL,
  window_end    timestamptz NOT NULL,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz NOT NULL DEFAULT now(),
  ok            boolean     NOT NULL,
  mismatches    integer     NOT NULL,
  -- Why the check could not compare (a side could not be read): ok is false then, and the result empty.
  error         text,
  result        jsonb       NOT NULL
);
-- The latest run of each check (status, metrics, the rollout gate, the schedule's "is it due").
CREATE INDEX IF NOT EXISTS reconciliations_latest ON rsync.reconciliations (env, customer, name, finished_at DESC);
