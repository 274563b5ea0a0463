/* spool_patch.c: sends the queued spool location changes (table spool_patches) to Spoolman, retried until they land. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errbuf.h"
#include "log.h"
#include "outbox.h"
#include "spool_patch.h"

#define PATCH_BATCH	20	/* rows per pass */
#define PATCH_LEASE_S	"60"	/* a claimed row waits this long before another pass may take it */

/* The next due row that is the newest pending one of its spool; its next attempt is pushed back (the claim). */
#define CLAIM_SQL \
	"UPDATE spool_patches SET attempts = attempts + 1, " \
	"    next_attempt_at = now() + make_interval(secs => " PATCH_LEASE_S ") " \
	" WHERE id = (SELECT p.id FROM spool_patches p WHERE p.state = 'pending' AND p.next_attempt_at <= now() " \
	"    AND NOT EXISTS (SELECT 1 FROM spool_patches n WHERE n.spool_id = p.spool_id AND n.state = 'pending' " \
	"        AND n.id > p.id) " \
	"    ORDER BY p.id LIMIT 1 FOR UPDATE SKIP LOCKED) " \
	"RETURNING id, spool_id, location, attempts"

#define SUPERSEDE_SQL \
	"UPDATE spool_patches SET state = 'superseded' WHERE spool_id = $2::integer AND state = 'pending' " \
	"AND id < $1::bigint"
#define DONE_SQL \
	"UPDATE spool_patches SET state = 'done', done_at = now(), last_error = NULL WHERE id = $1::bigint " \
	"AND state = 'pending'"
#define RETRY_SQL \
	"UPDATE spool_patches SET next_attempt_at = now() + make_interval(secs => $2::float8), " \
	"last_error = left($3, 4096) WHERE id = $1::bigint AND state = 'pending'"
#define REVIEW_SQL \
	"UPDATE spool_patches SET state = 'needs_review', last_error = left($3, 4096) WHERE id = $1::bigint " \
	"AND state = 'pending' AND $2::text IS NOT NULL"

/* Sends one claimed row (id, spool, location NULL: clear) and records the outcome.  0 or -1 (database). */
static int
send_one(struct db *db, struct spoolman *sm, const char *id, const char *spool, const char *location,
    int attempts, int *sent, char *err)
{
	json_t			*body, *out = NULL;
	enum spoolman_result	 res;
	char			 path[64], herr[ERRBUF_LEN], delay[32];
	const char		*p[3] = { id, delay, herr };

	body = json_pack("{s:o}", "location", location != NULL ? json_string(location) : json_null());
	snprintf(path, sizeof(path), "/spool/%s", spool);
	res = spoolman_request(sm, "PATCH", path, body, &out, herr);
	json_decref(body);
	json_decref(out);
	if (res == SPOOLMAN_OK) {
		log_msg(LOGL_INFO, 0, 0, "location: spool %s row %s: %s%s%s", spool, id,
		    location != NULL ? "\"" : "", location != NULL ? location : "cleared", location != NULL ? "\"" : "");
		(*sent)++;
		return db_exec_prepared(db, DONE_SQL, 1, p, NULL, err);
	}
	if (res == SPOOLMAN_NOT_SENT || res == SPOOLMAN_UNKNOWN) {
		/* A location is set, not added: sending it again cannot count twice. */
		snprintf(delay, sizeof(delay), "%.3f", outbox_backoff_s(attempts, 0.5));
		if (!spoolman_is_down(sm))
			log_msg(LOGL_WARN, 0, 0, "location: spool %s row %s: %s: again in %s s", spool, id,
			    herr, delay);
		return db_exec_prepared(db, RETRY_SQL, 3, p, NULL, err);
	}
	log_msg(LOGL_WARN, 0, 0, "location: spool %s row %s: needs review: %s", spool, id, herr);
	snprintf(delay, sizeof(delay), "0");
	return db_exec_prepared(db, REVIEW_SQL, 3, p, NULL, err);
}

int
spool_patch_drain_once(struct db *db, struct spoolman *sm, int *sent, char *err)
{
	struct db_result	*r;
	long long		 attempts;
	int			 i, rc = 0;

	*sent = 0;
	if (sm == NULL)
		return 0;
	for (i = 0; i < PATCH_BATCH && rc == 0; i++) {
		const char *p[2];

		if (db_exec_prepared(db, CLAIM_SQL, 0, NULL, &r, err) == -1)
			return -1;
		if (db_result_rows(r) == 0) {
			db_result_free(r);
			return 0;
		}
		p[0] = db_result_get(r, 0, 0);
		p[1] = db_result_get(r, 0, 1);
		if (db_result_int64(r, 0, 3, &attempts) == -1)
			attempts = 1;
		rc = db_exec_prepared(db, SUPERSEDE_SQL, 2, p, NULL, err);
		if (rc == 0)
			rc = send_one(db, sm, p[0], p[1], db_result_get(r, 0, 2), (int)attempts, sent, err);
		db_result_free(r);
	}
	return rc;
}
