-- 0010_conn_errors.sql: plain-words connection problems: a printer's last one, and Spoolman's reachability.
--
-- printer_status.connection_error is what the worker last failed to connect to the printer with, as
-- {"kind": "auth"|"tls"|"unreachable", "message": text, "since": timestamptz}, or NULL once it is connected
-- (worker/conn_error.c writes it; the row is made for a printer that never answered).  spoolman_health is a single
-- row the outbox thread (worker/outbox.c) updates when Spoolman starts or stops failing: ok (NULL until a first
-- request told), the error text, since when, and when it last answered.  docs/api.md ("Live status") shows both.
--
-- Forward-only: never edit once applied.

ALTER TABLE printer_status ADD COLUMN connection_error jsonb
    CONSTRAINT printer_status_connection_error_check CHECK (connection_error IS NULL
        OR (jsonb_typeof(connection_error) = 'object'
            AND connection_error->>'kind' IN ('auth', 'tls', 'unreachable')
            AND jsonb_typeof(connection_error->'message') = 'string'));

CREATE TABLE spoolman_health (
	id		boolean PRIMARY KEY DEFAULT true CONSTRAINT spoolman_health_one_row CHECK (id),
	ok		boolean,
	error		text CONSTRAINT spoolman_health_error_check CHECK (length(error) <= 2000),
	since		timestamptz,		-- when ok last changed
	last_ok_at	timestamptz,		-- the last time Spoolman answered
	updated_at	timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT ON spoolman_health TO spoolkeeper_web;
GRANT SELECT, INSERT, UPDATE ON spoolman_health TO spoolkeeper_worker;
