/* check_rfid.c: handler tests of RFID trays: the tray JSON, 409 on a tag-assigned tray, link-tag against the stand-in. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "spoolman_client.h"
#include "webtest.h"
#include "wt_spoolman.h"
#include "../harness/ckrun.h"

#define PW	"correct horse battery"
#define TAG_A	"04AABBCCDDEEFF0A"
#define TAG_B	"0123456789ABCDEF0123456789ABCDEF"

static struct app	*app;
static struct wt_client	 admin, op, view;
static long long	 uop, uview;

static void
setup(void)
{
	app = wt_app_members(PW, &admin, &op, &view, &uop, &uview);
	/* The tests share the database. */
	wt_sql(app, "DELETE FROM spool_patches", 0, NULL);
	wt_sql(app, "DELETE FROM settings WHERE key IN ('rfid_field', 'rfid_autocreate', 'storage_location')", 0, NULL);
}

static void
teardown(void)
{
	wt_app_free(app);
	app = NULL;
}

/* A printer (POST /printers) with the two members as operator and viewer, logged in; its id. */
static long long
printer(const char *name, const char *serial)
{
	char		 body[256];
	long long	 id;

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"host\":\"10.0.0.9\",\"serial\":\"%s\",\"access_code\":"
	    "\"12345678\"}", name, serial);
	id = wt_created(app, &admin, "/api/v1/printers", body);
	/* What its worker reports: four trays (the tags come from seen()). */
	snprintf(body, sizeof(body), "%lld", id);
	wt_sql(app, "INSERT INTO printer_status (printer_id, status, connected) VALUES ($1::bigint, "
	    "'{\"trays\":[{\"tray\":0,\"loaded\":true},{\"tray\":1,\"loaded\":true},{\"tray\":2,\"loaded\":true},"
	    "{\"tray\":254,\"loaded\":true}]}', true)", 1, (const char *[]){ body });
	wt_grant(app, uop, id, "operator");
	wt_grant(app, uview, id, "viewer");
	if (op.cookie[0] == '\0') {
		wt_login(app, &op, "op", PW);
		wt_login(app, &view, "view", PW);
	}
	return id;
}

/* The worker's side, straight in SQL: the tray reports tag (tray_tags), and optionally a lookup found spools. */
static const char *
seen(long long p, int tray, const char *tag, const char *spools)
{
	char		 pid[24], t[24];
	const char	*params[4] = { pid, t, tag, spools };

	snprintf(pid, sizeof(pid), "%lld", p);
	snprintf(t, sizeof(t), "%d", tray);
	wt_sql(app, "INSERT INTO tray_tags (printer_id, tray, tag) VALUES ($1::bigint, $2::integer, $3)", 3, params);
	if (spools == NULL)
		return NULL;
	return wt_sql(app, "SELECT rfid_apply($1::bigint, $2::integer, $3, $4::integer[])", 4, params);
}

/* The tray object `tray` of GET /printers/{p}/trays (new reference; json_decref it). */
static json_t *
tray_of(long long p, int tray)
{
	char		 path[64];
	struct wt_reply	 r;
	json_t		*t, *found = NULL;
	size_t		 i;

	snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays", p);
	r = wt_call(app, &view, "GET", path, NULL);
	ck_assert_int_eq(r.status, 200);
	json_array_foreach(json_object_get(r.json, "trays"), i, t)
		if (json_integer_value(json_object_get(t, "tray")) == tray)
			found = json_incref(t);
	wt_free(&r);
	ck_assert_msg(found != NULL, "tray %d not listed", tray);
	return found;
}

/* method path body as cl: the status, with error (when not NULL) checked against the answer's "error". */
static int
call(struct wt_client *cl, const char *method, const char *path, const char *body, const char *error)
{
	struct wt_reply	 r = wt_call(app, cl, method, path, body);
	int		 st = r.status;

	if (error != NULL)
		ck_assert_msg(wt_jstr(r.json, "error") != NULL && strcmp(wt_jstr(r.json, "error"), error) == 0,
		    "%s %s: %d %s (expected error %s)", method, path, st, r.body, error);
	wt_free(&r);
	return st;
}

