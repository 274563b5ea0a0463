/* check_printers.c: handler tests of printers, their trays and the live status (the dashboard), Spoolman stubbed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "secret.h"
#include "webtest.h"
#include "wt_spoolman.h"
#include "../harness/ckrun.h"

#define PW	"correct horse battery"
#define CODE	"S3cr3t-Acc3ss-4242"

static struct app	*app;
static struct wt_client	 admin, op, view, other;
static long long	 uop, uview;

static void
setup(void)
{
	app = wt_app_members(PW, &admin, &op, &view, &uop, &uview);
	memset(&other, 0, sizeof(other));
	wt_user(app, "other", PW, "member");
}

static void
teardown(void)
{
	wt_app_free(app);
	app = NULL;
}

/* Logs the three members in. */
static void
members(void)
{
	wt_login(app, &op, "op", PW);
	wt_login(app, &view, "view", PW);
	wt_login(app, &other, "other", PW);
}

/* The status of one call (the reply freed). */
static int
status_of(struct wt_client *cl, const char *method, const char *path, const char *body)
{
	struct wt_reply	 r = wt_call(app, cl, method, path, body);
	int		 st = r.status;

	ck_assert_msg(r.json != NULL || st == 204, "%s %s: %d, not JSON: %s", method, path, st, r.body);
	wt_free(&r);
	return st;
}

/* POST /printers as the admin; the new id. */
static long long
add_printer(const char *name, const char *serial)
{
	char		 body[512];

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"host\":\"10.0.0.9\",\"serial\":\"%s\",\"access_code\":\""
	    CODE "\",\"model\":\"X1C\"}", name, serial);
	return wt_created(app, &admin, "/api/v1/printers", body);
}

START_TEST(test_crud)
{
	struct wt_reply	 r;
	char		 path[64], *plain, err[ERRBUF_LEN];
	const char	*enc;
	long long	 id;

	id = add_printer("X1C Garage", "01S00C123456789");
	snprintf(path, sizeof(path), "/api/v1/printers/%lld", id);
	r = wt_call(app, &admin, "GET", path, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(wt_jstr(r.json, "name"), "X1C Garage");
	ck_assert_str_eq(wt_jstr(r.json, "serial"), "01S00C123456789");
	ck_assert_str_eq(wt_jstr(r.json, "access"), "admin");
	ck_assert(json_is_true(json_object_get(r.json, "access_code_set")));
	ck_assert(json_is_true(json_object_get(r.json, "access_code_encrypted")));
	ck_assert_int_eq(wt_jint(r.json, "mqtt_port"), 8883);
	ck_assert_int_eq(wt_jint(r.json, "ftps_port"), 990);
	ck_assert(json_is_true(json_object_get(r.json, "enabled")));
	ck_assert_ptr_null(json_object_get(r.json, "access_code"));
	ck_assert_ptr_null(strstr(r.body, CODE));
	wt_free(&r);
	/* Stored encrypted for its column, and it opens with the key. */
	ck_assert_ptr_null(wt_sql(app, "SELECT access_code FROM printers", 0, NULL));
	enc = wt_sql(app, "SELECT access_code_enc FROM printers", 0, NULL);
	ck_assert(strncmp(enc, "v1:", 3) == 0 && strstr(enc, CODE) == NULL);
	ck_assert_msg(secret_decrypt(app->key, SECRET_ACCESS_CODE, enc, &plain, err) == 0, "%s", err);
	ck_assert_str_eq(plain, CODE);
	secret_wipe_free(plain);
	/* Update: a new code, another name, the model cleared, an owner, ports and flags. */
	r = wt_call(app, &admin, "PATCH", path, "{\"name\":\"X1C Attic\",\"model\":null,\"access_code\":\"87654321\","
	    "\"mqtt_port\":18883,\"insecure_tls\":true,\"enabled\":false,\"owner_id\":null}");
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(wt_jstr(r.json, "name"), "X1C Attic");
	ck_assert(json_is_null(json_object_get(r.json, "model")));
	ck_assert_int_eq(wt_jint(r.json, "mqtt_port"), 18883);
	ck_assert(json_is_true(json_object_get(r.json, "insecure_tls")));
	ck_assert(json_is_false(json_object_get(r.json, "enabled")));
	ck_assert_ptr_null(strstr(r.body, "87654321"));
	wt_free(&r);
	enc = wt_sql(app, "SELECT access_code_enc FROM printers", 0, NULL);
	ck_assert(secret_decrypt(app->key, SECRET_ACCESS_CODE, enc, &plain, err) == 0);
	ck_assert_str_eq(plain, "87654321");
	secret_wipe_free(plain);
	/* The list, with the owner. */
	snprintf(path, sizeof(path), "/api/v1/printers/%lld", id);
	{
		char	 body[64];

		snprintf(body, sizeof(body), "{\"owner_id\":%lld}", uop);
		r = wt_call(app, &admin, "PATCH", path, body);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(wt_jstr(r.json, "owner"), "op");
		wt_free(&r);
	}
	r = wt_call(app, &admin, "GET", "/api/v1/printers", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(r.json), 1);
	ck_assert_ptr_null(strstr(r.body, CODE));
	ck_assert_ptr_null(strstr(r.body, "87654321"));
	wt_free(&r);
	/* Delete: gone. */
	ck_assert_int_eq(status_of(&admin, "DELETE", path, NULL), 204);
	ck_assert_int_eq(status_of(&admin, "GET", path, NULL), 404);
	ck_assert_int_eq(status_of(&admin, "DELETE", path, NULL), 404);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"model\":\"P1S\"}"), 404);
}
END_TEST

