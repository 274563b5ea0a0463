-- 0008_rfid.sql: RFID trays and spool locations: the tags the AMS reports, trays assigned by tag, and the durable
-- queue of location writes to Spoolman (docs/smart-trays.md explains the design).
--
-- Forward-only: never edit once applied.

------------------------------------------------------------------------------------------------------------------
-- Settings of this migration
------------------------------------------------------------------------------------------------------------------

-- rfid_field: the Spoolman spool extra field holding a spool's tag (a Spoolman field key; default 'tag');
-- rfid_autocreate: 'true' creates unknown tagged spools in Spoolman (default off); storage_location: a spool's
-- Spoolman location once it leaves the trays (Spoolman allows 64 characters; missing: cleared).
ALTER TABLE settings ADD CONSTRAINT settings_rfid_check CHECK (
    (key <> 'rfid_field' OR value ~ '^[a-z0-9_]{1,64}$')
    AND (key <> 'rfid_autocreate' OR value IN ('true', 'false'))
    AND (key <> 'storage_location' OR (length(value) <= 64 AND value !~ '[[:cntrl:]]')));

------------------------------------------------------------------------------------------------------------------
-- Who made an assignment
------------------------------------------------------------------------------------------------------------------

-- 'hand': a person (web app, `spoolkeeper tray set`); 'tag': the worker (or link-tag) matched the spool's RFID
-- identity (tag, 16 or 32 upper-case hex digits) in Spoolman.  A tag assignment cannot be changed by hand while
-- the tag is in the tray; it ends when the tag leaves.
ALTER TABLE tray_assignments
    ADD COLUMN assigned_by text NOT NULL DEFAULT 'hand'
	CONSTRAINT tray_assignments_assigned_by_check CHECK (assigned_by IN ('hand', 'tag')),
    ADD COLUMN tag text
	CONSTRAINT tray_assignments_tag_check CHECK (tag ~ '^[0-9A-F]{16}([0-9A-F]{16})?$'),
    ADD CONSTRAINT tray_assignments_tag_by_check CHECK ((assigned_by = 'tag') = (tag IS NOT NULL));

-- A tag assignment ends only through the RFID functions below (the tag left, or another tag came), never by
-- hand: the web app answers 409 first, and this guard stops every other writer (the CLI, psql).  The functions
-- set the transaction-local setting spoolkeeper.rfid to 'on'; an admin who must override a broken reader can do
-- the same: BEGIN; SET LOCAL spoolkeeper.rfid = 'on'; UPDATE tray_assignments ...; COMMIT.
CREATE FUNCTION tray_assignments_tag_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF OLD.assigned_by = 'tag' AND OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL
	    AND current_setting('spoolkeeper.rfid', true) IS DISTINCT FROM 'on' THEN
		RAISE EXCEPTION 'tray % of printer % holds spool %, assigned by its RFID tag %: it cannot be changed by '
		    'hand while the tag is in the tray (take the spool out of the AMS)', OLD.tray, OLD.printer_id,
		    OLD.spool_id, OLD.tag
		    USING ERRCODE = 'check_violation', CONSTRAINT = 'tray_assignments_tag_guard';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER tray_assignments_tag_guard BEFORE UPDATE OF valid_to ON tray_assignments
    FOR EACH ROW EXECUTE FUNCTION tray_assignments_tag_guard();

------------------------------------------------------------------------------------------------------------------
-- Tags in trays, as the printers report them
------------------------------------------------------------------------------------------------------------------

