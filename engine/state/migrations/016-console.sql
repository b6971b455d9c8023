-- The console (engine/console/, issue 17).
-- A console session is a token of kind 'session' (migration 015) opened by signing in with an API token: it names
-- that token as its parent, and is refused as soon as the parent is revoked or expires.
ALTER TABLE rsync.tokens ADD COLUMN IF NOT EXISTS parent text REFERENCES rsync.tokens (id);

-- Dead letters, worked from the console: assigned to a name, edited (the edited record kept beside the original;
-- a retry sends it), and resolved by hand or by the pipeline when the same key is later written ('resolved').
ALTER TABLE rsync.dead_letters DROP CONSTRAINT IF EXISTS dead_letters_status_check;
ALTER TABLE rsync.dead_letters ADD CONSTRAINT dead_letters_status_check
  CHECK (status IN ('open', 'replayed', 'discarded', 'resolved'));
ALTER TABLE rsync.dead_letters ADD COLUMN IF NOT EXISTS assignee text;
ALTER TABLE rsync.dead_letters ADD COLUMN IF NOT EXISTS edited jsonb;          -- the edited record as sent; dropped once resolved, never shown
ALTER TABLE rsync.dead_letters ADD COLUMN IF NOT EXISTS edited_shown jsonb;    -- the edited record, PII masked: what is shown
ALTER TABLE rsync.dead_letters ADD COLUMN IF NOT EXISTS edited_at timestamptz;
ALTER TABLE rsync.dead_letters ADD COLUMN IF NOT EXISTS edited_by text;
CREATE INDEX IF NOT EXISTS dead_letters_open_key ON rsync.dead_letters (env, address, key) WHERE status = 'open';
