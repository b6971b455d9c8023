-- SLA events: one row per breach of one objective of a flow's SLA (runtime/sla.ts evaluates them), from the moment
-- the objective stopped being met to the moment it was met again (ended_at null while the breach is open). The
-- monthly report, `rsync sla`, the error budget and the alerts read this table.
CREATE TABLE IF NOT EXISTS rsync.sla_events (
  id          bigserial   PRIMARY KEY,
  env         text        NOT NULL,
  address     text        NOT NULL,                -- <customer>/flow/<name>
  customer    text        NOT NULL,
  sla         text        NOT NULL,                -- the SLA's name
  objective   text        NOT NULL CHECK (objective IN ('freshness', 'latencyP95', 'successRate')),
  target      text        NOT NULL,                -- the objective as declared: '5m', '60s', '99.9%'
  started_at  timestamptz NOT NULL,
  ended_at    timestamptz,
  worst       text,                                -- the worst value seen during the breach, as text ('17m', '97.2%')
  cause       text                                 -- why, in words: the last run failed, the target stalled, …
);
-- At most one open breach per flow and objective.
CREATE UNIQUE INDEX IF NOT EXISTS sla_events_open ON rsync.sla_events (env, address, objective) WHERE ended_at IS NULL;
CREATE INDEX IF NOT EXISTS sla_events_by_customer ON rsync.sla_events (env, customer, started_at);