START_TEST(test_tag_lock)
{
	long long	 p = printer("X1", "S1"), q = printer("P1S", "S2");
	char		 path[96];
	json_t		*t;
	struct wt_reply	 r;

	ck_assert_str_eq(seen(p, 0, TAG_A, "{3}"), "matched");
	t = tray_of(p, 0);
	ck_assert_str_eq(wt_jstr(t, "tag"), TAG_A);
	ck_assert_str_eq(wt_jstr(t, "assigned_by"), "tag");
	ck_assert_str_eq(wt_jstr(t, "tag_state"), "matched");
	ck_assert(json_is_null(json_object_get(t, "conflict")));
	ck_assert_int_eq(wt_jint(json_object_get(t, "spool"), "id"), 3);
	json_decref(t);
	/* By hand: neither a new spool, nor emptying, nor moving its spool away. */
	snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays/0", p);
	ck_assert_int_eq(call(&op, "PUT", path, "{\"spool_id\":2}", "tag_assigned"), 409);
	ck_assert_int_eq(call(&op, "PUT", path, "{\"spool_id\":null}", "tag_assigned"), 409);
	ck_assert_int_eq(call(&op, "DELETE", path, NULL, "tag_assigned"), 409);
	ck_assert_int_eq(call(&admin, "DELETE", path, NULL, "tag_assigned"), 409);
	snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays/5", q);
	ck_assert_int_eq(call(&op, "PUT", path, "{\"spool_id\":3,\"move\":true}", "tag_assigned"), 409);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM tray_assignments", 0, NULL), "1");
	/* A hand tray stays a hand tray, and DELETE empties it. */
	snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays/1", p);
	ck_assert_int_eq(call(&op, "PUT", path, "{\"spool_id\":2}", NULL), 200);
	t = tray_of(p, 1);
	ck_assert_str_eq(wt_jstr(t, "assigned_by"), "hand");
	ck_assert(json_is_null(json_object_get(t, "tag")));
	json_decref(t);
	ck_assert_int_eq(call(&view, "DELETE", path, NULL, NULL), 403);
	ck_assert_int_eq(call(&op, "DELETE", path, NULL, NULL), 200);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM tray_assignments WHERE valid_to IS NULL", 0, NULL), "1");
	/* The location texts: AMS slots, AMS HT, external holders; a long printer name is cut to fit 64. */
	ck_assert_str_eq(wt_sql(app, "SELECT spool_location('X1', 5) || '|' || spool_location('X1', 129) || '|' || "
	    "spool_location('X1', 254) || '|' || length(spool_location(repeat('n', 64), 127)) || '|' || "
	    "right(spool_location(repeat('n', 64), 127), 18)", 0, NULL),
	    "X1 / AMS 2 / Slot 2|X1 / AMS HT 2|X1 / External|64| / AMS 32 / Slot 4");
	/* Locations were queued for the worker: in, in, out. */
	ck_assert_str_eq(wt_sql(app, "SELECT string_agg(spool_id || ':' || coalesce(location, '-'), ',' ORDER BY id) "
	    "FROM spool_patches", 0, NULL), "3:X1 / AMS 1 / Slot 1,2:X1 / AMS 1 / Slot 2,2:-");
	/* The same tag in another printer's tray: a conflict on both, shown; the tray is freed, not guessed. */
	ck_assert_str_eq(seen(q, 254, TAG_A, "{3}"), "conflict");
	ck_assert_str_eq(wt_sql(app, "SELECT rfid_apply($1::bigint, 0, '" TAG_A "', '{3}')", 1,
	    (const char *[]){ "1" }), "conflict");
	t = tray_of(p, 0);
	ck_assert_str_eq(wt_jstr(t, "conflict"), "duplicate_tag");
	ck_assert(json_is_null(json_object_get(t, "spool")));
	ck_assert(json_is_null(json_object_get(t, "assigned_by")));
	json_decref(t);
	/* The dashboard and the status route carry the fields too. */
	r = wt_call(app, &op, "GET", "/api/v1/status", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"conflict\":\"duplicate_tag\""));
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/printers/%lld/status", p);
	r = wt_call(app, &op, "GET", path, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"tag\":\"" TAG_A "\""));
	wt_free(&r);
}
END_TEST

/* The stand-in's copy of spool id (new). */
static json_t *
standin_spool(const struct wt_spoolman *sm, int id)
{
	struct spoolman_client	*sc;
	json_t			*j;
	char			 err[ERRBUF_LEN], path[32];

	ck_assert_int_eq(spoolman_client_new(sm->url, NULL, NULL, 5000, &sc, err), 0);
	snprintf(path, sizeof(path), "/spool/%d", id);
	ck_assert_msg(spoolman_client_get(sc, path, &j, err) == SPOOLMAN_CLIENT_OK, "%s", err);
	spoolman_client_free(sc);
	return j;
}