-- One row per tray whose spool carries an identity: tray_uuid when it is non-zero (the spool's, the same on both
-- of its tags), else tag_uid (one RFID chip).  Written by the worker that holds the printer's lease
-- (rfid_sync); resolved against Spoolman by the outbox thread (rfid_apply).
--   pending   the tag is new, changed, or something it depends on changed: look it up (again)
--   matched   spool_id is assigned to the tray by tag
--   unknown   no Spoolman spool carries the tag (looked up again every minute; link-tag links one)
--   conflict  see conflict: duplicate_tag (the same tag in another tray), spool_in_other_tray (the spool is
--             mapped to another tray, of this or another printer), tag_on_several_spools (Spoolman has the tag
--             on more than one spool).  Never guessed: the tray stays unassigned until the cause goes away.
CREATE TABLE tray_tags (
	printer_id	bigint NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
	tray		integer NOT NULL CONSTRAINT tray_tags_tray_check CHECK (tray_valid(tray)),
	tag		text NOT NULL
	    CONSTRAINT tray_tags_tag_check CHECK (tag ~ '^[0-9A-F]{16}([0-9A-F]{16})?$'),
	tag_uid		text CONSTRAINT tray_tags_tag_uid_check CHECK (tag_uid ~ '^[0-9A-F]{16}$'),
	tray_uuid	text CONSTRAINT tray_tags_tray_uuid_check CHECK (tray_uuid ~ '^[0-9A-F]{32}$'),
	-- What the tag says about the spool (for auto-create): tray_type, tray_sub_brands, tray_color (RRGGBBAA),
	-- tray_weight (g).
	material	text CONSTRAINT tray_tags_material_check CHECK (length(material) <= 32),
	name		text CONSTRAINT tray_tags_name_check CHECK (length(name) <= 64),
	color		text CONSTRAINT tray_tags_color_check CHECK (color ~ '^[0-9A-F]{8}$'),
	weight		double precision
	    CONSTRAINT tray_tags_weight_check CHECK (sk_finite(weight) AND weight > 0 AND weight <= 100000),
	state		text NOT NULL DEFAULT 'pending'
	    CONSTRAINT tray_tags_state_check CHECK (state IN ('pending', 'matched', 'unknown', 'conflict')),
	conflict	text CONSTRAINT tray_tags_conflict_check CHECK (conflict IN ('duplicate_tag',
		'spool_in_other_tray', 'tag_on_several_spools')),
	spool_id	integer CONSTRAINT tray_tags_spool_check CHECK (spool_id > 0),
	attempts	integer NOT NULL DEFAULT 0 CONSTRAINT tray_tags_attempts_check CHECK (attempts >= 0),
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	last_error	text CONSTRAINT tray_tags_last_error_check CHECK (length(last_error) <= 4096),
	seen_at		timestamptz NOT NULL DEFAULT now(),
	resolved_at	timestamptz,
	PRIMARY KEY (printer_id, tray),
	CONSTRAINT tray_tags_conflict_state_check CHECK ((state = 'conflict') = (conflict IS NOT NULL)),
	CONSTRAINT tray_tags_matched_check CHECK (state <> 'matched' OR spool_id IS NOT NULL)
);

CREATE INDEX tray_tags_tag ON tray_tags (tag);
CREATE INDEX tray_tags_due ON tray_tags (next_attempt_at) WHERE state IN ('pending', 'unknown');

-- A tag that appears, changes or leaves makes the other trays with that tag look again (a duplicate starts or
-- ends).  Only on a change of tag, so the resolver's own state updates do not cascade.
CREATE FUNCTION tray_tags_peers() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE tray_tags SET state = 'pending', conflict = NULL, next_attempt_at = now()
		 WHERE tag = OLD.tag AND (printer_id, tray) <> (OLD.printer_id, OLD.tray);
	END IF;
	IF TG_OP IN ('UPDATE', 'INSERT') THEN
		UPDATE tray_tags SET state = 'pending', conflict = NULL, next_attempt_at = now()
		 WHERE tag = NEW.tag AND (printer_id, tray) <> (NEW.printer_id, NEW.tray);
	END IF;
	PERFORM pg_notify('spoolkeeper_outbox', 'rfid');
	RETURN NULL;
END
$$;

CREATE TRIGGER tray_tags_peers AFTER INSERT OR DELETE OR UPDATE OF tag ON tray_tags
    FOR EACH ROW EXECUTE FUNCTION tray_tags_peers();

