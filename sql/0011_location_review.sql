-- 0011_location_review.sql: location updates Spoolman refused, for an admin to send again or give up.
--
-- The worker puts a spool_patches row in needs_review when Spoolman answers a 4xx to its PATCH (the spool was
-- deleted, a proxy refused the login, ...).  The web app shows those rows (GET /api/v1/location-updates) and, like
-- the outbox, changes them only through two SECURITY DEFINER functions: its role has no UPDATE on the table.
-- docs/smart-trays.md ("Spool locations") explains both.
--
-- Forward-only: never edit once applied.

ALTER TABLE spool_patches DROP CONSTRAINT spool_patches_state_check,
    ADD CONSTRAINT spool_patches_state_check
        CHECK (state IN ('pending', 'done', 'superseded', 'needs_review', 'discarded'));

-- Sends a refused location update again: needs_review becomes pending, due now.  Only the latest row of its spool
-- may: a later one holds the spool's place since, which an older one must never overwrite.  Returns true, or
-- NULL when the row's state or a later row of its spool does not allow it.
CREATE FUNCTION spool_patch_retry(p_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
	UPDATE spool_patches p SET state = 'pending', attempts = 0, next_attempt_at = now()
	 WHERE p.id = p_id AND p.state = 'needs_review'
	   AND NOT EXISTS (SELECT 1 FROM spool_patches n WHERE n.spool_id = p.spool_id AND n.id > p.id);
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM pg_notify('spoolkeeper_outbox', 'location');
	RETURN true;
END
$$;

-- Gives up on a refused location update (it will never be sent): needs_review becomes discarded, with who and
-- why in last_error.  Returns true, or NULL when the row is not in needs_review.
CREATE FUNCTION spool_patch_discard(p_id bigint, p_reason text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
	UPDATE spool_patches SET state = 'discarded', last_error = left(p_reason, 4096)
	 WHERE id = p_id AND state = 'needs_review'
	RETURNING true;
$$;

REVOKE EXECUTE ON FUNCTION spool_patch_retry(bigint), spool_patch_discard(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION spool_patch_retry(bigint), spool_patch_discard(bigint, text) TO spoolkeeper_web;