START_TEST(test_validation)
{
	static const char *const bad[] = {
		"{\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\"}",			/* no name */
		"{\"name\":\"1234\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\"}",	/* all digits */
		"{\"name\":\" pad\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\"}",
		"{\"name\":\"n\",\"host\":\"http://h/\",\"serial\":\"S1\",\"access_code\":\"x\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S-1\",\"access_code\":\"x\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\"}",				/* no code */
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\",\"mqtt_port\":70000}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\",\"mqtt_port\":\"8883\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\",\"enabled\":\"yes\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\",\"colour\":\"red\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\",\"owner_id\":999999}",
		"{\"name\":\"n\\u0007\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\"}",
		"{\"name\":\"evil\\u0000nul\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\"}",
		"{\"name\":[\"n\"],\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\",\"model\":\"\"}",
		"{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\",\"enabled\":null}",
		"{\"name\":\"n123456789012345678901234567890123456789012345678901234567890123456\",\"host\":\"h\","
		    "\"serial\":\"S1\",\"access_code\":\"x\"}",
	};
	const char	*sqli = "x'; DROP TABLE users; --", *xss = "<script>alert(1)</script>";
	struct wt_reply	 r;
	char		 body[256], path[64];
	size_t		 i;
	long long	 id;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = wt_call(app, &admin, "POST", "/api/v1/printers", bad[i]);
		ck_assert_msg(r.status == 400, "%s: %d %s", bad[i], r.status, r.body);
		/* Jansson itself refuses \u0000: bad_json. */
		ck_assert(strcmp(wt_jstr(r.json, "error"), "invalid") == 0 ||
		    strcmp(wt_jstr(r.json, "error"), "bad_json") == 0);
		wt_free(&r);
	}
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM printers", 0, NULL), "0");
	/* Hostile text is stored as it is and comes back as the same JSON string, markup escaped. */
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"host\":\"h\",\"serial\":\"S1\",\"access_code\":\"x\","
	    "\"model\":\"%s\"}", sqli, xss);
	r = wt_call(app, &admin, "POST", "/api/v1/printers", body);
	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	ck_assert_str_eq(wt_jstr(r.json, "name"), sqli);
	ck_assert_str_eq(wt_jstr(r.json, "model"), xss);
	ck_assert_ptr_null(strchr(r.body, '<'));
	id = wt_jint(r.json, "id");
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM users", 0, NULL), "4");
	ck_assert_str_eq(wt_sql(app, "SELECT model FROM printers", 0, NULL), xss);
	/* Names and serials are unique regardless of case: 409. */
	ck_assert_int_eq(status_of(&admin, "POST", "/api/v1/printers", "{\"name\":\"X'; DROP TABLE USERS; --\","
	    "\"host\":\"h\",\"serial\":\"S2\",\"access_code\":\"x\"}"), 409);
	ck_assert_int_eq(status_of(&admin, "POST", "/api/v1/printers", "{\"name\":\"other\",\"host\":\"h\","
	    "\"serial\":\"s1\",\"access_code\":\"x\"}"), 409);
	/* Unicode names count characters, not bytes. */
	ck_assert_int_eq(status_of(&admin, "POST", "/api/v1/printers", "{\"name\":\"\\u540d\\u524d\\ud83d\\ude42\","
	    "\"host\":\"fe80::1%eth0\",\"serial\":\"S3\",\"access_code\":\"x\"}"), 201);
	/* An update may not empty a required field, nor name an unknown owner. */
	snprintf(path, sizeof(path), "/api/v1/printers/%lld", id);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"host\":null}"), 400);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"owner_id\":999999}"), 400);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"owner_id\":\"1\"}"), 400);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"access_code\":null}"), 400);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "[1]"), 400);
	ck_assert_int_eq(status_of(&admin, "PUT", path, "{}"), 405);
	ck_assert_int_eq(status_of(&admin, "GET", "/api/v1/printers/0", NULL), 404);
	ck_assert_int_eq(status_of(&admin, "GET", "/api/v1/printers/x1", NULL), 404);
}
END_TEST

