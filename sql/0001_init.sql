-- 0001_init.sql: the Spoolkeeper schema: printers, trays, print jobs and their plans, the usage ledger, the
-- Spoolman outbox, worker leases and heartbeats, settings and live printer status (docs/sql.md explains each).
--
-- Forward-only: once this file has been applied anywhere it is never edited (`spoolkeeper migrate` compares
-- checksums and refuses); changes go into a new sql/NNNN_<what>.sql.  `spoolkeeper migrate` runs the file in one
-- transaction, so it must not contain BEGIN, COMMIT or anything that cannot run inside a transaction block.
--
-- Limits in CHECK constraints are sanity fences, not physics: they keep NaN, infinities and absurd figures out,
-- so nothing absurd can ever be sent to Spoolman.  Per-layer figures may be slightly negative: the engine charges
-- a firmware long retraction (M620.11 ... E-d, docs/gcode.md rule P4) to the layer it happens in, and that
-- filament is re-extruded, and charged, in a later layer; the layers of a filament add up to its exact total.

-- btree_gist gives GiST indexes on plain scalars, for the exclusion constraints below (a tray and a spool have
-- non-overlapping assignment periods; one request in flight per spool).  It is a trusted extension (PG 13+),
-- shipped with Debian's postgresql-15 package.
CREATE EXTENSION IF NOT EXISTS btree_gist;

------------------------------------------------------------------------------------------------------------------
-- Helper functions
------------------------------------------------------------------------------------------------------------------

-- True when x is a finite number: not NaN, not +/-Infinity.  (In PostgreSQL NaN compares greater than every
-- number, so a bare range check would already refuse it; this says so explicitly.)
CREATE FUNCTION sk_finite(x double precision) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT x <> 'NaN'::float8 AND x <> 'Infinity'::float8 AND x <> '-Infinity'::float8 $$;

