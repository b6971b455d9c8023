-- The ledger remembers, per key, the updatedAt of the version it last wrote (when the canonical record has one),
-- so that a version older than it — an orders/updated delivered after a newer one, a page re-read out of order —
-- is skipped as stale instead of written over the newer one.
ALTER TABLE rsync.ledger ADD COLUMN IF NOT EXISTS version timestamptz;