START_TEST(test_no_key)
{
	char		 path[64];
	long long	 id = add_printer("P1S", "S100");
	struct wt_reply	 r;

	secret_key_free(app->key);
	app->key = NULL;
	r = wt_call(app, &admin, "POST", "/api/v1/printers", "{\"name\":\"A1\",\"host\":\"h\",\"serial\":\"S2\","
	    "\"access_code\":\"12345678\"}");
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "no_key");
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "spoolkeeper key init"));
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/printers/%lld", id);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"access_code\":\"12345678\"}"), 503);
	/* What needs no key still works. */
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"model\":\"P1S\"}"), 200);
	ck_assert_int_eq(status_of(&admin, "GET", path, NULL), 200);
}
END_TEST

START_TEST(test_delete_with_history)
{
	char		 path[64], pid[24];
	const char	*params[1] = { pid };
	long long	 id = add_printer("P1P", "S200");
	struct wt_reply	 r;

	snprintf(pid, sizeof(pid), "%lld", id);
	wt_sql(app, "INSERT INTO print_jobs (printer_id, job_key, state, ended_at) VALUES ($1::bigint, 'k1', "
	    "'finished', now())", 1, params);
	snprintf(path, sizeof(path), "/api/v1/printers/%lld", id);
	r = wt_call(app, &admin, "DELETE", path, NULL);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "conflict");
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "\"enabled\": false"));
	wt_free(&r);
	ck_assert_int_eq(status_of(&admin, "PATCH", path, "{\"enabled\":false}"), 200);
	ck_assert_str_eq(wt_sql(app, "SELECT enabled FROM printers", 0, NULL), "f");
}
END_TEST

START_TEST(test_visibility)
{
	long long	 p1 = add_printer("Printer 1", "S1"), p2 = add_printer("Printer 2", "S2");
	struct wt_reply	 r;
	char		 path[96];
	const char	*tails[] = { "", "/status", "/trays" };
	size_t		 i;

	wt_grant(app, uop, p1, "operator");
	wt_grant(app, uview, p2, "viewer");
	members();
	r = wt_call(app, &op, "GET", "/api/v1/printers", NULL);
	ck_assert_int_eq(json_array_size(r.json), 1);
	ck_assert_str_eq(wt_jstr(json_array_get(r.json, 0), "name"), "Printer 1");
	ck_assert_str_eq(wt_jstr(json_array_get(r.json, 0), "access"), "operator");
	wt_free(&r);
	r = wt_call(app, &other, "GET", "/api/v1/printers", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(r.json), 0);
	wt_free(&r);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/api/v1/printers/%lld%s", p2, tails[i]);
		ck_assert_int_eq(status_of(&op, "GET", path, NULL), 404);
		ck_assert_int_eq(status_of(&other, "GET", path, NULL), 404);
		ck_assert_int_eq(status_of(&view, "GET", path, NULL), 200);
		snprintf(path, sizeof(path), "/api/v1/printers/%lld%s", p1, tails[i]);
		ck_assert_int_eq(status_of(&op, "GET", path, NULL), 200);
		ck_assert_int_eq(status_of(&view, "GET", path, NULL), 404);
		snprintf(path, sizeof(path), "/api/v1/printers/999999%s", tails[i]);
		ck_assert_int_eq(status_of(&admin, "GET", path, NULL), 404);
	}
	/* Members change no printer, not even their own. */
	snprintf(path, sizeof(path), "/api/v1/printers/%lld", p1);
	ck_assert_int_eq(status_of(&op, "PATCH", path, "{\"model\":\"x\"}"), 403);
	ck_assert_int_eq(status_of(&op, "DELETE", path, NULL), 403);
	ck_assert_int_eq(status_of(&op, "POST", "/api/v1/printers", "{\"name\":\"n\",\"host\":\"h\",\"serial\":\"S9\","
	    "\"access_code\":\"x\"}"), 403);
	ck_assert_int_eq(status_of(NULL, "GET", "/api/v1/printers", NULL), 401);
	/* The dashboard of each shows only their printers. */
	r = wt_call(app, &view, "GET", "/api/v1/status", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "printers")), 1);
	ck_assert_int_eq(wt_jint(json_array_get(json_object_get(r.json, "printers"), 0), "id"), p2);
	ck_assert_str_eq(wt_jstr(json_array_get(json_object_get(r.json, "printers"), 0), "access"), "viewer");
	wt_free(&r);
	r = wt_call(app, &other, "GET", "/api/v1/status", NULL);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "printers")), 0);
	wt_free(&r);
	r = wt_call(app, &admin, "GET", "/api/v1/status", NULL);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "printers")), 2);
	wt_free(&r);
}
END_TEST

/* PUT one tray; the reply (free it). */
static struct wt_reply
put_tray(struct wt_client *cl, long long printer, long long tray, const char *body)
{
	char	 path[96];

	snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays/%lld", printer, tray);
	return wt_call(app, cl, "PUT", path, body);
}

