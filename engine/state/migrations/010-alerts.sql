-- Alerts (runtime/alerts/): an incident is one condition of one Alert holding for one subject (a flow, an SLA
-- objective, the environment) from the evaluation that saw it start to the one that saw it end (ended_at null while
-- it lasts). One message is sent when it starts and one when it ends, however many evaluations see it.
CREATE TABLE IF NOT EXISTS rsync.alert_incidents (
  id          bigserial   PRIMARY KEY,
  env         text        NOT NULL,
  alert       text        NOT NULL,                -- the Alert's address: workspace/alert/<name>, <customer>/alert/<name>
  key         text        NOT NULL,                -- <condition>:<subject>, e.g. runFailed:northwind/flow/orders-to-erp
  condition   text        NOT NULL,
  subject     text        NOT NULL,
  customer    text,
  summary     text        NOT NULL,                -- what the start message said (scrubbed of secrets and PII)
  detail      text,
  started_at  timestamptz NOT NULL,
  ended_at    timestamptz
);
-- At most one open incident per alert and key: that is the de-duplication.
CREATE UNIQUE INDEX IF NOT EXISTS alert_incidents_open ON rsync.alert_incidents (env, alert, key) WHERE ended_at IS NULL;

-- Each message to each channel: what was sent (already rendered: no secret, no PII), each attempt's answer, and when
-- the next attempt is due. A delivery is claimed by moving next_at past its send (a lease), never by a transaction
-- held open over the network.
CREATE TABLE IF NOT EXISTS rsync.alert_deliveries (
  id          bigserial   PRIMARY KEY,
  incident    bigint      NOT NULL REFERENCES rsync.alert_incidents (id) ON DELETE CASCADE,
  env         text        NOT NULL,
  alert       text        NOT NULL,
  channel     integer     NOT NULL,                -- its index in the Alert's spec.channels
  type        text        NOT NULL CHECK (type IN ('slack', 'webhook', 'email', 'pagerduty')),
  action      text        NOT NULL CHECK (action IN ('trigger', 'resolve')),
  target      jsonb       NOT NULL,                -- the channel as declared (secret references, never values)
  message     jsonb       NOT NULL,
  status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts    integer     NOT NULL DEFAULT 0,
  next_at     timestamptz NOT NULL DEFAULT now(),
  answer      text,                                -- the last answer: "200 ok", "429 (Retry-After 1)", "ECONNREFUSED"
  log         jsonb       NOT NULL DEFAULT '[]',   -- every attempt: { at, answer }
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz,
  UNIQUE (incident, channel, action)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON rsync.alert_deliveries (next_at) WHERE status = 'pending';
