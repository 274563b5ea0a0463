-- 0009_forecast.sql: the runout forecast of each running print (preflight snapshot and current figures) and the
-- durable queue of webhook notifications (spool_runout_forecast, print_failed, outbox_needs_review).
--
-- docs/smart-trays.md, "Preflight and runout forecast" and "Webhooks", explains both.  Forward-only: never edit
-- once applied.

------------------------------------------------------------------------------------------------------------------
-- Runout forecast
------------------------------------------------------------------------------------------------------------------

-- Preflight: what a spool held when the worker looked, once per job and spool (a spool mapped later in the print
-- gets its row then).  remaining_g is Spoolman's remaining_weight (GET /api/v1/spool/{id}), else the spool_cache
-- copy's, minus the job's uses still in the outbox (not yet in Spoolman's figure); NULL when neither source knew
-- (the forecast then says "unknown", never a guess).  from_layer: the first layer not yet charged at that moment,
-- so the snapshot covers the layers from_layer onward.
CREATE TABLE job_forecast_spools (
	job_id		bigint NOT NULL REFERENCES print_jobs (id) ON DELETE CASCADE,
	spool_id	integer NOT NULL
	    CONSTRAINT job_forecast_spools_spool_check CHECK (spool_id > 0),
	remaining_g	double precision
	    CONSTRAINT job_forecast_spools_remaining_check CHECK (sk_finite(remaining_g)
		AND remaining_g BETWEEN -1000000 AND 1000000),
	source		text
	    CONSTRAINT job_forecast_spools_source_check CHECK (source IN ('spoolman', 'cache')),
	from_layer	integer NOT NULL
	    CONSTRAINT job_forecast_spools_from_check CHECK (from_layer BETWEEN 0 AND 1000001),
	fetched_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (job_id, spool_id),
	CONSTRAINT job_forecast_spools_known_check CHECK ((remaining_g IS NULL) = (source IS NULL))
);

-- The current forecast of a job, as the status JSON shows it ("forecast", docs/api.md): rewritten by the worker as
-- layers are charged.  checkpoint_layer: the job's checkpoint it was computed at.
CREATE TABLE job_forecasts (
	job_id		bigint PRIMARY KEY REFERENCES print_jobs (id) ON DELETE CASCADE,
	forecast	jsonb NOT NULL
	    CONSTRAINT job_forecasts_forecast_check CHECK (jsonb_typeof(forecast) = 'object'),
	checkpoint_layer integer NOT NULL,
	computed_at	timestamptz NOT NULL DEFAULT now()
);

------------------------------------------------------------------------------------------------------------------
-- Webhooks
------------------------------------------------------------------------------------------------------------------

-- The settings webhook_url (http or https), webhook_secret (encrypted, purpose settings.webhook_secret) and
-- webhook_events (a comma-separated subset of the three events; missing: all of them).
ALTER TABLE settings ADD CONSTRAINT settings_webhook_url_check CHECK (key <> 'webhook_url'
    OR value ~ '^https?://[^[:space:][:cntrl:]]+$');
ALTER TABLE settings ADD CONSTRAINT settings_webhook_events_check CHECK (key <> 'webhook_events'
    OR value ~ '^((spool_runout_forecast|print_failed|outbox_needs_review)(,|$))*$');

-- One notification to deliver.  pending (due at next_attempt_at) -> inflight (claimed, lease committed before the
-- HTTP call) -> delivered | failed (gave up after the worker's maximum of attempts, logged).  An inflight row whose
-- lease expired (the worker died mid-call) is pending again: webhooks are delivered at least once, and the body's
-- "id" lets a receiver drop a repeat.  dedupe_key makes an event once per what it is about (one runout per job and
-- spool, one failure per job, one review per outbox claim).
CREATE TABLE webhook_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event		text NOT NULL
	    CONSTRAINT webhook_events_event_check CHECK (event IN ('spool_runout_forecast', 'print_failed',
		'outbox_needs_review')),
	dedupe_key	text NOT NULL
	    CONSTRAINT webhook_events_dedupe_key UNIQUE
	    CONSTRAINT webhook_events_dedupe_check CHECK (length(dedupe_key) BETWEEN 1 AND 256),
	body		jsonb NOT NULL
	    CONSTRAINT webhook_events_body_check CHECK (jsonb_typeof(body) = 'object'),
	state		text NOT NULL DEFAULT 'pending'
	    CONSTRAINT webhook_events_state_check CHECK (state IN ('pending', 'inflight', 'delivered', 'failed')),
	attempts	integer NOT NULL DEFAULT 0
	    CONSTRAINT webhook_events_attempts_check CHECK (attempts >= 0),
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	claimed_by	text CONSTRAINT webhook_events_claimed_by_check CHECK (length(claimed_by) <= 256),
	lease_until	timestamptz,
	last_status	integer,
	last_error	text CONSTRAINT webhook_events_last_error_check CHECK (length(last_error) <= 4096),
	created_at	timestamptz NOT NULL DEFAULT now(),
	delivered_at	timestamptz,
	CONSTRAINT webhook_events_inflight_check CHECK (state <> 'inflight' OR lease_until IS NOT NULL),
	CONSTRAINT webhook_events_delivered_check CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);

CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE state IN ('pending', 'inflight');

-- True when a webhook URL is set and the event is among webhook_events (all when that setting is missing).
CREATE FUNCTION webhook_wanted(p_event text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
	SELECT EXISTS (SELECT 1 FROM settings WHERE key = 'webhook_url')
	   AND coalesce((SELECT p_event = ANY (string_to_array(value, ',')) FROM settings
		WHERE key = 'webhook_events'), true)
$$;

-- The printer and job parts of a body.
CREATE FUNCTION webhook_job_json(p_job bigint) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
	SELECT jsonb_build_object(
	    'printer', jsonb_build_object('id', p.id, 'name', p.name, 'model', p.model, 'serial', p.serial),
	    'job', jsonb_build_object('id', j.id, 'name', coalesce(j.subtask_name, j.gcode_file), 'state', j.state,
		'started_at', j.started_at, 'ended_at', j.ended_at, 'layer_count', j.layer_count,
		'reported_layer', j.reported_layer, 'checkpoint_layer', j.checkpoint_layer, 'error', j.error))
	  FROM print_jobs j JOIN printers p ON p.id = j.printer_id
	 WHERE j.id = p_job
$$;

-- Queues an event when it is wanted, once per dedupe key: {"event", "created_at", ...p_body}.  Returns true when a
-- row was queued.  The worker calls it for spool_runout_forecast; the triggers below for the other two.
CREATE FUNCTION webhook_enqueue(p_event text, p_key text, p_body jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
	IF NOT webhook_wanted(p_event) THEN
		RETURN false;
	END IF;
	INSERT INTO webhook_events (event, dedupe_key, body)
	    VALUES (p_event, p_key, jsonb_build_object('event', p_event, 'created_at', now()) || p_body)
	    ON CONFLICT ON CONSTRAINT webhook_events_dedupe_key DO NOTHING;
	RETURN FOUND;
END
$$;

-- print_failed: a job that becomes failed (not cancelled by the user), once per job.
CREATE FUNCTION print_jobs_webhook() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
	PERFORM webhook_enqueue('print_failed', 'print_failed:' || NEW.id, webhook_job_json(NEW.id));
	RETURN NULL;
END
$$;

CREATE TRIGGER print_jobs_webhook AFTER UPDATE OF state ON print_jobs
    FOR EACH ROW WHEN (NEW.state = 'failed' AND OLD.state IS DISTINCT FROM 'failed')
    EXECUTE FUNCTION print_jobs_webhook();

-- outbox_needs_review: rows that become needs_review.  The drain sends a spool's due rows as one claim, so the
-- rows of one claim make one event (outbox.ids lists them, use_g adds up) while it has not been sent yet.
CREATE FUNCTION spoolman_outbox_webhook() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
	v_job	bigint;
	v_key	text := 'outbox_needs_review:' || NEW.spool_id || ':' || coalesce(NEW.claim_token::text,
		    'row' || NEW.id);
BEGIN
	IF NOT webhook_wanted('outbox_needs_review') THEN
		RETURN NULL;
	END IF;
	SELECT job_id INTO v_job FROM usage_ledger WHERE id = NEW.ledger_id;
	INSERT INTO webhook_events AS w (event, dedupe_key, body)
	    VALUES ('outbox_needs_review', v_key, jsonb_build_object('event', 'outbox_needs_review',
		'created_at', now(), 'outbox', jsonb_build_object('ids', jsonb_build_array(NEW.id),
		    'spool_id', NEW.spool_id, 'use_g', NEW.use_g, 'use_mm', NEW.use_mm, 'attempts', NEW.attempts,
		    'last_error', NEW.last_error))
		|| coalesce(webhook_job_json(v_job), jsonb_build_object('printer', NULL, 'job', NULL)))
	    ON CONFLICT ON CONSTRAINT webhook_events_dedupe_key DO UPDATE
		SET body = jsonb_set(jsonb_set(w.body, '{outbox,ids}', (w.body #> '{outbox,ids}') || to_jsonb(NEW.id)),
		    '{outbox,use_g}', CASE WHEN NEW.use_g IS NULL OR jsonb_typeof(w.body #> '{outbox,use_g}') <> 'number'
			THEN 'null'::jsonb ELSE to_jsonb((w.body #>> '{outbox,use_g}')::float8 + NEW.use_g) END)
		WHERE w.state = 'pending' AND w.attempts = 0;
	RETURN NULL;
END
$$;

CREATE TRIGGER spoolman_outbox_webhook AFTER UPDATE OF state ON spoolman_outbox
    FOR EACH ROW WHEN (NEW.state = 'needs_review' AND OLD.state IS DISTINCT FROM 'needs_review')
    EXECUTE FUNCTION spoolman_outbox_webhook();

------------------------------------------------------------------------------------------------------------------
-- Grants: the web app reads forecasts and the queue (the admin's view); the worker writes both.
------------------------------------------------------------------------------------------------------------------

GRANT SELECT ON job_forecast_spools, job_forecasts, webhook_events TO spoolkeeper_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON job_forecast_spools, job_forecasts TO spoolkeeper_worker;
GRANT SELECT, INSERT, UPDATE ON webhook_events TO spoolkeeper_worker;
-- The queue's functions run as their owner (SECURITY DEFINER): only the worker may call them directly.
REVOKE EXECUTE ON FUNCTION webhook_enqueue(text, text, jsonb), webhook_wanted(text), webhook_job_json(bigint),
    print_jobs_webhook(), spoolman_outbox_webhook() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_enqueue(text, text, jsonb), webhook_wanted(text), webhook_job_json(bigint)
    TO spoolkeeper_worker;
