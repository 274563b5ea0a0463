-- 0006_roles.sql: the least-privilege group roles: spoolkeeper_web (the FastCGI app) and spoolkeeper_worker.
--
-- Both are NOLOGIN group roles; a deployment makes its login roles members of them (ansible/, docs/operations.md).
-- Roles are cluster-wide, so this migration creates them only when they are missing.  Every later migration
-- that creates a table grants on it to these roles in the same file.
--
-- Forward-only: never edit once applied.

-- Two databases of one cluster migrating at once may both see a role missing: the loser's error is ignored.
DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['spoolkeeper_web', 'spoolkeeper_worker'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			BEGIN
				EXECUTE format('CREATE ROLE %I NOLOGIN', r);
			EXCEPTION WHEN duplicate_object OR unique_violation THEN
				NULL;
			END;
		END IF;
	END LOOP;
END
$$;

-- What each role may do, derived from the SQL in fcgi-app/ and worker/ (docs/security.md, "Database roles").
-- Migrations and the admin commands (migrate, user, setup-token, printer, tray, key) run as the owner, who
-- owns every object and needs no grant.  Column lists say exactly which columns a role may change.

-- The database and the schema: only the two groups (and the owner) may connect and see the schema; nobody
-- else may create objects in it (PostgreSQL 15 no longer grants CREATE on public, older clusters did).
DO $$
BEGIN
	EXECUTE format('GRANT CONNECT ON DATABASE %I TO spoolkeeper_web, spoolkeeper_worker', current_database());
	EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE USAGE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO spoolkeeper_web, spoolkeeper_worker;

-- Functions are executable by PUBLIC by default.  The two SECURITY DEFINER outbox actions change the outbox
-- with the owner's rights: only the web app may call them.  The lease functions are the worker's; the
-- visibility helpers the web app's.  The pure helpers (sk_finite, tray_valid, tray_label) stay public.
REVOKE EXECUTE ON FUNCTION outbox_retry(bigint), outbox_discard(bigint, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION lease_acquire(bigint, text, interval), lease_renew(bigint, bigint, interval),
    lease_release(bigint, bigint), lease_assert(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION user_printer_level(bigint, bigint), visible_printers(bigint) FROM PUBLIC;

------------------------------------------------------------------------------------------------------------------
-- spoolkeeper_web: the FastCGI app (fcgi-app/)
------------------------------------------------------------------------------------------------------------------

-- Accounts and sessions: no DELETE on users (disabled, never deleted); setup tokens are made by the CLI.
GRANT SELECT, INSERT ON users TO spoolkeeper_web;
GRANT UPDATE (display_name, role, disabled, password_hash, last_login_at) ON users TO spoolkeeper_web;
GRANT SELECT, INSERT, DELETE ON sessions TO spoolkeeper_web;
GRANT UPDATE (seen_at) ON sessions TO spoolkeeper_web;
GRANT SELECT ON setup_tokens TO spoolkeeper_web;
GRANT UPDATE (used_at) ON setup_tokens TO spoolkeeper_web;
GRANT SELECT, INSERT ON auth_events TO spoolkeeper_web;
GRANT SELECT, INSERT, DELETE ON printer_access TO spoolkeeper_web;
GRANT UPDATE (level) ON printer_access TO spoolkeeper_web;

-- Printers (admin pages), trays, settings, the spool cache.
GRANT SELECT, INSERT, DELETE ON printers TO spoolkeeper_web;
GRANT UPDATE (name, host, serial, access_code, access_code_enc, model, mqtt_port, ftps_port, insecure_tls,
    enabled, owner_id) ON printers TO spoolkeeper_web;
GRANT SELECT, INSERT ON tray_assignments TO spoolkeeper_web;
GRANT UPDATE (valid_to) ON tray_assignments TO spoolkeeper_web;
GRANT SELECT, INSERT, DELETE ON settings TO spoolkeeper_web;
GRANT UPDATE (value) ON settings TO spoolkeeper_web;
GRANT SELECT, INSERT ON spool_cache TO spoolkeeper_web;
GRANT UPDATE (spool, fetched_at) ON spool_cache TO spoolkeeper_web;

-- What the worker writes, read-only: the web app may only say whose a print is (print_jobs.user_id) and act on
-- the outbox through outbox_retry()/outbox_discard().
GRANT SELECT ON print_jobs, job_filaments, usage_ledger, spoolman_outbox, worker_leases, worker_heartbeats,
    printer_status TO spoolkeeper_web;
GRANT UPDATE (user_id) ON print_jobs TO spoolkeeper_web;
GRANT EXECUTE ON FUNCTION outbox_retry(bigint), outbox_discard(bigint, text) TO spoolkeeper_web;
GRANT EXECUTE ON FUNCTION user_printer_level(bigint, bigint), visible_printers(bigint) TO spoolkeeper_web;

------------------------------------------------------------------------------------------------------------------
-- spoolkeeper_worker: spoolkeeper-worker (worker/); nothing of users, sessions, setup_tokens, auth_events,
-- printer_access
------------------------------------------------------------------------------------------------------------------

GRANT SELECT ON printers, tray_assignments, settings TO spoolkeeper_worker;
GRANT SELECT, INSERT ON print_jobs TO spoolkeeper_worker;
-- Not user_id (whose print it is: the printer's owner by trigger, then the web app).
GRANT UPDATE (state, ended_at, reported_layer, checkpoint_percent, checkpoint_layer, partial_charged, planned_at,
    layer_count, plate, member, error) ON print_jobs TO spoolkeeper_worker;
GRANT SELECT, INSERT ON job_filaments TO spoolkeeper_worker;
GRANT UPDATE (tray) ON job_filaments TO spoolkeeper_worker;
GRANT SELECT, INSERT ON job_plan_layers, job_plan_marks TO spoolkeeper_worker;
-- The ledger is append-only (usage_ledger_guard); the outbox is the worker's to drain.
GRANT SELECT, INSERT ON usage_ledger TO spoolkeeper_worker;
GRANT SELECT, INSERT, UPDATE ON spoolman_outbox TO spoolkeeper_worker;
GRANT USAGE ON SEQUENCE spoolman_claim_seq TO spoolkeeper_worker;
GRANT SELECT, INSERT, UPDATE ON worker_leases, worker_heartbeats, printer_status TO spoolkeeper_worker;
GRANT USAGE ON SEQUENCE worker_lease_token_seq TO spoolkeeper_worker;
GRANT EXECUTE ON FUNCTION lease_acquire(bigint, text, interval), lease_renew(bigint, bigint, interval),
    lease_release(bigint, bigint), lease_assert(bigint, bigint) TO spoolkeeper_worker;
GRANT SELECT ON spool_cache TO spoolkeeper_worker;
GRANT UPDATE (spool, fetched_at) ON spool_cache TO spoolkeeper_worker;
