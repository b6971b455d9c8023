-- rsync.run_totals: per flow, the sums of its finished runs (records by outcome, runs by result, retries and
-- throttles by stage, run durations by bucket, when it last succeeded and how its last run ended), kept by a trigger
-- on rsync.runs. `/metrics` reads it at scrape time (engine/state/metrics.ts): summing every run ever would cost
-- more with every run, this costs one row per flow. Runs still running are summed from rsync.runs on top
-- (runs_running), in the same statement, so a counter does not jump back or forth when a run ends.
CREATE TABLE IF NOT EXISTS rsync.run_totals (
  env              text        NOT NULL,
  address          text        NOT NULL,
  read             bigint      NOT NULL DEFAULT 0,
  written          bigint      NOT NULL DEFAULT 0,
  unchanged        bigint      NOT NULL DEFAULT 0,
  filtered         bigint      NOT NULL DEFAULT 0,
  dead             bigint      NOT NULL DEFAULT 0,
  succeeded        bigint      NOT NULL DEFAULT 0,
  failed           bigint      NOT NULL DEFAULT 0,
  interrupted      bigint      NOT NULL DEFAULT 0,
  read_retries     bigint      NOT NULL DEFAULT 0,   -- back-off waits of the source's reads
  write_retries    bigint      NOT NULL DEFAULT 0,   -- back-off waits of the target's writes
  read_throttles   bigint      NOT NULL DEFAULT 0,   -- of those, the ones the system asked for (Retry-After)
  write_throttles  bigint      NOT NULL DEFAULT 0,
  -- Finished runs whose duration was at most each bound of rsync.run_duration_bounds() (a histogram's buckets).
  duration_le      bigint[]    NOT NULL DEFAULT '{0,0,0,0,0,0,0,0,0,0}',
  duration_sum     double precision NOT NULL DEFAULT 0,
  last_status      text,
  last_at          timestamptz,
  succeeded_at     timestamptz,
  PRIMARY KEY (env, address)
);

-- The buckets of rsync_run_duration_seconds, in seconds (engine/state/metrics.ts reads them from here).
CREATE OR REPLACE FUNCTION rsync.run_duration_bounds() RETURNS double precision[] LANGUAGE sql IMMUTABLE AS
$$ SELECT '{1,5,15,60,300,900,1800,3600,14400,86400}'::double precision[] $$;

-- Back-off entries of a run's log: retries and throttles, by stage (a write's entry has no stage).
CREATE OR REPLACE FUNCTION rsync.run_backoffs(log jsonb, OUT read_retries bigint, OUT write_retries bigint,
                                              OUT read_throttles bigint, OUT write_throttles bigint)
LANGUAGE sql IMMUTABLE AS $$
  SELECT count(*) FILTER (WHERE e->>'stage' = 'read'),
         count(*) FILTER (WHERE coalesce(e->>'stage', 'write') = 'write'),
         count(*) FILTER (WHERE e->>'stage' = 'read' AND coalesce((e->>'retryAfterMs')::numeric, 0) > 0),
         count(*) FILTER (WHERE coalesce(e->>'stage', 'write') = 'write' AND coalesce((e->>'retryAfterMs')::numeric, 0) > 0)
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(log) = 'array' THEN log ELSE '[]'::jsonb END) AS e
   WHERE e->>'event' = 'backoff'
$$;

-- A run that finishes adds itself; a finished run changed again (counts added after it was closed as interrupted)
-- adds the difference, and keeps its first result (a counter never goes down).
CREATE OR REPLACE FUNCTION rsync.run_totals_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was_finished boolean := TG_OP = 'UPDATE' AND OLD.status <> 'running';
  secs double precision;
  b_new record;
  b_old record;
  le bigint[];