static int
put_tray_status(struct wt_client *cl, long long printer, long long tray, const char *body)
{
	struct wt_reply	 r = put_tray(cl, printer, tray, body);
	int		 st = r.status;

	ck_assert(r.json != NULL);
	wt_free(&r);
	return st;
}

START_TEST(test_trays)
{
	struct wt_spoolman	 sm;
	long long		 p1 = add_printer("Printer 1", "S1"), p2 = add_printer("Printer 2", "S2");
	long long		 p3 = add_printer("Printer 3", "S3");
	struct wt_reply		 r;
	const json_t		*sp;

	wt_spoolman_start(&sm, NULL);
	wt_spoolman_use(app, &sm);
	wt_grant(app, uop, p1, "operator");
	wt_grant(app, uview, p1, "viewer");
	wt_grant(app, uview, p2, "viewer");
	members();
	/* An operator maps spool 1; Spoolman confirms it and its copy is cached. */
	r = put_tray(&op, p1, 0, "{\"spool_id\":1}");
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(wt_jstr(r.json, "spoolman"), "ok");
	ck_assert_str_eq(wt_jstr(r.json, "label"), "AMS 1 slot 1");
	ck_assert(json_is_null(json_object_get(r.json, "previous_spool_id")));
	sp = json_object_get(r.json, "spool");
	ck_assert_int_eq(wt_jint(sp, "id"), 1);
	ck_assert_str_eq(wt_jstr(sp, "name"), "PLA Basic Black");
	ck_assert_str_eq(wt_jstr(sp, "vendor"), "Bambu Lab");
	ck_assert_ptr_nonnull(wt_jstr(sp, "since"));
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT spool->'filament'->>'name' FROM spool_cache WHERE spool_id = 1", 0,
	    NULL), "PLA Basic Black");
	/* The same again changes nothing. */
	r = put_tray(&op, p1, 0, "{\"spool_id\":1}");
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_false(json_object_get(r.json, "changed")));
	wt_free(&r);
	/* In another tray: 409 unless told to move it. */
	r = put_tray(&op, p1, 5, "{\"spool_id\":1}");
	ck_assert_int_eq(r.status, 409);
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "move"));
	wt_free(&r);
	r = put_tray(&op, p1, 5, "{\"spool_id\":1,\"move\":true}");
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_int_eq(wt_jint(json_object_get(r.json, "moved_from"), "tray"), 0);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM tray_assignments WHERE valid_to IS NULL", 0, NULL), "1");
	ck_assert_str_eq(wt_sql(app, "SELECT tray FROM tray_assignments WHERE valid_to IS NULL", 0, NULL), "5");
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM tray_assignments", 0, NULL), "2");
	/* A new spool in a full tray replaces it; the old one is named. */
	r = put_tray(&op, p1, 5, "{\"spool_id\":2}");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(wt_jint(r.json, "previous_spool_id"), 1);
	wt_free(&r);
	/* A viewer may look but not map; a printer one cannot see is 404. */
	ck_assert_int_eq(put_tray_status(&view, p1, 1, "{\"spool_id\":3}"), 403);
	ck_assert_int_eq(put_tray_status(&op, p2, 1, "{\"spool_id\":3}"), 404);
	ck_assert_int_eq(put_tray_status(&other, p1, 1, "{\"spool_id\":3}"), 404);
	/* Spools in trays of printers the operator may not change or see. */
	ck_assert_int_eq(put_tray_status(&admin, p2, 0, "{\"spool_id\":3}"), 200);
	ck_assert_int_eq(put_tray_status(&admin, p3, 0, "{\"spool_id\":4}"), 200);
	r = put_tray(&op, p1, 1, "{\"spool_id\":3}");
	ck_assert_int_eq(r.status, 409);
	wt_free(&r);
	ck_assert_int_eq(put_tray_status(&op, p1, 1, "{\"spool_id\":4,\"move\":true}"), 403);
	r = put_tray(&op, p1, 1, "{\"spool_id\":4}");
	ck_assert_int_eq(r.status, 409);
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "cannot see"));
	ck_assert_ptr_null(strstr(wt_jstr(r.json, "detail"), "Printer 3"));
	wt_free(&r);
	/* The admin moves across printers. */
	ck_assert_int_eq(put_tray_status(&admin, p1, 1, "{\"spool_id\":4,\"move\":true}"), 200);
	/* Tray ids: AMS 0-127, AMS HT 128-191, external 254 and 255; nothing else. */
	ck_assert_int_eq(put_tray_status(&op, p1, 16, "{\"spool_id\":null}"), 200);
	ck_assert_int_eq(put_tray_status(&op, p1, 191, "{\"spool_id\":null}"), 200);
	ck_assert_int_eq(put_tray_status(&op, p1, 254, "{\"spool_id\":null}"), 200);
	ck_assert_int_eq(put_tray_status(&op, p1, 192, "{\"spool_id\":null}"), 400);
	ck_assert_int_eq(put_tray_status(&op, p1, 300, "{\"spool_id\":null}"), 400);
	ck_assert_int_eq(status_of(&op, "PUT", "/api/v1/printers/1/trays/-1", "{\"spool_id\":null}"), 404);
	/* Bodies. */
	ck_assert_int_eq(put_tray_status(&op, p1, 2, "{}"), 400);
	ck_assert_int_eq(put_tray_status(&op, p1, 2, "{\"spool_id\":\"3\"}"), 400);
	ck_assert_int_eq(put_tray_status(&op, p1, 2, "{\"spool_id\":0}"), 400);
	ck_assert_int_eq(put_tray_status(&op, p1, 2, "{\"spool_id\":3,\"move\":1}"), 400);
	ck_assert_int_eq(put_tray_status(&op, p1, 2, "{\"spool_id\":3,\"spool\":3}"), 400);
	ck_assert_int_eq(put_tray_status(&op, p1, 2, "{\"spool_id\":2147483648}"), 400);
	/* A spool Spoolman does not have. */
	r = put_tray(&op, p1, 2, "{\"spool_id\":999}");
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "no spool 999 in Spoolman"));
	wt_free(&r);
	/* Spoolman down: the mapping is still made, and the answer says so. */
	wt_spoolman_stop(&sm);
	r = put_tray(&op, p1, 3, "{\"spool_id\":77}");
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(wt_jstr(r.json, "spoolman"), "unreachable");
	ck_assert_int_eq(wt_jint(json_object_get(r.json, "spool"), "id"), 77);
	ck_assert(json_is_null(json_object_get(json_object_get(r.json, "spool"), "name")));
	wt_free(&r);
	wt_sql(app, "DELETE FROM settings", 0, NULL);
	r = put_tray(&op, p1, 3, "{\"spool_id\":78}");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(wt_jstr(r.json, "spoolman"), "not_configured");
	wt_free(&r);
	/* Empty a tray: the assignment is closed, not deleted. */
	r = put_tray(&op, p1, 3, "{\"spool_id\":null}");
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_null(json_object_get(r.json, "spool")));
	ck_assert_int_eq(wt_jint(r.json, "previous_spool_id"), 78);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM tray_assignments WHERE spool_id = 78 AND valid_to IS NOT "
	    "NULL", 0, NULL), "1");
	/* The tray list shows what is mapped. */
	{
		char	 path[64];

		snprintf(path, sizeof(path), "/api/v1/printers/%lld/trays", p1);
		r = wt_call(app, &view, "GET", path, NULL);
		ck_assert_int_eq(r.status, 200);
		ck_assert_int_eq(json_array_size(json_object_get(r.json, "trays")), 2);
		ck_assert_int_eq(wt_jint(json_array_get(json_object_get(r.json, "trays"), 0), "tray"), 1);
		wt_free(&r);
	}
}
END_TEST

