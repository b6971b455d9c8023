-- An apply log entry whose hash is an HMAC-SHA256 under the workspace's audit key (rsync.yaml spec.audit.key):
-- verify recomputes it with the key, and an unkeyed entry after a keyed one is a forgery's mark.
ALTER TABLE rsync.apply_log ADD COLUMN IF NOT EXISTS keyed boolean NOT NULL DEFAULT false;
