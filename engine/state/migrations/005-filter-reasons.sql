-- A run counts its filtered records per reason their mapping gave ({ "$filter": "<reason>" }, engine/mapping/filter.ts):
-- reason → count. filtered minus their sum gave no reason (a mapping that returned nothing).
ALTER TABLE rsync.runs ADD COLUMN IF NOT EXISTS filtered_by jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Two reason → count objects summed (a page's counts added to its run's, in the page's transaction).
CREATE OR REPLACE FUNCTION rsync.add_counts(a jsonb, b jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(k, n), '{}'::jsonb)
    FROM (SELECT key AS k, sum(value::bigint) AS n
            FROM (SELECT key, value FROM jsonb_each_text(a) UNION ALL SELECT key, value FROM jsonb_each_text(b)) AS u
           GROUP BY key) AS t
$$;