/* A printer_status row as worker/status_json.c writes it (X1C, 1 AMS, an unknown unit, the external spool). */
#define STATUS_DOC \
	"{\"state\":\"RUNNING\",\"layer\":57,\"total_layers\":212,\"percent\":27,\"remaining_min\":94," \
	"\"nozzle_temp\":219.8125,\"nozzle_target\":220.0,\"bed_temp\":54.96875,\"bed_target\":55.0," \
	"\"print_error\":0,\"subtask_name\":\"Benchy <v2>\",\"tray_now\":1,\"trays\":[" \
	"{\"tray\":0,\"unit\":0,\"slot\":0,\"loaded\":true,\"type\":\"PLA\",\"color\":\"000000FF\",\"remain\":85," \
	"\"info_idx\":\"GFA01\",\"tag_uid\":\"0000000000000000\",\"tray_uuid\":\"00000000000000000000000000000000\"}," \
	"{\"tray\":1,\"unit\":0,\"slot\":1,\"loaded\":true,\"type\":\"PETG\",\"color\":\"0A2CA5FF\",\"remain\":null," \
	"\"info_idx\":\"GFG99\",\"tag_uid\":null,\"tray_uuid\":null}," \
	"{\"tray\":2,\"unit\":0,\"slot\":2,\"loaded\":false,\"type\":null,\"color\":null,\"remain\":null," \
	"\"info_idx\":null,\"tag_uid\":null,\"tray_uuid\":null}," \
	"{\"tray\":3,\"unit\":0,\"slot\":3,\"loaded\":false,\"type\":null,\"color\":null,\"remain\":null," \
	"\"info_idx\":null,\"tag_uid\":null,\"tray_uuid\":null}," \
	"{\"tray\":-2,\"unit\":5,\"slot\":7,\"loaded\":true,\"type\":\"PLA\",\"color\":\"FFFFFFFF\",\"remain\":1," \
	"\"info_idx\":null,\"tag_uid\":null,\"tray_uuid\":null}," \
	"{\"tray\":254,\"unit\":254,\"slot\":0,\"loaded\":true,\"type\":\"TPU\",\"color\":\"FF0000FF\",\"remain\":0," \
	"\"info_idx\":null,\"tag_uid\":null,\"tray_uuid\":null}],\"job_id\":null}"

