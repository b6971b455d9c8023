-- Per-customer quotas (engine/state/quotas.ts, engine/runtime/quotas.ts): what was used of each daily quota, one row
-- per environment, quota and UTC day. A scope is `records:<customer>` (source records its flows read) or
-- `calls:<customer>/<connection>` (API requests sent to a connection). Counted in the transaction that commits a
-- page (records) or as each request is sent (calls); a new day is a new row, so a quota resets at 00:00 UTC by
-- itself, and old days stay for the record until retention removes them.
CREATE TABLE IF NOT EXISTS rsync.quota_usage (
  env    text    NOT NULL,
  scope  text    NOT NULL,
  day    date    NOT NULL,
  used   bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (env, scope, day)
);
