-- Approvals for production (engine/state/approvals.ts, engine/apply/approvals.ts): an environment with
-- requiresApproval applies a saved plan only once enough distinct people with the role to approve have approved that
-- exact plan, by the hash of its canonical JSON. A plan awaiting approval is kept whole (the console shows and
-- approves it) with the deployed state it was made against: once that state moves, the plan is stale and its
-- approvals are void (closed), never carried over to a new plan.
CREATE TABLE IF NOT EXISTS rsync.approval_plans (
  env            text        NOT NULL,
  plan_hash      text        NOT NULL,            -- sha256 of the plan's canonical JSON
  state_hash     text        NOT NULL,            -- the plan's basis.stateHash
  author         text        NOT NULL,            -- the plan's createdBy
  commit         text,
  plan_created_at timestamptz NOT NULL,
  summary        jsonb       NOT NULL,
  plan           jsonb       NOT NULL,
  required       integer     NOT NULL,            -- approvals it needed when it was last asked for
  submitted_at   timestamptz NOT NULL DEFAULT now(),
  submitted_by   text        NOT NULL,
  closed_at      timestamptz,
  closed_reason  text        CHECK (closed_reason IN ('applied', 'stale')),
  PRIMARY KEY (env, plan_hash)
);
CREATE INDEX IF NOT EXISTS approval_plans_open ON rsync.approval_plans (env) WHERE closed_at IS NULL;

CREATE TABLE IF NOT EXISTS rsync.approvals (
  id             bigserial   PRIMARY KEY,
  env            text        NOT NULL,
  plan_hash      text        NOT NULL,
  approver       text        NOT NULL,            -- the audit's name: token:<id> <name> (<role>), or the local user
  person         text        NOT NULL,            -- who that is (a token's name, or the local user): one approval each
  at             timestamptz NOT NULL DEFAULT now(),
  reason         text,
  FOREIGN KEY (env, plan_hash) REFERENCES rsync.approval_plans (env, plan_hash),
  UNIQUE (env, plan_hash, person)
);