/* A live status, a lease, a running job with a needs_review outbox row, and spools 1 and 3 in trays 0 and 128. */
static long long
live_printer(void)
{
	long long	 p = add_printer("Printer 1", "S1");
	char		 pid[24];
	const char	*params[2] = { pid, STATUS_DOC };

	snprintf(pid, sizeof(pid), "%lld", p);
	wt_sql(app, "INSERT INTO printer_status (printer_id, status, connected, worker_id, last_message_at) "
	    "VALUES ($1::bigint, $2::jsonb, true, 'w1', now())", 2, params);
	wt_sql(app, "INSERT INTO worker_leases (printer_id, worker_id, fencing_token, expires_at) "
	    "VALUES ($1::bigint, 'w1', 1, now() + interval '30 seconds')", 1, params);
	wt_sql(app, "INSERT INTO spool_cache (spool_id, spool) VALUES (1, '{\"id\":1,\"remaining_weight\":912.5,"
	    "\"filament\":{\"name\":\"PLA Basic Black\",\"material\":\"PLA\",\"color_hex\":\"000000\","
	    "\"vendor\":{\"name\":\"Bambu Lab\"}}}')", 0, NULL);
	wt_sql(app, "INSERT INTO tray_assignments (printer_id, tray, spool_id) VALUES ($1::bigint, 0, 1), "
	    "($1::bigint, 128, 3)", 1, params);
	wt_sql(app, "INSERT INTO print_jobs (printer_id, job_key, subtask_name, state, layer_count, planned_at, "
	    "checkpoint_layer, reported_layer) VALUES ($1::bigint, 'local:benchy', 'Benchy <v2>', 'running', 212, "
	    "now(), 55, 57)", 1, params);
	wt_sql(app, "INSERT INTO job_filaments (job_id, filament_index, tray, mm) SELECT id, 0, 0, 10 FROM print_jobs",
	    0, NULL);
	wt_sql(app, "INSERT INTO usage_ledger (job_id, layer, filament_index, tray, spool_id, mm, grams) "
	    "SELECT id, 1, 0, 0, 1, 10, 0.03 FROM print_jobs", 0, NULL);
	wt_sql(app, "INSERT INTO spoolman_outbox (ledger_id, state) SELECT id, 'needs_review' FROM usage_ledger", 0,
	    NULL);
	return p;
}

/* The unit with id `unit` of a printer's status, or NULL. */
static const json_t *
unit_of(const json_t *printer, long long unit)
{
	const json_t	*u;
	size_t		 i;

	json_array_foreach(json_object_get(printer, "units"), i, u)
		if (wt_jint(u, "unit") == unit)
			return u;
	return NULL;
}