------------------------------------------------------------------------------------------------------------------
-- Spool patches: location writes to Spoolman, durable and retried
------------------------------------------------------------------------------------------------------------------

-- One row per location change of a spool, enqueued by the tray_assignments triggers below in the transaction
-- that changed the tray (so hand mappings of the web app and the CLI are seen too).  The worker's outbox thread
-- sends PATCH /api/v1/spool/{id} {"location": ...} (never a weight), newest row of a spool first: older pending
-- rows of that spool become 'superseded'.  A PATCH of a location is idempotent, so an unknown outcome is simply
-- sent again.  next_attempt_at doubles as the claim's lease.
CREATE TABLE spool_patches (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	spool_id	integer NOT NULL CONSTRAINT spool_patches_spool_check CHECK (spool_id > 0),
	location	text CONSTRAINT spool_patches_location_check CHECK (length(location) <= 64),	-- NULL: clear
	reason		text NOT NULL CONSTRAINT spool_patches_reason_check CHECK (reason IN ('assigned', 'left')),
	state		text NOT NULL DEFAULT 'pending'
	    CONSTRAINT spool_patches_state_check CHECK (state IN ('pending', 'done', 'superseded', 'needs_review')),
	attempts	integer NOT NULL DEFAULT 0 CONSTRAINT spool_patches_attempts_check CHECK (attempts >= 0),
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	last_error	text CONSTRAINT spool_patches_last_error_check CHECK (length(last_error) <= 4096),
	created_at	timestamptz NOT NULL DEFAULT now(),
	done_at		timestamptz,
	CONSTRAINT spool_patches_done_check CHECK ((state = 'done') = (done_at IS NOT NULL))
);

CREATE INDEX spool_patches_pending ON spool_patches (spool_id, id) WHERE state = 'pending';

-- The location of tray t of a printer called name, as Spoolman shows it (at most 64 characters: the name is cut):
-- '<name> / AMS 1 / Slot 2', '<name> / AMS HT 1', '<name> / External'.
CREATE FUNCTION spool_location(name text, t integer) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
	SELECT left(name, 64 - length(s)) || s FROM (SELECT CASE
	    WHEN t BETWEEN 0 AND 127 THEN ' / AMS ' || (t / 4 + 1) || ' / Slot ' || (t % 4 + 1)
	    WHEN t BETWEEN 128 AND 191 THEN ' / AMS HT ' || (t - 127)
	    ELSE ' / External'
	END AS s) x
    $$;

-- A spool enters a tray: its location becomes the tray's.  A spool leaves one (the open row is closed): its
-- location becomes the setting storage_location (missing or empty: the location is cleared), and a tray tag
-- waiting for that spool (spool_in_other_tray) looks again.
CREATE FUNCTION tray_assignments_location() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF TG_OP = 'INSERT' AND NEW.valid_to IS NULL THEN
		INSERT INTO spool_patches (spool_id, location, reason)
		SELECT NEW.spool_id, spool_location(p.name, NEW.tray), 'assigned' FROM printers p
		 WHERE p.id = NEW.printer_id;
	ELSIF TG_OP = 'UPDATE' AND OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL THEN
		INSERT INTO spool_patches (spool_id, location, reason)
		VALUES (OLD.spool_id, (SELECT left(nullif(value, ''), 64) FROM settings
		    WHERE key = 'storage_location'), 'left');
		UPDATE tray_tags SET state = 'pending', conflict = NULL, next_attempt_at = now()
		 WHERE state = 'conflict' AND conflict = 'spool_in_other_tray' AND spool_id = OLD.spool_id;
	ELSE
		RETURN NULL;
	END IF;
	PERFORM pg_notify('spoolkeeper_outbox', 'location');
	RETURN NULL;
END
$$;

