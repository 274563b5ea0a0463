-- 0007_metrics.sql: the worker's event counters (MQTT connects, Spoolman errors...), which GET /metrics adds up.
--
-- Each worker process upserts its own row together with its heartbeat (worker/fleet.c): counters is a JSON object
-- of whole numbers that only grow while the process lives (worker/counters.h names the keys).  A restarted worker
-- has a new worker_id and so a new row; rows are kept, so the sum over all rows only grows, as a Prometheus counter
-- must.  The web app only reads.  docs/operations.md ("Metrics") lists what each key counts.
--
-- Forward-only: never edit once applied.

CREATE TABLE worker_metrics (
	worker_id	text PRIMARY KEY
	    CONSTRAINT worker_metrics_worker_check CHECK (length(worker_id) BETWEEN 1 AND 256),
	counters	jsonb NOT NULL DEFAULT '{}'
	    CONSTRAINT worker_metrics_counters_check CHECK (jsonb_typeof(counters) = 'object'),
	started_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT ON worker_metrics TO spoolkeeper_web;
GRANT SELECT, INSERT, UPDATE ON worker_metrics TO spoolkeeper_worker;
