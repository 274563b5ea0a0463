/* h_trays.c: GET /printers/{id}/trays, PUT and DELETE /printers/{id}/trays/{tray}: which Spoolman spool is in which tray. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "routes.h"
#include "spools.h"
#include "status.h"

/* Every tray change holds this advisory lock, as `spoolkeeper tray` does (worker/cli/cmd_tray.c: "sktrays_"). */
#define LOCK_SQL	"SELECT pg_advisory_xact_lock(8316869171480195935)"
#define TRAY_RULE	"0-127 (AMS unit * 4 + slot), 128-191 (AMS HT) or 254/255 (external spool)"

/* The one tray $2 of printer $1 as JSON (TRAYS_CTES' j), also when it is neither reported nor mapped. */
#define TRAY_ONE_SQL \
	"WITH vp AS (SELECT $1::bigint AS id), " TRAYS_CTES(TRAY_FULL) " " \
	"SELECT coalesce((SELECT j FROM tj WHERE tray = $2::integer), json_build_object('tray', $2::integer, " \
	"    'label', tray_label($2::integer), 'reported', false, 'loaded', NULL::json, 'type', NULL::json, " \
	"    'color', NULL::json, 'remain', NULL::json, 'tag', NULL::json, 'assigned_by', NULL::json, " \
	"    'conflict', NULL::json, 'tag_state', NULL::json, 'tag_spool_id', NULL::json, 'spool', NULL::json))"

/* What a tray change did. */
struct change {
	int		 unchanged;	/* the spool already was in this tray */
	long long	 previous;	/* the spool the tray held, 0: none */
	json_t		*moved_from;	/* {"printer_id", "printer", "tray", "label"} it left, or NULL */
};

void
h_trays_list(struct ctx *c)
{
	char		 pid[24];
	const char	*params[1] = { ctx_num(pid, c->id[0]) };
	json_t		*j;

	if (ctx_need_printer(c, c->id[0], ACCESS_VIEW) == -1)
		return;
	j = ctx_query_json(c, "WITH vp AS (SELECT $1::bigint AS id), " TRAYS_CTES(TRAY_FULL) " "
	    "SELECT json_build_object('printer_id', $1::bigint, "
	    "    'trays', coalesce((SELECT json_agg(j ORDER BY tray) FROM tj), '[]'::json))", 1, params, NULL);
	if (j != NULL)
		http_reply_json(c->res, 200, j);
}

static int
tray_valid(long long t)
{
	return (t >= 0 && t <= 191) || t == 254 || t == 255;
}

/*
 * The spool is in another tray (row r of the lookup: assignment id, printer id, tray, printer name, label, the
 * user's level there).  Closes that assignment at ts when the user may move it; else answers 409 (no "move") or
 * 403 (a printer they may not change).  0, or -1 after answering.
 */
static int
move_out(struct ctx *c, struct db_result *r, long long spool, int move, const char *ts, struct change *ch)
{
	const char	*level = db_result_get(r, 0, 5), *params[2] = { db_result_get(r, 0, 0), ts };
	int		 visible = level != NULL, operate = visible && strcmp(level, "viewer") != 0;
	long long	 printer = 0, tray = 0;

	if (strcmp(db_result_get(r, 0, 6), "tag") == 0)
		return ctx_fail(c, 409, "tag_assigned", "spool %lld is in %s, %s, assigned by its RFID tag: take it "
		    "out of that tray first", spool, visible ? db_result_get(r, 0, 3) : "another printer",
		    visible ? db_result_get(r, 0, 4) : "a tray");
	if (!move && visible)
		return ctx_fail(c, 409, "conflict", "spool %lld is in %s, %s; send \"move\": true to move it here",
		    spool, db_result_get(r, 0, 3), db_result_get(r, 0, 4));
	if (!move)
		return ctx_fail(c, 409, "conflict", "spool %lld is in a tray of a printer you cannot see; ask an "
		    "admin", spool);
	if (!operate)
		return ctx_fail(c, 403, "forbidden", "spool %lld is in a tray of a printer you may not change", spool);
	if (ctx_query(c, "UPDATE tray_assignments SET valid_to = $2::timestamptz WHERE id = $1::bigint", 2, params,
	    NULL) == -1)
		return -1;
	(void)db_result_int64(r, 0, 1, &printer);
	(void)db_result_int64(r, 0, 2, &tray);
	ch->moved_from = json_object();
	json_object_set_new(ch->moved_from, "printer_id", json_integer(printer));
	json_object_set_new(ch->moved_from, "printer", json_string(db_result_get(r, 0, 3)));
	json_object_set_new(ch->moved_from, "tray", json_integer(tray));
	json_object_set_new(ch->moved_from, "label", json_string(db_result_get(r, 0, 4)));
	return 0;
}