-- True when t is a tray id as the printer numbers them: ams_id * 4 + slot for AMS / AMS Lite / AMS 2 Pro units
-- (0..127), AMS HT units (128..191, one slot each), external spool holders 254 (left/deputy) and 255 (main).
CREATE FUNCTION tray_valid(t integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT t BETWEEN 0 AND 191 OR t IN (254, 255) $$;

-- A human name for a tray id: 'AMS 1 slot 2' (tray 1), 'AMS HT 1' (128), 'external 254', 'external 255'.
CREATE FUNCTION tray_label(t integer) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
	SELECT CASE
	    WHEN t BETWEEN 0 AND 127 THEN 'AMS ' || (t / 4 + 1) || ' slot ' || (t % 4 + 1)
	    WHEN t BETWEEN 128 AND 191 THEN 'AMS HT ' || (t - 127)
	    WHEN t IN (254, 255) THEN 'external ' || t
	END
    $$;

-- BEFORE UPDATE trigger: keeps updated_at current.
CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

------------------------------------------------------------------------------------------------------------------
-- Printers
------------------------------------------------------------------------------------------------------------------

CREATE TABLE printers (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- Names are never all digits, so `spoolkeeper tray set PRINTER` can take a name or an id.
	name		text NOT NULL
	    CONSTRAINT printers_name_check CHECK (length(name) BETWEEN 1 AND 64 AND name = btrim(name)
		AND name !~ '^[0-9]+$' AND name !~ '[[:cntrl:]]'),
	-- The serial is the MQTT topic (device/<serial>/report) and the name in the printer's TLS certificate.
	serial		text NOT NULL
	    CONSTRAINT printers_serial_check CHECK (serial ~ '^[A-Za-z0-9]{1,64}$'),
	-- A host name, an IPv4 or an IPv6 literal; never a URL.
	host		text NOT NULL
	    CONSTRAINT printers_host_check CHECK (length(host) BETWEEN 1 AND 253 AND host ~ '^[A-Za-z0-9._:%-]+$'),
	-- The LAN access code, the MQTT and FTPS password.  Plain text for now: issue 4 stores it encrypted
	-- (an AEAD with the key outside the database) and changes this column in a new migration.
	access_code	text NOT NULL
	    CONSTRAINT printers_access_code_check CHECK (length(access_code) BETWEEN 1 AND 256
		AND access_code !~ '[[:cntrl:]]'),
	model		text
	    CONSTRAINT printers_model_check CHECK (length(model) BETWEEN 1 AND 64 AND model !~ '[[:cntrl:]]'),
	mqtt_port	integer NOT NULL DEFAULT 8883
	    CONSTRAINT printers_mqtt_port_check CHECK (mqtt_port BETWEEN 1 AND 65535),
	ftps_port	integer NOT NULL DEFAULT 990
	    CONSTRAINT printers_ftps_port_check CHECK (ftps_port BETWEEN 1 AND 65535),
	-- Skip the check of the printer's certificate (odd firmware only): the worker then trusts any peer.
	insecure_tls	boolean NOT NULL DEFAULT false,
	enabled		boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- Unique regardless of case: "P1S" and "p1s" would be the same printer to a person, and serials are printed in
-- upper case on the printer but typed by hand.
CREATE UNIQUE INDEX printers_name_key ON printers (lower(name));
CREATE UNIQUE INDEX printers_serial_key ON printers (upper(serial));

CREATE TRIGGER printers_updated_at BEFORE UPDATE ON printers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The worker LISTENs on spoolkeeper_printers to start, stop or reconnect a printer without a restart.
-- Payload: the printer id.
CREATE FUNCTION printers_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	PERFORM pg_notify('spoolkeeper_printers',
	    (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
	RETURN NULL;
END
$$;

CREATE TRIGGER printers_notify AFTER INSERT OR UPDATE OR DELETE ON printers
    FOR EACH ROW EXECUTE FUNCTION printers_notify();

------------------------------------------------------------------------------------------------------------------
-- Tray assignments: which Spoolman spool was in which tray, from when to when
------------------------------------------------------------------------------------------------------------------

-- An open assignment has valid_to NULL.  Changing a tray closes the open row (valid_to = now()) and inserts a new
-- one, so the history stays complete; the usage of a layer goes to the assignment valid when it was printed:
--   SELECT spool_id FROM tray_assignments
--    WHERE printer_id = $1 AND tray = $2 AND tstzrange(valid_from, valid_to) @> $3::timestamptz;
CREATE TABLE tray_assignments (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	printer_id	bigint NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
	tray		integer NOT NULL
	    CONSTRAINT tray_assignments_tray_check CHECK (tray_valid(tray)),
	spool_id	integer NOT NULL		-- Spoolman spool id
	    CONSTRAINT tray_assignments_spool_check CHECK (spool_id > 0),
	valid_from	timestamptz NOT NULL DEFAULT now(),
	valid_to	timestamptz,
	CONSTRAINT tray_assignments_period_check CHECK (valid_to IS NULL OR valid_to >= valid_from),
	-- A tray holds one spool at a time, and a spool sits in one tray (of any printer) at a time.
	CONSTRAINT tray_assignments_tray_excl EXCLUDE USING gist
	    (printer_id WITH =, tray WITH =, tstzrange(valid_from, valid_to) WITH &&),
	CONSTRAINT tray_assignments_spool_excl EXCLUDE USING gist
	    (spool_id WITH =, tstzrange(valid_from, valid_to) WITH &&)
);

-- The same rule for the open rows, as plain unique indexes (fast lookups of "what is in this tray now").
CREATE UNIQUE INDEX tray_assignments_open_tray ON tray_assignments (printer_id, tray) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX tray_assignments_open_spool ON tray_assignments (spool_id) WHERE valid_to IS NULL;

------------------------------------------------------------------------------------------------------------------
-- Print jobs, their filaments and the engine's plan
------------------------------------------------------------------------------------------------------------------

-- One print on one printer.  job_key is the worker's stable identity of the print (from task_id/subtask_id, or for
-- a print started on the printer itself from what identifies it), so a replayed FINISH, a power cycle or a
-- reconnect finds the same row instead of starting a new job.
--
-- checkpoint_layer: every layer <= checkpoint_layer has been charged to the ledger (-1: none yet).  The worker
-- raises it in the same transaction as the ledger rows it covers.  checkpoint_percent: the highest mc_percent the
-- printer reported for this job, kept so that a cancel (which resets layer_num and mc_percent to 0) can still
-- charge the part of the current layer that was printed.  Neither ever decreases (print_jobs_monotonic below).
CREATE TABLE print_jobs (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	printer_id	bigint NOT NULL REFERENCES printers (id) ON DELETE RESTRICT,
	job_key		text NOT NULL
	    CONSTRAINT print_jobs_job_key_check CHECK (length(job_key) BETWEEN 1 AND 256),
	task_id		text CONSTRAINT print_jobs_task_id_check CHECK (length(task_id) <= 64),
	subtask_id	text CONSTRAINT print_jobs_subtask_id_check CHECK (length(subtask_id) <= 64),
	subtask_name	text CONSTRAINT print_jobs_subtask_name_check CHECK (length(subtask_name) <= 1024),
	gcode_file	text CONSTRAINT print_jobs_gcode_file_check CHECK (length(gcode_file) <= 1024),
	file_url	text CONSTRAINT print_jobs_file_url_check CHECK (length(file_url) <= 4096),
	plate		integer				-- 1-based plate; 0 for a plain .gcode
	    CONSTRAINT print_jobs_plate_check CHECK (plate BETWEEN 0 AND 1000),
	member		text CONSTRAINT print_jobs_member_check CHECK (length(member) <= 1024),
	-- The mapping the worker used: a JSON array indexed by slicer filament, value = tray id or -1 (unmapped).
	ams_mapping	jsonb
	    CONSTRAINT print_jobs_ams_mapping_check CHECK (jsonb_typeof(ams_mapping) = 'array'),
	use_ams		boolean,
	flow_cali	boolean,
	state		text NOT NULL DEFAULT 'preparing'
	    CONSTRAINT print_jobs_state_check CHECK (state IN ('preparing', 'running', 'paused',
		'finished', 'failed', 'cancelled', 'abandoned')),
	started_at	timestamptz NOT NULL DEFAULT now(),
	ended_at	timestamptz,
	-- Set when the plan (job_filaments, job_plan_layers, job_plan_marks) has been stored.
	planned_at	timestamptz,
	layer_count	integer
	    CONSTRAINT print_jobs_layer_count_check CHECK (layer_count BETWEEN 0 AND 1000000),
	checkpoint_layer integer NOT NULL DEFAULT -1
	    CONSTRAINT print_jobs_checkpoint_layer_check CHECK (checkpoint_layer BETWEEN -1 AND 1000000),
	checkpoint_percent integer
	    CONSTRAINT print_jobs_checkpoint_percent_check CHECK (checkpoint_percent BETWEEN 0 AND 100),
	error		text CONSTRAINT print_jobs_error_check CHECK (length(error) <= 4096),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT print_jobs_key UNIQUE (printer_id, job_key),
	-- finished, failed, cancelled and abandoned (the worker lost track of it) are the ended states.
	CONSTRAINT print_jobs_ended_check CHECK ((state IN ('finished', 'failed', 'cancelled', 'abandoned'))
	    = (ended_at IS NOT NULL)),
	CONSTRAINT print_jobs_times_check CHECK (ended_at >= started_at),
	CONSTRAINT print_jobs_planned_check CHECK (planned_at IS NULL OR layer_count IS NOT NULL),
	CONSTRAINT print_jobs_checkpoint_check CHECK (checkpoint_layer <= layer_count)
);

-- A printer prints one thing at a time: at most one job per printer is not ended.
CREATE UNIQUE INDEX print_jobs_one_active ON print_jobs (printer_id)
    WHERE state IN ('preparing', 'running', 'paused');
CREATE INDEX print_jobs_printer_started ON print_jobs (printer_id, started_at DESC);

-- BEFORE UPDATE trigger of print_jobs: updated_at, and the checkpoint never goes back (a firmware reset of
-- layer_num or mc_percent, or a stale worker, must not undo what has been charged).
CREATE FUNCTION print_jobs_monotonic() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF NEW.checkpoint_layer < OLD.checkpoint_layer THEN
		RAISE EXCEPTION 'print job %: checkpoint_layer may not decrease (% to %)',
		    OLD.id, OLD.checkpoint_layer, NEW.checkpoint_layer
		    USING ERRCODE = 'check_violation', CONSTRAINT = 'print_jobs_checkpoint_monotonic';
	END IF;
	IF NEW.checkpoint_percent IS DISTINCT FROM OLD.checkpoint_percent
	    AND OLD.checkpoint_percent IS NOT NULL
	    AND (NEW.checkpoint_percent IS NULL OR NEW.checkpoint_percent < OLD.checkpoint_percent) THEN
		RAISE EXCEPTION 'print job %: checkpoint_percent may not decrease (% to %)',
		    OLD.id, OLD.checkpoint_percent, NEW.checkpoint_percent
		    USING ERRCODE = 'check_violation', CONSTRAINT = 'print_jobs_checkpoint_monotonic';
	END IF;
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

CREATE TRIGGER print_jobs_monotonic BEFORE UPDATE ON print_jobs
    FOR EACH ROW EXECUTE FUNCTION print_jobs_monotonic();

-- The filaments of a job as the engine reported them (one row per slicer filament index that extrudes), and
-- the tray the worker mapped each to (NULL: not known, e.g. a print started from the screen before its first
-- tray_now change).  mm is the physical total, slicer_mm the slicer's own figure, grams the planned weight.
CREATE TABLE job_filaments (
	job_id		bigint NOT NULL REFERENCES print_jobs (id) ON DELETE CASCADE,
	filament_index	integer NOT NULL	-- 0-based slicer filament (T<n>)
	    CONSTRAINT job_filaments_index_check CHECK (filament_index BETWEEN 0 AND 63),
	tray		integer CONSTRAINT job_filaments_tray_check CHECK (tray_valid(tray)),
	type		text CONSTRAINT job_filaments_type_check CHECK (length(type) <= 32),
	color		text CONSTRAINT job_filaments_color_check CHECK (length(color) <= 32),
	tray_info_idx	text CONSTRAINT job_filaments_tray_info_idx_check CHECK (length(tray_info_idx) <= 32),
	density		double precision	-- g/cm3; NULL when the file does not say
	    CONSTRAINT job_filaments_density_check CHECK (sk_finite(density) AND density > 0 AND density <= 30),
	diameter	double precision	-- mm; NULL when the file does not say
	    CONSTRAINT job_filaments_diameter_check CHECK (sk_finite(diameter) AND diameter > 0 AND diameter <= 10),
	mm		double precision NOT NULL
	    CONSTRAINT job_filaments_mm_check CHECK (sk_finite(mm) AND mm BETWEEN -10000 AND 100000000),
	slicer_mm	double precision
	    CONSTRAINT job_filaments_slicer_mm_check CHECK (sk_finite(slicer_mm)
		AND slicer_mm BETWEEN -10000 AND 100000000),
	grams		double precision
	    CONSTRAINT job_filaments_grams_check CHECK (sk_finite(grams) AND grams BETWEEN -1000 AND 1000000),
	PRIMARY KEY (job_id, filament_index)
);

-- The plan: mm of each filament in each layer (layer 0 = start gcode, then layers as the printer numbers
-- layer_num), exactly `spoolkeeper analyze --json`'s "layers".
CREATE TABLE job_plan_layers (
	job_id		bigint NOT NULL,
	layer		integer NOT NULL
	    CONSTRAINT job_plan_layers_layer_check CHECK (layer BETWEEN 0 AND 1000000),
	filament_index	integer NOT NULL,
	mm		double precision NOT NULL
	    CONSTRAINT job_plan_layers_mm_check CHECK (sk_finite(mm) AND mm BETWEEN -10000 AND 1000000),
	PRIMARY KEY (job_id, layer, filament_index),
	FOREIGN KEY (job_id, filament_index) REFERENCES job_filaments (job_id, filament_index) ON DELETE CASCADE
);

-- Progress marks: when the printer reported `percent` while printing `layer`, filament `filament_index` had
-- extruded `mm` within that layer (analyze --json's "progress").  seq is the mark's position in the file.
-- A failed or cancelled print is charged its whole layers plus the mark of the last percent reported:
--   SELECT filament_index, mm FROM job_plan_marks
--    WHERE job_id = $1 AND layer = $2 AND seq = (SELECT max(seq) FROM job_plan_marks
--        WHERE job_id = $1 AND layer = $2 AND percent <= $3);
CREATE TABLE job_plan_marks (
	job_id		bigint NOT NULL,
	seq		integer NOT NULL
	    CONSTRAINT job_plan_marks_seq_check CHECK (seq BETWEEN 0 AND 10000000),
	percent		integer NOT NULL
	    CONSTRAINT job_plan_marks_percent_check CHECK (percent BETWEEN 0 AND 100),
	layer		integer NOT NULL
	    CONSTRAINT job_plan_marks_layer_check CHECK (layer BETWEEN 0 AND 1000000),
	filament_index	integer NOT NULL,
	mm		double precision NOT NULL
	    CONSTRAINT job_plan_marks_mm_check CHECK (sk_finite(mm) AND mm BETWEEN -10000 AND 1000000),
	PRIMARY KEY (job_id, seq, filament_index),
	FOREIGN KEY (job_id, filament_index) REFERENCES job_filaments (job_id, filament_index) ON DELETE CASCADE
);

CREATE INDEX job_plan_marks_layer ON job_plan_marks (job_id, layer, percent);

------------------------------------------------------------------------------------------------------------------
-- The usage ledger: what was charged, per job, layer and filament
------------------------------------------------------------------------------------------------------------------

-- kind 'layer': the whole layer; 'partial': the part of the layer printed when the job failed or was cancelled,
-- up to the progress mark of `percent`.  UNIQUE (job_id, layer, filament_index, kind) makes charging a layer
-- twice impossible: the worker writes with ON CONFLICT ON CONSTRAINT usage_ledger_once DO NOTHING, so replays
-- and catch-up after a crash are no-ops.  (Should a job ever resume after a partial charge, the 'layer' row of
-- that layer carries the remainder, plan minus partial, so the pair still adds up to the layer once.)
--
-- spool_id NULL: the tray had no spool assigned (or the tray is unknown): recorded and shown, never dropped; it
-- may be filled in later (the only change a ledger row allows), together with its outbox row.
-- grams NULL: the file gave no density or diameter, only the length is known.
-- Rows are append-only: see usage_ledger_guard below.
CREATE TABLE usage_ledger (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	job_id		bigint NOT NULL REFERENCES print_jobs (id) ON DELETE RESTRICT,
	layer		integer NOT NULL
	    CONSTRAINT usage_ledger_layer_check CHECK (layer BETWEEN 0 AND 1000000),
	filament_index	integer NOT NULL,
	kind		text NOT NULL DEFAULT 'layer'
	    CONSTRAINT usage_ledger_kind_check CHECK (kind IN ('layer', 'partial')),
	percent		integer
	    CONSTRAINT usage_ledger_percent_check CHECK (percent BETWEEN 0 AND 100),
	tray		integer CONSTRAINT usage_ledger_tray_check CHECK (tray_valid(tray)),
	spool_id	integer CONSTRAINT usage_ledger_spool_check CHECK (spool_id > 0),
	mm		double precision NOT NULL
	    CONSTRAINT usage_ledger_mm_check CHECK (sk_finite(mm) AND mm BETWEEN -10000 AND 1000000),
	grams		double precision
	    CONSTRAINT usage_ledger_grams_check CHECK (sk_finite(grams) AND grams BETWEEN -100 AND 100000),
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT usage_ledger_once UNIQUE (job_id, layer, filament_index, kind),
	CONSTRAINT usage_ledger_partial_check CHECK ((kind = 'partial') = (percent IS NOT NULL)),
	FOREIGN KEY (job_id, filament_index) REFERENCES job_filaments (job_id, filament_index) ON DELETE RESTRICT
);

CREATE INDEX usage_ledger_spool ON usage_ledger (spool_id);
CREATE INDEX usage_ledger_created ON usage_ledger (created_at);

-- BEFORE UPDATE OR DELETE trigger of usage_ledger: a charge is history.  Rows are never deleted; the only
-- update allowed fills in an unknown spool_id (and tray).
CREATE FUNCTION usage_ledger_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'usage_ledger row % cannot be deleted: the ledger is append-only', OLD.id
		    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'usage_ledger_append_only';
	END IF;
	IF (NEW.id, NEW.job_id, NEW.layer, NEW.filament_index, NEW.kind, NEW.percent, NEW.mm, NEW.grams,
	    NEW.created_at) IS DISTINCT FROM (OLD.id, OLD.job_id, OLD.layer, OLD.filament_index, OLD.kind,
	    OLD.percent, OLD.mm, OLD.grams, OLD.created_at)
	    OR (OLD.spool_id IS NOT NULL AND NEW.spool_id IS DISTINCT FROM OLD.spool_id)
	    OR (OLD.tray IS NOT NULL AND NEW.tray IS DISTINCT FROM OLD.tray) THEN
		RAISE EXCEPTION 'usage_ledger row % cannot be changed: only an unknown spool_id or tray may be '
		    'filled in', OLD.id
		    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'usage_ledger_append_only';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER usage_ledger_guard BEFORE UPDATE OR DELETE ON usage_ledger
    FOR EACH ROW EXECUTE FUNCTION usage_ledger_guard();

------------------------------------------------------------------------------------------------------------------
-- The Spoolman outbox: uses to send with PUT /api/v1/spool/{id}/use
------------------------------------------------------------------------------------------------------------------

-- One row per ledger row that has a spool (ledger_id, UNIQUE: a ledger row is queued once), or an aggregated or
-- manual amount (ledger_id NULL).  Written in the same transaction as the ledger rows.
--
-- States: pending (due at next_attempt_at) -> inflight (claimed: claim_token, claimed_by, lease_until committed
-- before the HTTP call) -> done | needs_review (404, permanent 4xx, or a read-back that does not add up: shown to
-- the user, never dropped) | discarded (a person decided not to send it).  An inflight row whose lease expired has
-- an unknown outcome: read the spool back and compare with pre_used_weight, never resend blindly.
-- done and discarded are final (spoolman_outbox_guard).
--
-- Coalescing: the drain claims every due pending row of one spool with one claim_token and sends their sum; the
-- exclusion constraint spoolman_outbox_one_inflight allows one claim_token in flight per spool, so there is at
-- most one request in flight per spool.  Completion is fenced: UPDATE ... WHERE claim_token = $token.
--
-- pre_used_weight: the spool's used_weight read from Spoolman before sending (the pre-image for read-back
-- reconciliation); post_used_weight: the used_weight Spoolman returned or that the read-back found.
CREATE SEQUENCE spoolman_claim_seq;

CREATE TABLE spoolman_outbox (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ledger_id	bigint REFERENCES usage_ledger (id) ON DELETE RESTRICT
	    CONSTRAINT spoolman_outbox_ledger_key UNIQUE,
	spool_id	integer NOT NULL
	    CONSTRAINT spoolman_outbox_spool_check CHECK (spool_id > 0),
	use_mm		double precision NOT NULL
	    CONSTRAINT spoolman_outbox_use_mm_check CHECK (sk_finite(use_mm) AND use_mm BETWEEN -100000 AND 100000000),
	use_g		double precision	-- NULL: length only (send use_length)
	    CONSTRAINT spoolman_outbox_use_g_check CHECK (sk_finite(use_g) AND use_g BETWEEN -1000 AND 1000000),
	state		text NOT NULL DEFAULT 'pending'
	    CONSTRAINT spoolman_outbox_state_check CHECK (state IN ('pending', 'inflight', 'done',
		'needs_review', 'discarded')),
	attempts	integer NOT NULL DEFAULT 0
	    CONSTRAINT spoolman_outbox_attempts_check CHECK (attempts >= 0),
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	claim_token	bigint,
	claimed_by	text CONSTRAINT spoolman_outbox_claimed_by_check CHECK (length(claimed_by) <= 256),
	lease_until	timestamptz,
	pre_used_weight	double precision
	    CONSTRAINT spoolman_outbox_pre_check CHECK (sk_finite(pre_used_weight) AND pre_used_weight >= 0),
	post_used_weight double precision
	    CONSTRAINT spoolman_outbox_post_check CHECK (sk_finite(post_used_weight) AND post_used_weight >= 0),
	sent_at		timestamptz,
	done_at		timestamptz,
	resolution	text
	    CONSTRAINT spoolman_outbox_resolution_check CHECK (resolution IN ('response', 'readback', 'manual')),
	last_error	text CONSTRAINT spoolman_outbox_last_error_check CHECK (length(last_error) <= 4096),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT spoolman_outbox_inflight_check CHECK (state <> 'inflight'
	    OR (claim_token IS NOT NULL AND lease_until IS NOT NULL)),
	CONSTRAINT spoolman_outbox_done_check CHECK ((state = 'done') = (done_at IS NOT NULL)),
	CONSTRAINT spoolman_outbox_one_inflight EXCLUDE USING gist (spool_id WITH =, claim_token WITH <>)
	    WHERE (state = 'inflight')
);

CREATE INDEX spoolman_outbox_due ON spoolman_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX spoolman_outbox_open ON spoolman_outbox (spool_id)
    WHERE state IN ('pending', 'inflight', 'needs_review');

-- BEFORE INSERT trigger: a row with a ledger_id takes its spool and amounts from that ledger row (so the worker
-- can write INSERT INTO spoolman_outbox (ledger_id) SELECT id ...), and a row that disagrees with it is refused.
CREATE FUNCTION spoolman_outbox_from_ledger() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
	l	usage_ledger%ROWTYPE;
BEGIN
	IF NEW.ledger_id IS NULL THEN
		RETURN NEW;
	END IF;
	SELECT * INTO l FROM usage_ledger WHERE id = NEW.ledger_id;
	IF NOT FOUND THEN
		RETURN NEW;	-- the foreign key reports it
	END IF;
	IF l.spool_id IS NULL THEN
		RAISE EXCEPTION 'usage_ledger row % has no spool to send to', l.id
		    USING ERRCODE = 'check_violation', CONSTRAINT = 'spoolman_outbox_ledger_check';
	END IF;
	NEW.spool_id := coalesce(NEW.spool_id, l.spool_id);
	NEW.use_mm := coalesce(NEW.use_mm, l.mm);
	IF NEW.use_g IS NULL THEN
		NEW.use_g := l.grams;
	END IF;
	IF NEW.spool_id <> l.spool_id OR NEW.use_mm <> l.mm OR NEW.use_g IS DISTINCT FROM l.grams THEN
		RAISE EXCEPTION 'outbox row differs from usage_ledger row %', l.id
		    USING ERRCODE = 'check_violation', CONSTRAINT = 'spoolman_outbox_ledger_check';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER spoolman_outbox_from_ledger BEFORE INSERT ON spoolman_outbox
    FOR EACH ROW EXECUTE FUNCTION spoolman_outbox_from_ledger();

-- BEFORE UPDATE trigger: updated_at; done and discarded are final, and what a row asks Spoolman to spend never
-- changes once queued (a resend could otherwise spend twice).
CREATE FUNCTION spoolman_outbox_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF OLD.state IN ('done', 'discarded') AND NEW.state IS DISTINCT FROM OLD.state THEN
		RAISE EXCEPTION 'outbox row % is % and cannot become %', OLD.id, OLD.state, NEW.state
		    USING ERRCODE = 'check_violation', CONSTRAINT = 'spoolman_outbox_final';
	END IF;
	IF (NEW.ledger_id, NEW.spool_id, NEW.use_mm, NEW.use_g) IS DISTINCT FROM
	    (OLD.ledger_id, OLD.spool_id, OLD.use_mm, OLD.use_g) THEN
		RAISE EXCEPTION 'outbox row %: spool and amounts cannot change once queued', OLD.id
		    USING ERRCODE = 'check_violation', CONSTRAINT = 'spoolman_outbox_final';
	END IF;
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

CREATE TRIGGER spoolman_outbox_guard BEFORE UPDATE ON spoolman_outbox
    FOR EACH ROW EXECUTE FUNCTION spoolman_outbox_guard();

-- The drain LISTENs on spoolkeeper_outbox: a row becomes pending (inserted, or sent back to pending after a
-- review).  Payload: the spool id.  Delivered at commit; identical notifications of one transaction fold into one.
CREATE FUNCTION spoolman_outbox_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	PERFORM pg_notify('spoolkeeper_outbox', NEW.spool_id::text);
	RETURN NULL;
END
$$;

CREATE TRIGGER spoolman_outbox_notify_insert AFTER INSERT ON spoolman_outbox
    FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION spoolman_outbox_notify();
CREATE TRIGGER spoolman_outbox_notify_update AFTER UPDATE OF state ON spoolman_outbox
    FOR EACH ROW WHEN (NEW.state = 'pending' AND OLD.state <> 'pending')
    EXECUTE FUNCTION spoolman_outbox_notify();

------------------------------------------------------------------------------------------------------------------
-- Workers: leases on printers, heartbeats
------------------------------------------------------------------------------------------------------------------

-- One row per printer that a worker owns or owned.  Taking a printer over (a new holder, or the same worker id
-- after its lease expired) draws a new fencing_token from worker_lease_token_seq, so tokens only grow; renewing
-- keeps the token.  A worker starts every write transaction for a printer with SELECT lease_assert(printer, token):
-- it fails with SQLSTATE SKL01 unless the caller still holds an unexpired lease with that token, and it locks the
-- lease row (FOR SHARE), so no takeover can commit in the middle of the transaction.
CREATE SEQUENCE worker_lease_token_seq;

CREATE TABLE worker_leases (
	printer_id	bigint PRIMARY KEY REFERENCES printers (id) ON DELETE CASCADE,
	worker_id	text NOT NULL
	    CONSTRAINT worker_leases_worker_check CHECK (length(worker_id) BETWEEN 1 AND 256),
	fencing_token	bigint NOT NULL
	    CONSTRAINT worker_leases_token_check CHECK (fencing_token > 0),
	acquired_at	timestamptz NOT NULL DEFAULT now(),
	renewed_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL
);

-- Takes the lease of a printer for ttl if it is free, expired, or already this worker's.  Returns the new fencing
-- token, or NULL when another worker holds an unexpired lease.
CREATE FUNCTION lease_acquire(p_printer bigint, p_worker text, p_ttl interval) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
	tok	bigint;
BEGIN
	IF p_ttl IS NULL OR p_ttl <= interval '0' OR p_ttl > interval '1 day' THEN
		RAISE EXCEPTION 'lease ttl % is not in (0, 1 day]', p_ttl USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO worker_leases AS l (printer_id, worker_id, fencing_token, expires_at)
	    VALUES (p_printer, p_worker, nextval('worker_lease_token_seq'), now() + p_ttl)
	    ON CONFLICT (printer_id) DO UPDATE
		SET worker_id = EXCLUDED.worker_id, fencing_token = EXCLUDED.fencing_token,
		    acquired_at = now(), renewed_at = now(), expires_at = EXCLUDED.expires_at
		WHERE l.expires_at <= now() OR l.worker_id = EXCLUDED.worker_id
	    RETURNING fencing_token INTO tok;
	RETURN tok;
END
$$;

-- Extends the lease for ttl from now if the token is still the printer's current one.  Returns false when the
-- lease was taken over (the caller must stop working on the printer).
CREATE FUNCTION lease_renew(p_printer bigint, p_token bigint, p_ttl interval) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF p_ttl IS NULL OR p_ttl <= interval '0' OR p_ttl > interval '1 day' THEN
		RAISE EXCEPTION 'lease ttl % is not in (0, 1 day]', p_ttl USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE worker_leases SET renewed_at = now(), expires_at = now() + p_ttl
	    WHERE printer_id = p_printer AND fencing_token = p_token;
	RETURN FOUND;
END
$$;

-- Gives the lease up (it expires now); false if the token was no longer current.
CREATE FUNCTION lease_release(p_printer bigint, p_token bigint) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
	UPDATE worker_leases SET expires_at = least(expires_at, now())
	    WHERE printer_id = p_printer AND fencing_token = p_token;
	RETURN FOUND;
END
$$;

-- The fence: raises SQLSTATE SKL01 unless p_token is the printer's current, unexpired lease; locks the lease
-- row until the end of the transaction.
CREATE FUNCTION lease_assert(p_printer bigint, p_token bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
	PERFORM 1 FROM worker_leases
	    WHERE printer_id = p_printer AND fencing_token = p_token AND expires_at > now()
	    FOR SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lease of printer % with token % is not held', p_printer, p_token
		    USING ERRCODE = 'SKL01';
	END IF;
END
$$;

-- Each running worker upserts its row every few seconds; the web app shows workers whose seen_at is old as gone.
CREATE TABLE worker_heartbeats (
	worker_id	text PRIMARY KEY
	    CONSTRAINT worker_heartbeats_worker_check CHECK (length(worker_id) BETWEEN 1 AND 256),
	hostname	text CONSTRAINT worker_heartbeats_hostname_check CHECK (length(hostname) <= 256),
	pid		integer CONSTRAINT worker_heartbeats_pid_check CHECK (pid > 0),
	version		text CONSTRAINT worker_heartbeats_version_check CHECK (length(version) <= 64),
	printers	integer NOT NULL DEFAULT 0	-- printers it holds a lease on
	    CONSTRAINT worker_heartbeats_printers_check CHECK (printers >= 0),
	started_at	timestamptz NOT NULL DEFAULT now(),
	seen_at		timestamptz NOT NULL DEFAULT now()
);

------------------------------------------------------------------------------------------------------------------
-- Settings and live status (shared with the web app)
------------------------------------------------------------------------------------------------------------------

-- Instance settings the web app edits: spoolman_url, spoolman_user, spoolman_password (basic auth; plain text
-- for now, issue 4 encrypts it).  A missing key means "not set".  Every change is announced on the channel
-- spoolkeeper_settings (payload: the key) so the worker picks it up without a restart; it also re-reads
-- periodically, since notifications sent while it was disconnected are lost.
CREATE TABLE settings (
	key		text PRIMARY KEY
	    CONSTRAINT settings_key_check CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
	value		text NOT NULL
	    CONSTRAINT settings_value_check CHECK (length(value) <= 4096),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT settings_spoolman_url_check CHECK (key <> 'spoolman_url'
	    OR value ~ '^https?://[^[:space:][:cntrl:]]+$')
);

CREATE TRIGGER settings_updated_at BEFORE UPDATE ON settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION settings_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	PERFORM pg_notify('spoolkeeper_settings', CASE WHEN TG_OP = 'DELETE' THEN OLD.key ELSE NEW.key END);
	RETURN NULL;
END
$$;

CREATE TRIGGER settings_notify AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION settings_notify();

-- Live status of each printer for the web app, written (throttled) by the worker that owns it: the merged
-- push_status as JSON (state, layers, percent, remaining time, temperatures, AMS trays, tray_now, errors).
CREATE TABLE printer_status (
	printer_id	bigint PRIMARY KEY REFERENCES printers (id) ON DELETE CASCADE,
	status		jsonb NOT NULL DEFAULT '{}'
	    CONSTRAINT printer_status_status_check CHECK (jsonb_typeof(status) = 'object'),
	connected	boolean NOT NULL DEFAULT false,
	worker_id	text CONSTRAINT printer_status_worker_check CHECK (length(worker_id) <= 256),
	last_message_at	timestamptz,		-- the last MQTT message from the printer
	updated_at	timestamptz NOT NULL DEFAULT now()
);