CREATE TRIGGER tray_assignments_location AFTER INSERT OR UPDATE OF valid_to ON tray_assignments
    FOR EACH ROW EXECUTE FUNCTION tray_assignments_location();

------------------------------------------------------------------------------------------------------------------
-- The worker's two entry points
------------------------------------------------------------------------------------------------------------------

-- Both are SECURITY DEFINER: the roles change tray_tags and tag assignments only through them (the worker role has
-- no write on tray_assignments at all), and only they may close a tag assignment (tray_assignments_tag_guard).

-- Closes the open tag assignment of a tray (if any) at ts.
CREATE FUNCTION rfid_close_tag(p_printer bigint, p_tray integer, ts timestamptz) RETURNS void
    LANGUAGE sql
    AS $$
	UPDATE tray_assignments SET valid_to = ts
	 WHERE printer_id = p_printer AND tray = p_tray AND valid_to IS NULL AND assigned_by = 'tag'
    $$;

-- The worker holding the printer's lease (p_token) reports every tagged tray of the printer at once: p_tags is
-- a JSON array of {"tray", "tag", "tag_uid", "tray_uuid", "material", "name", "color", "weight"}.  Trays no longer listed
-- lose their row and their tag assignment; a tray whose tag changed loses its tag assignment and is looked up
-- again.  Takes the tray lock (the advisory lock of every tray change).
CREATE FUNCTION rfid_sync(p_printer bigint, p_token bigint, p_tags jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
	ts	timestamptz;
	r	record;
BEGIN
	PERFORM lease_assert(p_printer, p_token);
	PERFORM pg_advisory_xact_lock(8316869171480195935);
	PERFORM set_config('spoolkeeper.rfid', 'on', true);
	ts := clock_timestamp();
	FOR r IN SELECT t.tray FROM tray_tags t WHERE t.printer_id = p_printer AND NOT EXISTS (
	    SELECT 1 FROM jsonb_array_elements(p_tags) e WHERE (e->>'tray')::integer = t.tray
		AND e->>'tag' = t.tag) LOOP
		PERFORM rfid_close_tag(p_printer, r.tray, ts);
		DELETE FROM tray_tags WHERE printer_id = p_printer AND tray = r.tray;
	END LOOP;
	INSERT INTO tray_tags (printer_id, tray, tag, tag_uid, tray_uuid, material, name, color, weight)
	SELECT p_printer, (e->>'tray')::integer, e->>'tag', e->>'tag_uid', e->>'tray_uuid', e->>'material',
	    e->>'name', e->>'color', (e->>'weight')::double precision
	  FROM jsonb_array_elements(p_tags) e
	ON CONFLICT (printer_id, tray) DO UPDATE SET seen_at = now(), material = EXCLUDED.material,
	    name = EXCLUDED.name, color = EXCLUDED.color, weight = EXCLUDED.weight;
END
$$;

-- Applies a lookup: p_spools are the Spoolman spools that carry tag p_tag.  Does nothing ('stale') unless the
-- tray still reports p_tag.  Returns the tray's new state: matched, unknown or conflict (with the reason in the
-- row).  A match closes whatever the tray held (a hand mapping too: the tag is physical evidence) and assigns the
-- spool by tag; anything else leaves the tray without a tag assignment.
CREATE FUNCTION rfid_apply(p_printer bigint, p_tray integer, p_tag text, p_spools integer[]) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
	ts	timestamptz;
	s	integer;
	why	text;
	cur	tray_assignments%ROWTYPE;