/* link-tag against stand-in version, with the extra field `field` (created when the stand-in lacks it). */
static void
link_tag(const char *version, const char *field)
{
	const char		*args[] = { "--version", version, NULL };
	struct wt_spoolman	 sm;
	long long		 p;
	char			 path[96], want[64];
	const char		*params[1] = { field };
	json_t			*t, *sp;

	wt_spoolman_start(&sm, args);
	wt_spoolman_use(app, &sm);
	if (strcmp(field, "tag") != 0)
		wt_sql(app, "INSERT INTO settings (key, value) VALUES ('rfid_field', $1)", 1, params);
	p = printer("X1", "S1");
	seen(p, 2, TAG_B, "{}");	/* a tag no spool carries: unknown */
	snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays/2/link-tag", p);
	ck_assert_int_eq(call(&view, "POST", path, "{\"spool_id\":3}", NULL), 403);
	ck_assert_int_eq(call(&op, "POST", path, "{}", "invalid"), 400);
	ck_assert_int_eq(call(&op, "POST", path, "{\"spool_id\":3,\"x\":1}", "invalid"), 400);
	ck_assert_int_eq(call(&op, "POST", path, "{\"spool_id\":999}", "invalid"), 400);
	if (strcmp(field, "tag") == 0)	/* the built-in spool 1 carries another tag */
		ck_assert_int_eq(call(&op, "POST", path, "{\"spool_id\":1}", "spool_has_tag"), 409);
	ck_assert_int_eq(call(&op, "POST", path, "{\"spool_id\":3}", NULL), 200);
	/* What the stand-in stored: the JSON-encoded string, under the field, which exists now. */
	sp = standin_spool(&sm, 3);
	snprintf(want, sizeof(want), "\"%s\"", TAG_B);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(sp, "extra"), field)), want);
	ck_assert(json_object_get(sp, "used_weight") != NULL && json_number_value(json_object_get(sp,
	    "used_weight")) == 0);
	json_decref(sp);
	t = tray_of(p, 2);
	ck_assert_str_eq(wt_jstr(t, "assigned_by"), "tag");
	ck_assert_int_eq(wt_jint(json_object_get(t, "spool"), "id"), 3);
	json_decref(t);
	ck_assert_str_eq(wt_sql(app, "SELECT location FROM spool_patches WHERE spool_id = 3", 0, NULL),
	    "X1 / AMS 1 / Slot 3");
	/* Again: already linked; a tray without a tag: nothing to link. */
	ck_assert_int_eq(call(&op, "POST", path, "{\"spool_id\":3}", "tag_assigned"), 409);
	snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays/1/link-tag", p);
	ck_assert_int_eq(call(&op, "POST", path, "{\"spool_id\":2}", "no_tag"), 409);
	wt_spoolman_stop(&sm);
}

START_TEST(test_link_tag_026)
{
	link_tag("0.26.1", "tag");
}
END_TEST

START_TEST(test_link_tag_022)
{
	link_tag("0.22.1", "sk_rfid");
}
END_TEST

START_TEST(test_settings)
{
	struct wt_reply	 r;
	const char	*put = "/api/v1/settings";

	r = wt_call(app, &admin, "GET", put, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(wt_jstr(r.json, "rfid_field"), "tag");	/* the default */
	ck_assert(json_is_false(json_object_get(r.json, "rfid_autocreate")));
	ck_assert(json_is_null(json_object_get(r.json, "storage_location")));
	wt_free(&r);
	r = wt_call(app, &admin, "PUT", put, "{\"rfid_field\":\"sk_rfid\",\"storage_location\":\"Shelf A\","
	    "\"rfid_autocreate\":true}");
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(wt_jstr(r.json, "rfid_field"), "sk_rfid");
	ck_assert_str_eq(wt_jstr(r.json, "storage_location"), "Shelf A");
	ck_assert(json_is_true(json_object_get(r.json, "rfid_autocreate")));
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT value FROM settings WHERE key = 'rfid_autocreate'", 0, NULL), "true");
	ck_assert_int_eq(call(&admin, "PUT", put, "{\"rfid_field\":\"Bad-Key\"}", "invalid"), 400);
	ck_assert_int_eq(call(&admin, "PUT", put, "{\"storage_location\":\"a\\nb\"}", "invalid"), 400);
	ck_assert_int_eq(call(&admin, "PUT", put, "{\"storage_location\":\"" "0123456789012345678901234567890123456789"
	    "01234567890123456789012345\"}", "invalid"), 400);
	ck_assert_int_eq(call(&admin, "PUT", put, "{\"rfid_autocreate\":\"yes\"}", "invalid"), 400);
	wt_login(app, &op, "op", PW);
	ck_assert_int_eq(call(&op, "PUT", put, "{\"rfid_autocreate\":false}", NULL), 403);
	r = wt_call(app, &admin, "PUT", put, "{\"rfid_autocreate\":false,\"storage_location\":null,"
	    "\"rfid_field\":null}");
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_false(json_object_get(r.json, "rfid_autocreate")));
	ck_assert(json_is_null(json_object_get(r.json, "storage_location")));
	ck_assert_str_eq(wt_jstr(r.json, "rfid_field"), "tag");
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM settings WHERE key IN ('rfid_field', 'rfid_autocreate', "
	    "'storage_location')", 0, NULL), "0");
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("web rfid");
	const TTest *const tests[] = { test_tag_lock, test_link_tag_026, test_link_tag_022, test_settings };
	size_t		 i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		suite_add_tcase(s, ck_tcase(tests[i]->name, tests[i], setup, teardown, 60));
	return ck_run(s);
}
