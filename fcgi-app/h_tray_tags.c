/* h_tray_tags.c: POST /printers/{id}/trays/{tray}/link-tag: writes a tray's RFID tag onto a Spoolman spool, then assigns it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "db.h"
#include "routes.h"
#include "spools.h"
#include "status.h"

#define FIELD_DEFAULT	"tag"	/* as worker/rfid.h RFID_FIELD_DEFAULT */
#define FIELD_KEY_MAX	64

/* The tray $2 of printer $1 as the tray routes show it (it reports a tag, so it is in tj). */
#define TRAY_SQL \
	"WITH vp AS (SELECT $1::bigint AS id), " TRAYS_CTES(TRAY_FULL) " SELECT j FROM tj WHERE tray = $2::integer"

/* The setting rfid_field (a Spoolman extra field key) into field.  0, or -1 after answering. */
static int
read_field(struct ctx *c, char *field)
{
	struct db_result	*r;
	const char		*v;
	size_t			 n;

	if (ctx_query(c, "SELECT value FROM settings WHERE key = 'rfid_field'", 0, NULL, &r) == -1)
		return -1;
	v = db_result_rows(r) == 1 ? db_result_get(r, 0, 0) : FIELD_DEFAULT;
	n = strlen(v);
	if (n == 0 || n > FIELD_KEY_MAX || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		db_result_free(r);
		return ctx_fail(c, 503, "rfid_field_invalid", "the setting rfid_field must be 1-64 of a-z, 0-9 and _ "
		    "(a Spoolman extra field key)");
	}
	snprintf(field, FIELD_KEY_MAX + 1, "%s", v);
	db_result_free(r);
	return 0;
}

/*
 * The tray's tag, checked: the tray reports one, it is not matched already, and the spool is in no other tray.
 * 0 with tag (RFID identity, 33 bytes) set, or -1 after answering.
 */
static int
check_tray(struct ctx *c, long long spool, char *tag)
{
	char			 pid[24], tray[24], sid[24];
	const char		*p[3] = { ctx_num(pid, c->id[0]), ctx_num(tray, c->id[1]), ctx_num(sid, spool) };
	struct db_result	*r;
	int			 rc = 0;

	if (ctx_query(c, "SELECT tt.tag, tt.state, tt.spool_id, (SELECT p.name || ', ' || tray_label(a.tray) "
	    "    FROM tray_assignments a JOIN printers p ON p.id = a.printer_id WHERE a.spool_id = $3::integer "
	    "    AND a.valid_to IS NULL AND (a.printer_id, a.tray) <> ($1::bigint, $2::integer)) "
	    "  FROM (SELECT 1) one LEFT JOIN tray_tags tt ON tt.printer_id = $1::bigint AND tt.tray = $2::integer",
	    3, p, &r) == -1)
		return -1;
	if (db_result_get(r, 0, 0) == NULL)
		rc = ctx_fail(c, 409, "no_tag", "tray %lld reports no RFID tag: insert a tagged spool first", c->id[1]);
	else if (strcmp(db_result_get(r, 0, 1), "matched") == 0)
		rc = ctx_fail(c, 409, "tag_assigned", "tray %lld is already assigned by its tag to spool %s", c->id[1],
		    db_result_get(r, 0, 2));
	else if (db_result_get(r, 0, 3) != NULL)
		rc = ctx_fail(c, 409, "spool_in_other_tray", "spool %lld is in %s: take it out of that tray first",
		    spool, db_result_get(r, 0, 3));
	else
		snprintf(tag, 33, "%s", db_result_get(r, 0, 0));
	db_result_free(r);
	return rc;
}

/* The extra field exists in Spoolman (created through the field API when missing).  0, or -1 after answering. */
static int
ensure_field(struct ctx *c, struct spoolman_client *sc, const char *field)
{
	enum spoolman_client_result	 res;
	json_t				*list, *f, *body, *out;
	char				 err[ERRBUF_LEN], path[96];
	size_t				 i;

	if ((res = spoolman_client_get(sc, "/field/spool", &list, err)) != SPOOLMAN_CLIENT_OK)
		return spools_fail(c, res, err, NULL);
	json_array_foreach(list, i, f)
		if (json_is_string(json_object_get(f, "key")) &&
		    strcmp(json_string_value(json_object_get(f, "key")), field) == 0) {
			json_decref(list);
			return 0;
		}
	json_decref(list);
	body = json_pack("{s:s, s:s}", "name", "RFID tag (Spoolkeeper)", "field_type", "text");
	snprintf(path, sizeof(path), "/field/spool/%s", field);
	res = spoolman_client_send(sc, "POST", path, body, &out, err);
	json_decref(body);
	json_decref(out);
	if (res != SPOOLMAN_CLIENT_OK)
		return spools_fail(c, res, err, NULL);
	ctx_log(c, "created the Spoolman spool extra field \"%s\"", field);
	return 0;
}

