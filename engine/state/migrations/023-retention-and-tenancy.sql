-- Retention (engine/state/retention.ts) and row-level security for queries made on behalf of one customer
-- (engine/state/tenancy.ts).
--
-- Retention deletes, in small batches, what is older than a flow's policy keeps: finished runs (their log is a
-- column of the run), finished webhook deliveries, resolved dead letters and ledger rows. These indexes let each
-- batch find its rows by age without a scan. (runs_finished and deliveries_done exist since 012.)
CREATE INDEX IF NOT EXISTS ledger_by_age ON rsync.ledger (env, updated_at);
CREATE INDEX IF NOT EXISTS dead_letters_resolved ON rsync.dead_letters (env, resolved_at) WHERE status <> 'open';
CREATE INDEX IF NOT EXISTS dead_letters_open_keys ON rsync.dead_letters (env, address, key) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS dead_letters_open_runs ON rsync.dead_letters (run_id) WHERE status = 'open';

-- Row-level security. Queries for a customer viewer (the console) and a customer's report run as the role
-- rsync_tenant (SET LOCAL ROLE, inside a transaction) with the setting rsync.customer naming the customer: the
-- policies below then show that customer's rows only, whatever the query asks for. Every other role — the engine
-- itself, which owns these tables and so bypasses row-level security anyway, or another login a partner uses —
-- sees every row (the policy `engine`): nothing changes for the worker, plan or apply.
--
-- The role is created when the user that migrates may create roles (a superuser, or CREATEROLE, as the embedded
-- PostgreSQL's is); otherwise a notice says so and customer-scoped queries fall back to their SQL filters alone
-- (engine/state/tenancy.ts reports which). Roles belong to the whole server, so several databases share it.
DO $$
BEGIN
  BEGIN
    CREATE ROLE rsync_tenant NOLOGIN NOINHERIT NOBYPASSRLS;
  EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
      RAISE NOTICE 'rsync: the role rsync_tenant cannot be created by %: customer views fall back to SQL filters', current_user;
      RETURN;
  END;
  BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
      EXECUTE format('GRANT rsync_tenant TO %I', current_user);
    END IF;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE NOTICE 'rsync: % cannot be granted rsync_tenant: customer views fall back to SQL filters', current_user;
  END;
  GRANT USAGE ON SCHEMA rsync TO rsync_tenant;
  GRANT SELECT ON rsync.resources, rsync.revisions, rsync.blobs, rsync.runs, rsync.cursors, rsync.ledger,
    rsync.dead_letters, rsync.deliveries, rsync.backfills, rsync.backfill_windows, rsync.sla_events,
    rsync.run_totals, rsync.flow_pauses, rsync.apply_log, rsync.quota_usage TO rsync_tenant;
END $$;

-- The customer a scoped query is made for ('' or null: none, and so no rows).
CREATE OR REPLACE FUNCTION rsync.scoped_customer() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('rsync.customer', true), '') $$;

-- Tables keyed by a customer column, or by an address whose first part is the customer (<customer>/flow/<name>).
-- The partner's own resources (workspace/… and templates/…: policies, SLAs and templates a customer's flows use)
-- are visible to every customer, as they are in its flows' definitions.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT * FROM (VALUES
      ('resources',   'customer = rsync.scoped_customer() OR customer IS NULL'),
      ('revisions',   'split_part(address, ''/'', 1) IN (rsync.scoped_customer(), ''workspace'', ''templates'')'),
      ('runs',        'split_part(address, ''/'', 1) = rsync.scoped_customer()'),
      ('cursors',     'split_part(address, ''/'', 1) = rsync.scoped_customer()'),
      ('ledger',      'split_part(address, ''/'', 1) = rsync.scoped_customer()'),
      ('dead_letters','customer = rsync.scoped_customer()'),
      ('deliveries',  'split_part(address, ''/'', 1) = rsync.scoped_customer()'),
      ('backfills',   'split_part(address, ''/'', 1) = rsync.scoped_customer()'),
      ('backfill_windows', 'EXISTS (SELECT 1 FROM rsync.backfills b WHERE b.id = backfill_id)'),
      ('sla_events',  'customer = rsync.scoped_customer()'),
      ('run_totals',  'split_part(address, ''/'', 1) = rsync.scoped_customer()'),
      ('flow_pauses', 'split_part(address, ''/'', 1) = rsync.scoped_customer()'),
      -- records:<customer> and calls:<customer>/<connection>
      ('quota_usage', 'split_part(split_part(scope, '':'', 2), ''/'', 1) = rsync.scoped_customer()'),
      -- A mapping's text, when a visible resource names it.
      ('blobs',       'EXISTS (SELECT 1 FROM rsync.resources r WHERE r.spec->''mapping''->>''sha256'' = sha256)
                       OR EXISTS (SELECT 1 FROM rsync.revisions v WHERE v.spec->''mapping''->>''sha256'' = sha256)'),
      -- An apply or promotion that changed one of the customer's resources.
      ('apply_log',   'EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(detail->''changes'') = ''array''
                       THEN detail->''changes'' ELSE ''[]''::jsonb END) c
                       WHERE split_part(regexp_replace(c, ''^.* '', ''''), ''/'', 1) = rsync.scoped_customer())')
    ) AS v(name, rule)
  LOOP
    EXECUTE format('ALTER TABLE rsync.%I ENABLE ROW LEVEL SECURITY', t.name);
    EXECUTE format('DROP POLICY IF EXISTS engine ON rsync.%I', t.name);
    EXECUTE format('CREATE POLICY engine ON rsync.%I USING (current_user <> ''rsync_tenant'') WITH CHECK (current_user <> ''rsync_tenant'')', t.name);
    EXECUTE format('DROP POLICY IF EXISTS tenant ON rsync.%I', t.name);
    EXECUTE format('CREATE POLICY tenant ON rsync.%I FOR SELECT USING (current_user = ''rsync_tenant'' AND (%s))', t.name, t.rule);
  END LOOP;
END $$;