START_TEST(test_dashboard)
{
	long long	 p = live_printer();
	struct wt_reply	 r;
	const json_t	*pr, *u, *t, *job;
	char		 path[64];

	r = wt_call(app, &admin, "GET", "/api/v1/status", NULL);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_int_eq(wt_jint(r.json, "stale_after_s"), 180);
	ck_assert_ptr_nonnull(wt_jstr(r.json, "generated_at"));
	ck_assert_ptr_null(strchr(r.body, '<'));
	pr = json_array_get(json_object_get(r.json, "printers"), 0);
	ck_assert_int_eq(wt_jint(pr, "id"), p);
	ck_assert(json_is_true(json_object_get(pr, "connected")));
	ck_assert(json_is_false(json_object_get(pr, "stale")));
	ck_assert_str_eq(wt_jstr(pr, "state"), "RUNNING");
	ck_assert_int_eq(wt_jint(pr, "layer"), 57);
	ck_assert_int_eq(wt_jint(pr, "total_layers"), 212);
	ck_assert_int_eq(wt_jint(pr, "percent"), 27);
	ck_assert_int_eq(wt_jint(pr, "remaining_min"), 94);
	ck_assert(json_real_value(json_object_get(json_object_get(pr, "temps"), "nozzle")) > 219.8);
	ck_assert_str_eq(wt_jstr(pr, "subtask_name"), "Benchy <v2>");
	ck_assert_int_eq(wt_jint(pr, "needs_review"), 1);
	job = json_object_get(pr, "job");
	ck_assert_str_eq(wt_jstr(job, "state"), "running");
	ck_assert_int_eq(wt_jint(job, "layer_count"), 212);
	ck_assert_int_eq(wt_jint(job, "reported_layer"), 57);
	ck_assert_int_eq(wt_jint(job, "checkpoint_layer"), 55);
	/* Units: AMS 0 (4 trays), AMS HT 128 (mapped, not reported), the external 254; the unknown unit is left out. */
	ck_assert_int_eq(json_array_size(json_object_get(pr, "units")), 3);
	u = unit_of(pr, 0);
	ck_assert_str_eq(wt_jstr(u, "kind"), "ams");
	ck_assert_int_eq(json_array_size(json_object_get(u, "trays")), 4);
	t = json_array_get(json_object_get(u, "trays"), 0);
	ck_assert_str_eq(wt_jstr(t, "type"), "PLA");
	ck_assert_str_eq(wt_jstr(t, "color"), "000000FF");
	ck_assert_int_eq(wt_jint(t, "remain"), 85);
	ck_assert_str_eq(wt_jstr(json_object_get(t, "spool"), "name"), "PLA Basic Black");
	ck_assert(json_real_value(json_object_get(json_object_get(t, "spool"), "remaining_weight")) == 912.5);
	ck_assert(json_is_null(json_object_get(json_array_get(json_object_get(u, "trays"), 2), "spool")));
	u = unit_of(pr, 128);
	ck_assert_str_eq(wt_jstr(u, "kind"), "ams_ht");
	t = json_array_get(json_object_get(u, "trays"), 0);
	ck_assert_int_eq(wt_jint(json_object_get(t, "spool"), "id"), 3);
	ck_assert(json_is_null(json_object_get(json_object_get(t, "spool"), "name")));	/* not cached */
	ck_assert(json_is_null(json_object_get(t, "type")));
	ck_assert_str_eq(wt_jstr(unit_of(pr, 254), "kind"), "external");
	wt_free(&r);
	/* One printer's status: the long form of the trays (label, reported, since, vendor). */
	snprintf(path, sizeof(path), "/api/v1/printers/%lld/status", p);
	r = wt_call(app, &admin, "GET", path, NULL);
	ck_assert_int_eq(r.status, 200);
	t = json_array_get(json_object_get(unit_of(r.json, 0), "trays"), 0);
	ck_assert_str_eq(wt_jstr(t, "label"), "AMS 1 slot 1");
	ck_assert(json_is_true(json_object_get(t, "reported")));
	ck_assert_str_eq(wt_jstr(json_object_get(t, "spool"), "vendor"), "Bambu Lab");
	ck_assert_ptr_nonnull(wt_jstr(json_object_get(t, "spool"), "since"));
	ck_assert(json_is_false(json_object_get(json_array_get(json_object_get(unit_of(r.json, 128), "trays"), 0),
	    "reported")));
	wt_free(&r);
	/* Old news: no write for 10 minutes makes it stale and not connected; so does a lost lease. */
	wt_sql(app, "UPDATE printer_status SET updated_at = now() - interval '10 minutes'", 0, NULL);
	r = wt_call(app, &admin, "GET", path, NULL);
	ck_assert(json_is_true(json_object_get(r.json, "stale")));
	ck_assert(json_is_false(json_object_get(r.json, "connected")));
	wt_free(&r);
	wt_sql(app, "UPDATE printer_status SET updated_at = now()", 0, NULL);
	wt_sql(app, "UPDATE worker_leases SET expires_at = now() - interval '1 second'", 0, NULL);
	r = wt_call(app, &admin, "GET", path, NULL);
	ck_assert(json_is_true(json_object_get(r.json, "stale")));
	wt_free(&r);
	/* A printer without any status row. */
	add_printer("Printer 2", "S2");
	r = wt_call(app, &admin, "GET", "/api/v1/status", NULL);
	pr = json_array_get(json_object_get(r.json, "printers"), 1);
	ck_assert_str_eq(wt_jstr(pr, "name"), "Printer 2");
	ck_assert(json_is_null(json_object_get(pr, "state")));
	ck_assert(json_is_false(json_object_get(pr, "connected")));
	ck_assert(json_is_null(json_object_get(pr, "job")));
	ck_assert_int_eq(json_array_size(json_object_get(pr, "units")), 0);
	wt_free(&r);
}
END_TEST

