-- 0006_roles.sql: the least-privilege group roles: spoolkeeper_web (the FastCGI app) and spoolkeeper_worker.
--
-- Both are NOLOGIN group roles; a deployment makes its login roles members of them (ansible/, docs/operations.md).
-- Roles are cluster-wide, so this migration creates them only when they are missing.  Every later migration
-- that creates a table grants on it to these roles in the same file.
--
-- Forward-only: never edit once applied.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'spoolkeeper_web') THEN
		CREATE ROLE spoolkeeper_web NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'spoolkeeper_worker') THEN
		CREATE ROLE spoolkeeper_worker NOLOGIN;
	END IF;
END
$$;

-- The grants on the tables of 0001-0005 follow (written by the Ansible/least-privilege work).
