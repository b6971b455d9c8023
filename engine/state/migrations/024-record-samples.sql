-- Recent source records per flow (issue 19, the data-impact plan): a bounded store the pipeline writes as it reads
-- (engine/state/samples.ts) and `rsync plan --impact` reads, so that a plan runs the deployed and the proposed
-- revision over real records without calling any system. Each flow has at most `slot` 0..cap-1 rows: a new sample
-- replaces the oldest in place (seq is the flow's running number of samples; slot = seq mod cap). The records are
-- kept PII-masked by the flow's policy, as dead letters' payloads are.
CREATE TABLE IF NOT EXISTS rsync.record_samples (
  env        text        NOT NULL,
  address    text        NOT NULL,
  slot       integer     NOT NULL,
  seq        bigint      NOT NULL,
  revision   integer     NOT NULL,
  record     jsonb       NOT NULL,
  sampled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (env, address, slot)
);