/* The text of a file (static buffer). */
static const char *
slurp(const char *path)
{
	static char	 buf[65536];
	FILE		*f = fopen(path, "r");
	size_t		 n;

	ck_assert_msg(f != NULL, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

START_TEST(test_dashboard_h2d)
{
	long long	 p = add_printer("H2D", "S1");
	char		 pid[24];
	const char	*params[2] = { pid, slurp("tests/fixtures/web/status_h2d_running.json") };
	static const long long units[] = { 0, 1, 2, 3, 128, 129, 254, 255 };
	static const char *const kinds[] = { "ams", "ams", "ams", "ams", "ams_ht", "ams_ht", "external", "external" };
	struct wt_reply	 r;
	const json_t	*pr, *u, *t;
	size_t		 i;

	snprintf(pid, sizeof(pid), "%lld", p);
	wt_sql(app, "INSERT INTO printer_status (printer_id, status, connected, worker_id, last_message_at) "
	    "VALUES ($1::bigint, $2::jsonb, true, 'w1', now())", 2, params);
	wt_sql(app, "INSERT INTO worker_leases (printer_id, worker_id, fencing_token, expires_at) "
	    "VALUES ($1::bigint, 'w1', 1, now() + interval '30 seconds')", 1, params);
	wt_sql(app, "INSERT INTO tray_assignments (printer_id, tray, spool_id) VALUES ($1::bigint, 5, 11), "
	    "($1::bigint, 129, 12), ($1::bigint, 255, 13)", 1, params);
	r = wt_call(app, &admin, "GET", "/api/v1/status", NULL);
	ck_assert_int_eq(r.status, 200);
	pr = json_array_get(json_object_get(r.json, "printers"), 0);
	ck_assert(json_is_true(json_object_get(pr, "connected")));
	ck_assert_str_eq(wt_jstr(pr, "state"), "RUNNING");
	ck_assert_int_eq(wt_jint(pr, "layer"), 983);
	ck_assert_int_eq(wt_jint(pr, "total_layers"), 1525);
	ck_assert_int_eq(wt_jint(pr, "percent"), 58);
	ck_assert_int_eq(wt_jint(pr, "tray_now"), 255);
	ck_assert_str_eq(wt_jstr(pr, "subtask_name"), "Air Slides \xE2\x80\x93 Lightweight, Breathable, Summer-Ready");
	ck_assert_ptr_nonnull(strstr(r.body, "Air Slides \\u2013"));		/* ASCII on the wire */
	ck_assert_int_eq(json_array_size(json_object_get(pr, "units")), 8);
	for (i = 0; i < 8; i++) {
		u = json_array_get(json_object_get(pr, "units"), i);
		ck_assert_int_eq(wt_jint(u, "unit"), units[i]);
		ck_assert_str_eq(wt_jstr(u, "kind"), kinds[i]);
		ck_assert_int_eq(json_array_size(json_object_get(u, "trays")), i < 4 ? 4 : 1);
	}
	t = json_array_get(json_object_get(unit_of(pr, 1), "trays"), 1);
	ck_assert_int_eq(wt_jint(t, "tray"), 5);
	ck_assert_str_eq(wt_jstr(t, "type"), "PLA");
	ck_assert_str_eq(wt_jstr(t, "color"), "FF6A13FF");
	ck_assert_int_eq(wt_jint(t, "remain"), 93);
	ck_assert_int_eq(wt_jint(json_object_get(t, "spool"), "id"), 11);
	t = json_array_get(json_object_get(unit_of(pr, 0), "trays"), 1);
	ck_assert(json_is_false(json_object_get(t, "loaded")));
	ck_assert(json_is_null(json_object_get(t, "remain")));
	ck_assert_int_eq(wt_jint(json_object_get(json_array_get(json_object_get(unit_of(pr, 129), "trays"), 0), "spool"),
	    "id"), 12);
	ck_assert_str_eq(wt_jstr(json_array_get(json_object_get(unit_of(pr, 255), "trays"), 0), "type"), "TPU");
	/* Nothing of the raw report that the API does not name (tag UIDs, tray UUIDs) leaks out. */
	ck_assert_ptr_null(strstr(r.body, "tag_uid"));
	ck_assert_ptr_null(strstr(r.body, "1C247B9600000100"));
	wt_free(&r);
}
END_TEST

START_TEST(test_dashboard_cache)
{
	long long	 p = live_printer();
	struct wt_reply	 r;

	app->status_cache_ms = 60000;	/* as SPOOLKEEPER_STATUS_CACHE_MS=60000 would */
	r = wt_call(app, &admin, "GET", "/api/v1/status", NULL);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "printers")), 1);
	wt_free(&r);
	/* The worker's writes show when the copy expires (here: not within the test). */
	wt_sql(app, "UPDATE printer_status SET status = jsonb_set(status, '{state}', '\"PAUSE\"')", 0, NULL);
	r = wt_call(app, &admin, "GET", "/api/v1/status", NULL);
	ck_assert_str_eq(wt_jstr(json_array_get(json_object_get(r.json, "printers"), 0), "state"), "RUNNING");
	wt_free(&r);
	/* A change through the API shows at once; each user has their own copy. */
	ck_assert_int_eq(put_tray_status(&admin, p, 1, "{\"spool_id\":5}"), 200);
	r = wt_call(app, &admin, "GET", "/api/v1/status", NULL);
	ck_assert_str_eq(wt_jstr(json_array_get(json_object_get(r.json, "printers"), 0), "state"), "PAUSE");
	wt_free(&r);
	members();
	r = wt_call(app, &op, "GET", "/api/v1/status", NULL);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "printers")), 0);
	wt_free(&r);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("web printers");
	const TTest *const tests[] = {
		test_crud, test_validation, test_no_key, test_delete_with_history, test_visibility, test_trays,
		test_dashboard, test_dashboard_h2d, test_dashboard_cache,
	};
	size_t		 i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		suite_add_tcase(s, ck_tcase(tests[i]->name, tests[i], setup, teardown, 60));
	return ck_run(s);
}
