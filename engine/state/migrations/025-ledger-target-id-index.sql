-- The ledger's target-id index leads with target_id (rsync xref --target-id, the console's record search), no
-- longer with (env, address). Led by (env, address), it matched the page's ledger lookup (state/ledger.ts
-- ledgerEntries: env, address, key) as well as the primary key does while the table has no statistics yet — a
-- fresh flow's first backfill, before autovacuum's first analyze — and PostgreSQL took it, the smaller, then
-- filtered the flow's every row for each key: 100 keys a page × 55,000 rows, seconds a page, quadratic in the
-- backfill (seen in the fair-share benchmark, where it also held two cores and so doubled other customers' event
-- latency). Now only the primary key serves that lookup.
DROP INDEX IF EXISTS rsync.ledger_target_id;
CREATE INDEX IF NOT EXISTS ledger_by_target_id ON rsync.ledger (target_id, env, address);