/* Where the spool is now; moves it out (move_out) or finds it in this very tray.  0, or -1 after answering. */
static int
spool_elsewhere(struct ctx *c, long long spool, int move, const char *ts, struct change *ch)
{
	char			 sid[24], uid[24], pid[24], tray[24];
	const char		*params[3] = { ctx_num(sid, spool), ctx_num(uid, c->user.id),
				    c->user.admin ? "true" : "false" };
	struct db_result	*r;
	int			 rc = 0;

	if (ctx_query(c, "SELECT a.id, a.printer_id, a.tray, p.name, tray_label(a.tray), "
	    "    CASE WHEN $3::boolean THEN 'admin' ELSE pa.level END, a.assigned_by "
	    "  FROM tray_assignments a JOIN printers p ON p.id = a.printer_id "
	    "  LEFT JOIN printer_access pa ON pa.printer_id = a.printer_id AND pa.user_id = $2::bigint "
	    " WHERE a.spool_id = $1::integer AND a.valid_to IS NULL", 3, params, &r) == -1)
		return -1;
	if (db_result_rows(r) == 1) {
		if (strcmp(db_result_get(r, 0, 1), ctx_num(pid, c->id[0])) == 0 &&
		    strcmp(db_result_get(r, 0, 2), ctx_num(tray, c->id[1])) == 0) {
			ch->unchanged = 1;
			ch->previous = spool;
		} else
			rc = move_out(c, r, spool, move, ts, ch);
	}
	db_result_free(r);
	return rc;
}

/* Empties the tray at ts and puts the spool (0: none) in it.  0, or -1 after answering. */
static int
set_tray(struct ctx *c, long long spool, const char *ts, struct change *ch)
{
	char			 pid[24], tray[24], sid[24];
	const char		*params[4] = { ctx_num(pid, c->id[0]), ctx_num(tray, c->id[1]), ts,
				    ctx_num(sid, spool) };
	struct db_result	*r;

	if (ctx_query(c, "UPDATE tray_assignments SET valid_to = $3::timestamptz WHERE printer_id = $1::bigint "
	    "AND tray = $2::integer AND valid_to IS NULL RETURNING spool_id", 3, params, &r) == -1)
		return -1;
	if (db_result_rows(r) == 1)
		(void)db_result_int64(r, 0, 0, &ch->previous);
	db_result_free(r);
	if (spool == 0)
		return 0;
	return ctx_query(c, "INSERT INTO tray_assignments (printer_id, tray, spool_id, valid_from) "
	    "VALUES ($1::bigint, $2::integer, $4::integer, $3::timestamptz)", 4, params, NULL);
}

/* Keeps Spoolman's copy of the spool in spool_cache.  0, or -1 after answering. */
static int
cache_spool(struct ctx *c, long long spool, json_t *sp)
{
	char		 sid[24], *text;
	const char	*params[2];
	int		 rc;

	if (sp == NULL)
		return 0;
	if ((text = json_dumps(sp, JSON_COMPACT)) == NULL)
		return ctx_fail(c, 500, "internal", "cannot encode the spool");
	params[0] = ctx_num(sid, spool);
	params[1] = text;
	rc = ctx_query(c, "INSERT INTO spool_cache (spool_id, spool, fetched_at) VALUES ($1::integer, $2::jsonb, "
	    "now()) ON CONFLICT (spool_id) DO UPDATE SET spool = EXCLUDED.spool, fetched_at = EXCLUDED.fetched_at",
	    2, params, NULL);
	free(text);
	return rc;
}

/*
 * A tray assigned by its RFID tag cannot be changed by hand while the tag is in it (docs/smart-trays.md).  0, or
 * -1 after answering 409.
 */
static int
tag_guard(struct ctx *c)
{
	char			 pid[24], tray[24];
	const char		*params[2] = { ctx_num(pid, c->id[0]), ctx_num(tray, c->id[1]) };
	struct db_result	*r;
	int			 rc = 0;

	if (ctx_query(c, "SELECT spool_id, tag FROM tray_assignments WHERE printer_id = $1::bigint "
	    "AND tray = $2::integer AND valid_to IS NULL AND assigned_by = 'tag'", 2, params, &r) == -1)
		return -1;
	if (db_result_rows(r) == 1)
		rc = ctx_fail(c, 409, "tag_assigned", "tray %lld holds spool %s, assigned by its RFID tag %s: it "
		    "cannot be changed by hand while the tag is in the tray (take the spool out of the AMS)", c->id[1],
		    db_result_get(r, 0, 0), db_result_get(r, 0, 1));
	db_result_free(r);
	return rc;
}

