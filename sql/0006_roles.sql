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

-- The grants on the tables of 0001-0005 follow (written by the Ansible/least-privilege work).