/*
 * Writes tag on the spool: PATCH /spool/{id} {"extra": {field: "\"TAG\""}} (a JSON-encoded string, as Spoolman
 * stores text fields; the other extra keys are left as they are, Spoolman merges per key).  A spool that carries
 * another tag is refused.  0, or -1 after answering.
 */
static int
write_tag(struct ctx *c, struct spoolman_client *sc, const char *field, long long spool, const char *tag)
{
	enum spoolman_client_result	 res;
	json_t				*sp, *old, *body, *out, *enc;
	char				 err[ERRBUF_LEN], path[48], *val;

	if ((res = spools_fetch(sc, spool, &sp, err)) != SPOOLMAN_CLIENT_OK) {
		if (res == SPOOLMAN_CLIENT_NOT_FOUND)
			return ctx_fail(c, 400, "invalid", "spool_id: no spool %lld in Spoolman", spool);
		return spools_fail(c, res, err, NULL);
	}
	old = json_object_get(json_object_get(sp, "extra"), field);
	if (json_is_string(old) && strcmp(json_string_value(old), "\"\"") != 0 &&
	    strcmp(json_string_value(old), "null") != 0) {
		json_t *v = json_loads(json_string_value(old), JSON_DECODE_ANY, NULL);
		int same = json_is_string(v) && strcasecmp(json_string_value(v), tag) == 0;

		json_decref(v);
		if (!same) {
			ctx_fail(c, 409, "spool_has_tag", "spool %lld already carries the tag %s in Spoolman (field %s): "
			    "clear it there first", spool, json_string_value(old), field);
			json_decref(sp);
			return -1;
		}
	}
	json_decref(sp);
	enc = json_string(tag);
	val = json_dumps(enc, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(enc);
	body = json_pack("{s:{s:s}}", "extra", field, val);
	free(val);
	snprintf(path, sizeof(path), "/spool/%lld", spool);
	res = spoolman_client_send(sc, "PATCH", path, body, &out, err);
	json_decref(body);
	json_decref(out);
	if (res != SPOOLMAN_CLIENT_OK)
		return spools_fail(c, res, err, NULL);
	return 0;
}

/* Assigns the spool to the tray by its tag (SQL rfid_apply) and answers with the tray.  0, or -1 after answering. */
static int
assign(struct ctx *c, long long spool, const char *tag)
{
	char			 pid[24], tray[24], sid[24];
	const char		*p[4] = { ctx_num(pid, c->id[0]), ctx_num(tray, c->id[1]), tag, ctx_num(sid, spool) };
	struct db_result	*r;
	json_t			*j;
	int			 ok;

	if (ctx_query(c, "SELECT rfid_apply($1::bigint, $2::integer, $3, ARRAY[$4::integer])", 4, p, &r) == -1)
		return -1;
	ok = strcmp(db_result_get(r, 0, 0), "matched") == 0;
	db_result_free(r);
	status_cache_invalidate();
	if (!ok)
		return ctx_fail(c, 409, "conflict", "the tag was written on spool %lld, but the tray could not be "
		    "assigned by it (the tag left the tray, or is in another tray too): see the tray's conflict", spool);
	if ((j = ctx_query_json(c, TRAY_SQL, 2, p, NULL)) == NULL)
		return -1;
	json_object_set_new(j, "printer_id", json_integer(c->id[0]));
	http_reply_json(c->res, 200, j);
	return 0;
}

void
h_tray_tags_link(struct ctx *c)
{
	static const char *const fields[] = { "spool_id", NULL };
	struct spoolman_client	*sc = NULL;
	char			 field[FIELD_KEY_MAX + 1], tag[33];
	long long		 spool = 0;
	int			 rc;

	if (ctx_need_printer(c, c->id[0], ACCESS_OPERATE) == -1)
		return;
	if (c->id[1] > 255 || (c->id[1] > 191 && c->id[1] < 254)) {
		ctx_fail(c, 400, "invalid", "tray %lld: a tray is 0-191 or 254/255", c->id[1]);
		return;
	}
	if (body_only(c, fields) == -1 || body_int(c, "spool_id", 1, 1, SPOOL_ID_MAX, &spool) == -1)
		return;
	if (check_tray(c, spool, tag) == -1 || read_field(c, field) == -1)
		return;
	if ((rc = spools_client(c, &sc)) != 1) {
		if (rc != -1)
			spools_fail_config(c, rc);
		return;
	}
	rc = ensure_field(c, sc, field);
	if (rc == 0)
		rc = write_tag(c, sc, field, spool, tag);
	spoolman_client_free(sc);
	if (rc == 0 && assign(c, spool, tag) == 0)
		ctx_log(c, "printer %lld tray %lld: tag %s linked to spool %lld (Spoolman field %s)", c->id[0],
		    c->id[1], tag, spool, field);
}