/* The change in one transaction under the tray lock.  0, or -1 after answering (the transaction rolled back). */
static int
change_tray(struct ctx *c, long long spool, int move, json_t *sp, struct change *ch)
{
	struct db_result	*r;
	char			 ts[64];

	if (db_begin(c->app->db, c->err) == -1)
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
	/* The time is taken under the lock, so it is later than every assignment already committed. */
	if (ctx_query(c, LOCK_SQL, 0, NULL, NULL) == -1 ||
	    ctx_query(c, "SELECT clock_timestamp()", 0, NULL, &r) == -1)
		goto fail;
	snprintf(ts, sizeof(ts), "%s", db_result_get(r, 0, 0));
	db_result_free(r);
	if (tag_guard(c) == -1)
		goto fail;
	if (spool != 0 && spool_elsewhere(c, spool, move, ts, ch) == -1)
		goto fail;
	if (!ch->unchanged && set_tray(c, spool, ts, ch) == -1)
		goto fail;
	if (cache_spool(c, spool, sp) == -1)
		goto fail;
	if (db_commit(c->app->db, c->err) == -1)
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
	return 0;
fail:
	db_rollback(c->app->db);
	return -1;
}

/* Answers with the tray as it is now and what the change did. */
static void
reply_tray(struct ctx *c, const struct change *ch, int check)
{
	char		 pid[24], tray[24];
	const char	*params[2] = { ctx_num(pid, c->id[0]), ctx_num(tray, c->id[1]) };
	json_t		*j;

	if ((j = ctx_query_json(c, TRAY_ONE_SQL, 2, params, NULL)) == NULL)
		return;
	json_object_set_new(j, "printer_id", json_integer(c->id[0]));
	json_object_set_new(j, "changed", json_boolean(!ch->unchanged));
	json_object_set_new(j, "previous_spool_id", ch->previous != 0 ? json_integer(ch->previous) : json_null());
	json_object_set(j, "moved_from", ch->moved_from != NULL ? ch->moved_from : json_null());
	json_object_set_new(j, "spoolman", check >= 0 ? json_string(spools_check_name(check)) : json_null());
	http_reply_json(c->res, 200, j);
}

/* Reads the body: spool_id (required; null empties the tray) and move.  0, or -1 after answering 400. */
static int
read_body(struct ctx *c, long long *spool, int *move)
{
	static const char *const fields[] = { "spool_id", "move", NULL };

	*spool = 0;
	*move = 0;
	if (body_only(c, fields) == -1)
		return -1;
	if (!body_has(c, "spool_id"))
		return ctx_fail(c, 400, "invalid", "spool_id: is required (a Spoolman spool id, or null to empty the "
		    "tray)");
	if (body_int(c, "spool_id", 0, 1, SPOOL_ID_MAX, spool) == -1 || body_bool(c, "move", 0, move) == -1)
		return -1;
	return 0;
}

void
h_trays_put(struct ctx *c)
{
	struct change	 ch;
	long long	 spool;
	int		 move, check = -1, rc;
	json_t		*sp = NULL;

	if (ctx_need_printer(c, c->id[0], ACCESS_OPERATE) == -1)
		return;
	if (!tray_valid(c->id[1])) {
		ctx_fail(c, 400, "invalid", "tray %lld: a tray is " TRAY_RULE, c->id[1]);
		return;
	}
	if (read_body(c, &spool, &move) == -1)
		return;
	/* Ask Spoolman first, outside the transaction: a slow Spoolman holds no lock. */
	if (spool != 0 && (check = spools_check(c, spool, &sp)) == -1)
		return;
	if (check == SPOOLS_CHECK_NOT_FOUND) {
		ctx_fail(c, 400, "invalid", "spool_id: no spool %lld in Spoolman", spool);
		return;
	}
	memset(&ch, 0, sizeof(ch));
	rc = change_tray(c, spool, move, sp, &ch);
	json_decref(sp);
	if (rc == 0) {
		status_cache_invalidate();
		if (!ch.unchanged && (spool != 0 || ch.previous != 0))
			ctx_log(c, "printer %lld tray %lld: spool %lld, was %lld (0: none; Spoolman: %s)", c->id[0],
			    c->id[1], spool, ch.previous, check >= 0 ? spools_check_name(check) : "not asked");
		reply_tray(c, &ch, check);
	}
	json_decref(ch.moved_from);
}

void
h_trays_delete(struct ctx *c)
{
	struct change	ch;

	if (ctx_need_printer(c, c->id[0], ACCESS_OPERATE) == -1)
		return;
	if (!tray_valid(c->id[1])) {
		ctx_fail(c, 400, "invalid", "tray %lld: a tray is " TRAY_RULE, c->id[1]);
		return;
	}
	memset(&ch, 0, sizeof(ch));
	if (change_tray(c, 0, 0, NULL, &ch) == 0) {
		status_cache_invalidate();
		if (ch.previous != 0)
			ctx_log(c, "printer %lld tray %lld: emptied, was spool %lld", c->id[0], c->id[1], ch.previous);
		reply_tray(c, &ch, -1);
	}
	json_decref(ch.moved_from);
}