BEGIN
  IF NEW.status = 'running' THEN RETURN NULL; END IF;
  SELECT * INTO b_new FROM rsync.run_backoffs(NEW.log);
  IF was_finished THEN
    SELECT * INTO b_old FROM rsync.run_backoffs(OLD.log);
    INSERT INTO rsync.run_totals AS t (env, address, read, written, unchanged, filtered, dead,
                                       read_retries, write_retries, read_throttles, write_throttles)
    VALUES (NEW.env, NEW.address, NEW.read - OLD.read, NEW.written - OLD.written, NEW.unchanged - OLD.unchanged,
            NEW.filtered - OLD.filtered, NEW.dead - OLD.dead,
            b_new.read_retries - b_old.read_retries, b_new.write_retries - b_old.write_retries,
            b_new.read_throttles - b_old.read_throttles, b_new.write_throttles - b_old.write_throttles)
    ON CONFLICT (env, address) DO UPDATE SET
      read = t.read + excluded.read, written = t.written + excluded.written, unchanged = t.unchanged + excluded.unchanged,
      filtered = t.filtered + excluded.filtered, dead = t.dead + excluded.dead,
      read_retries = t.read_retries + excluded.read_retries, write_retries = t.write_retries + excluded.write_retries,
      read_throttles = t.read_throttles + excluded.read_throttles,
      write_throttles = t.write_throttles + excluded.write_throttles;
    RETURN NULL;
  END IF;
  secs := greatest(0, extract(epoch FROM coalesce(NEW.finished_at, now()) - NEW.started_at));
  le := ARRAY(SELECT (secs <= b)::int::bigint FROM unnest(rsync.run_duration_bounds()) AS b);
  INSERT INTO rsync.run_totals AS t (env, address, read, written, unchanged, filtered, dead, succeeded, failed,
                                     interrupted, read_retries, write_retries, read_throttles, write_throttles,
                                     duration_le, duration_sum, last_status, last_at, succeeded_at)
  VALUES (NEW.env, NEW.address, NEW.read, NEW.written, NEW.unchanged, NEW.filtered, NEW.dead,
          (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'interrupted')::int,
          b_new.read_retries, b_new.write_retries, b_new.read_throttles, b_new.write_throttles, le, secs,
          NEW.status, coalesce(NEW.finished_at, now()),
          CASE WHEN NEW.status = 'succeeded' THEN coalesce(NEW.finished_at, now()) END)
  ON CONFLICT (env, address) DO UPDATE SET
    read = t.read + excluded.read, written = t.written + excluded.written, unchanged = t.unchanged + excluded.unchanged,
    filtered = t.filtered + excluded.filtered, dead = t.dead + excluded.dead,
    succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed,
    interrupted = t.interrupted + excluded.interrupted,
    read_retries = t.read_retries + excluded.read_retries, write_retries = t.write_retries + excluded.write_retries,
    read_throttles = t.read_throttles + excluded.read_throttles,
    write_throttles = t.write_throttles + excluded.write_throttles,
    duration_le = ARRAY(SELECT a + b FROM unnest(t.duration_le, excluded.duration_le) AS u(a, b)),
    duration_sum = t.duration_sum + excluded.duration_sum,
    last_status = CASE WHEN excluded.last_at >= coalesce(t.last_at, '-infinity') THEN excluded.last_status ELSE t.last_status END,
    last_at = greatest(t.last_at, excluded.last_at),
    succeeded_at = greatest(t.succeeded_at, excluded.succeeded_at);
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS run_totals_track ON rsync.runs;
CREATE TRIGGER run_totals_track AFTER INSERT OR UPDATE ON rsync.runs
  FOR EACH ROW WHEN (NEW.status <> 'running') EXECUTE FUNCTION rsync.run_totals_track();

-- The runs finished before this migration.
WITH buckets AS (
  SELECT r.env, r.address, u.i,
         count(*) FILTER (WHERE extract(epoch FROM r.finished_at - r.started_at) <= u.bound) AS n
    FROM rsync.runs r, unnest(rsync.run_duration_bounds()) WITH ORDINALITY AS u(bound, i)
   WHERE r.status <> 'running'
   GROUP BY r.env, r.address, u.i
), le AS (
  SELECT env, address, array_agg(n ORDER BY i) AS le FROM buckets GROUP BY env, address
)
INSERT INTO rsync.run_totals (env, address, read, written, unchanged, filtered, dead, succeeded, failed, interrupted,
                              read_retries, write_retries, read_throttles, write_throttles, duration_le, duration_sum,
                              last_status, last_at, succeeded_at)
SELECT r.env, r.address, sum(r.read), sum(r.written), sum(r.unchanged), sum(r.filtered), sum(r.dead),
       count(*) FILTER (WHERE r.status = 'succeeded'), count(*) FILTER (WHERE r.status = 'failed'),
       count(*) FILTER (WHERE r.status = 'interrupted'),
       sum(b.read_retries), sum(b.write_retries), sum(b.read_throttles), sum(b.write_throttles),
       (SELECT le.le FROM le WHERE le.env = r.env AND le.address = r.address),
       coalesce(sum(greatest(0, extract(epoch FROM r.finished_at - r.started_at))), 0),
       (array_agg(r.status ORDER BY r.id DESC))[1], max(r.finished_at),
       max(r.finished_at) FILTER (WHERE r.status = 'succeeded')
  FROM rsync.runs r, LATERAL rsync.run_backoffs(r.log) AS b
 WHERE r.status <> 'running'
 GROUP BY r.env, r.address
ON CONFLICT (env, address) DO NOTHING;