BEGIN
	PERFORM pg_advisory_xact_lock(8316869171480195935);
	PERFORM set_config('spoolkeeper.rfid', 'on', true);
	ts := clock_timestamp();
	PERFORM 1 FROM tray_tags WHERE printer_id = p_printer AND tray = p_tray AND tag = p_tag FOR UPDATE;
	IF NOT FOUND THEN
		RETURN 'stale';
	END IF;
	p_spools := ARRAY(SELECT DISTINCT x FROM unnest(coalesce(p_spools, '{}')) x ORDER BY x);
	s := p_spools[1];
	IF cardinality(p_spools) = 0 THEN
		PERFORM rfid_close_tag(p_printer, p_tray, ts);
		UPDATE tray_tags SET state = 'unknown', conflict = NULL, spool_id = NULL, resolved_at = now(),
		    last_error = NULL, attempts = 0, next_attempt_at = now() + interval '60 seconds'
		 WHERE printer_id = p_printer AND tray = p_tray;
		RETURN 'unknown';
	END IF;
	IF cardinality(p_spools) > 1 THEN
		why := 'tag_on_several_spools';
	ELSIF EXISTS (SELECT 1 FROM tray_tags WHERE tag = p_tag AND (printer_id, tray) <> (p_printer, p_tray)) THEN
		why := 'duplicate_tag';
	ELSIF EXISTS (SELECT 1 FROM tray_assignments WHERE spool_id = s AND valid_to IS NULL
	    AND (printer_id, tray) <> (p_printer, p_tray)) THEN
		why := 'spool_in_other_tray';
	END IF;
	IF why IS NOT NULL THEN
		PERFORM rfid_close_tag(p_printer, p_tray, ts);
		UPDATE tray_tags SET state = 'conflict', conflict = why, spool_id = s, resolved_at = now(),
		    last_error = NULL, attempts = 0
		 WHERE printer_id = p_printer AND tray = p_tray;
		RETURN 'conflict';
	END IF;
	SELECT * INTO cur FROM tray_assignments WHERE printer_id = p_printer AND tray = p_tray AND valid_to IS NULL;
	IF FOUND AND cur.spool_id = s THEN
		-- Already there (by hand, or an earlier match): it is now held by the tag; the location is right.
		UPDATE tray_assignments SET assigned_by = 'tag', tag = p_tag WHERE id = cur.id;
	ELSE
		IF FOUND THEN
			UPDATE tray_assignments SET valid_to = ts WHERE id = cur.id;
		END IF;
		INSERT INTO tray_assignments (printer_id, tray, spool_id, valid_from, assigned_by, tag)
		VALUES (p_printer, p_tray, s, ts, 'tag', p_tag);
	END IF;
	UPDATE tray_tags SET state = 'matched', conflict = NULL, spool_id = s, resolved_at = now(), last_error = NULL,
	    attempts = 0
	 WHERE printer_id = p_printer AND tray = p_tray;
	RETURN 'matched';
END
$$;

------------------------------------------------------------------------------------------------------------------
-- Grants
------------------------------------------------------------------------------------------------------------------

-- The worker: claims and notes on tray_tags (rfid.c), the location queue's drain (spool_patch.c); everything else
-- through rfid_sync()/rfid_apply().
GRANT SELECT ON tray_tags, spool_patches TO spoolkeeper_worker;
GRANT UPDATE (attempts, next_attempt_at, last_error) ON tray_tags TO spoolkeeper_worker;
GRANT UPDATE (state, attempts, next_attempt_at, last_error, done_at) ON spool_patches TO spoolkeeper_worker;
-- The web app: reads tags; its tray changes fire the triggers, which queue a location (INSERT) and send a
-- waiting tag back to pending (UPDATE).
GRANT SELECT ON tray_tags, spool_patches TO spoolkeeper_web;
GRANT UPDATE (state, conflict, next_attempt_at) ON tray_tags TO spoolkeeper_web;
GRANT INSERT ON spool_patches TO spoolkeeper_web;
REVOKE EXECUTE ON FUNCTION rfid_sync(bigint, bigint, jsonb), rfid_apply(bigint, integer, text, integer[]),
    rfid_close_tag(bigint, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rfid_sync(bigint, bigint, jsonb), rfid_apply(bigint, integer, text, integer[])
    TO spoolkeeper_worker;
GRANT EXECUTE ON FUNCTION rfid_apply(bigint, integer, text, integer[]) TO spoolkeeper_web;
