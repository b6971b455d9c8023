-- Concurrency caps held across workers (state/slots.ts): one row per slot of a connection's cap. A holder leases
-- its slot until expires_at and renews the lease while its call runs, so a worker killed mid-call frees its slot
-- when the lease runs out instead of holding it for ever.
CREATE TABLE IF NOT EXISTS rsync.slots (
  name        text        NOT NULL,              -- <customer>/<connection>:<key>
  slot        integer     NOT NULL,
  holder      text,
  expires_at  timestamptz NOT NULL DEFAULT '-infinity',
  PRIMARY KEY (name, slot)
);

-- The ID cross-reference (rsync xref): the source record's id, and what the target held of the record after the
-- write (the connector's view of it, when it can read its records back) for `rsync xref verify`.
ALTER TABLE rsync.ledger ADD COLUMN IF NOT EXISTS source_id text;
ALTER TABLE rsync.ledger ADD COLUMN IF NOT EXISTS target_view jsonb;
CREATE INDEX IF NOT EXISTS ledger_target_id ON rsync.ledger (env, address, target_id);
