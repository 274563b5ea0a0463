/* check_spools.c: handler tests of the spool search, lookup and settings routes against the Spoolman stand-in. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "secret.h"
#include "spools.h"
#include "webtest.h"
#include "wt_spoolman.h"
#include "../harness/ckrun.h"

#define PW		"correct horse battery"
#define SNAPSHOT	"../shared/samples/spoolman/openspoolman_live_snapshot_spoolman_spools.json"

static struct app	*app;
static struct wt_client	 admin, member;
static struct wt_spoolman sm;

static void
setup(void)
{
	app = wt_app();
	memset(&admin, 0, sizeof(admin));
	memset(&member, 0, sizeof(member));
	wt_user(app, "root", PW, "admin");
	wt_user(app, "mem", PW, "member");
	wt_login(app, &admin, "root", PW);
	wt_login(app, &member, "mem", PW);
	wt_spoolman_start(&sm, NULL);
	wt_spoolman_use(app, &sm);
}

static void
teardown(void)
{
	wt_spoolman_stop(&sm);
	wt_app_free(app);
	app = NULL;
}

/* GET path as cl: asserts the status and returns the reply (free it). */
static struct wt_reply
get(struct wt_client *cl, const char *path, int want)
{
	struct wt_reply	 r = wt_call(app, cl, "GET", path, NULL);

	ck_assert_msg(r.status == want, "GET %s: %d, expected %d: %s", path, r.status, want, r.body);
	ck_assert_msg(r.json != NULL, "GET %s: not JSON: %s", path, r.body);
	return r;
}

/* The ids of a search answer's spools, as "1,2,3". */
static const char *
ids(const json_t *answer)
{
	static char	 buf[512];
	const json_t	*s;
	size_t		 i, n = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(answer, "spools"), i, s)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%lld", i > 0 ? "," : "", wt_jint(s, "id"));
	return buf;
}

START_TEST(test_search)
{
	struct wt_reply	 r;
	const json_t	*s;

	r = get(&member, "/api/v1/spools?q=PLA", 200);
	ck_assert_str_eq(ids(r.json), "1,2");
	ck_assert_int_eq(wt_jint(r.json, "matched"), 2);
	ck_assert_int_eq(wt_jint(r.json, "scanned"), 4);
	ck_assert(json_is_false(json_object_get(r.json, "truncated")));
	s = json_array_get(json_object_get(r.json, "spools"), 0);
	ck_assert_str_eq(wt_jstr(s, "name"), "PLA Basic Black");
	ck_assert_str_eq(wt_jstr(s, "vendor"), "Bambu Lab");
	ck_assert_str_eq(wt_jstr(s, "material"), "PLA");
	ck_assert(json_number_value(json_object_get(s, "remaining_weight")) == 1000);
	ck_assert(json_is_false(json_object_get(s, "in_tray")));
	ck_assert(json_is_null(json_object_get(s, "tray")));
	wt_free(&r);
	/* Every word must match somewhere, in any case; a number finds its id first. */
	r = get(&member, "/api/v1/spools?q=petg+BLUE", 200);
	ck_assert_str_eq(ids(r.json), "3");
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=polymaker%20grey", 200);
	ck_assert_str_eq(ids(r.json), "4");
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=%233", 200);
	ck_assert_str_eq(ids(r.json), "3");
	wt_free(&r);
	r = get(&member, "/api/v1/spools", 200);
	ck_assert_str_eq(ids(r.json), "1,2,3,4");
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=pla&limit=1", 200);
	ck_assert_str_eq(ids(r.json), "1");
	ck_assert_int_eq(wt_jint(r.json, "matched"), 2);
	ck_assert(json_is_true(json_object_get(r.json, "truncated")));
	wt_free(&r);
	/* What was seen is cached for the dashboard. */
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM spool_cache", 0, NULL), "4");
	/* Archived spools only when asked. */
	wt_spoolman_api(&sm, "PATCH", "/spool/2", "{\"archived\":true}");
	r = get(&member, "/api/v1/spools?q=pla", 200);
	ck_assert_str_eq(ids(r.json), "1");
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=pla&archived=true", 200);
	ck_assert_str_eq(ids(r.json), "1,2");
	ck_assert(json_is_true(json_object_get(json_array_get(json_object_get(r.json, "spools"), 1), "archived")));
	wt_free(&r);
	/* Hostile and bad queries. */
	r = get(&member, "/api/v1/spools?q=x%27%3B%20DROP%20TABLE%20spool_cache%3B%20--", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "spools")), 0);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=%3Cscript%3E", 200);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=a%00b", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?limit=0", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?limit=201", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?limit=1x", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?archived=yes", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=a+b+c+d+e+f+g+h+i", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?query=PLA", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?q=PLA&q=PETG", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools?archived=true", 200);
	wt_free(&r);
	r = get(NULL, "/api/v1/spools?q=PLA", 401);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM spool_cache", 0, NULL), "4");
}
END_TEST

START_TEST(test_search_snapshot)
{
	struct wt_spoolman	 real;
	const char *const	 args[] = { "--seed", SNAPSHOT, "--version", "0.22.1", NULL };
	struct wt_reply		 r;
	const json_t		*s;
	size_t			 i;

	if (access(SNAPSHOT, R_OK) != 0)
		return;		/* the shared samples are not checked out next to the repository */
	wt_spoolman_start(&real, args);
	wt_spoolman_use(app, &real);
	r = get(&member, "/api/v1/spools?q=petg&limit=200", 200);
	/* The same as a substring search over the snapshot's texts gives (none of its 42 spools is archived). */
	ck_assert_int_eq(wt_jint(r.json, "scanned"), 42);
	ck_assert_int_eq(wt_jint(r.json, "matched"), 14);
	ck_assert_str_eq(ids(r.json), "7,10,21,27,29,30,32,34,35,38,39,43,44,45");
	json_array_foreach(json_object_get(r.json, "spools"), i, s)
		ck_assert(json_is_false(json_object_get(s, "archived")));
	wt_free(&r);
	r = get(&member, "/api/v1/spools/10", 200);
	ck_assert_str_eq(wt_jstr(r.json, "name"), "Grau");
	ck_assert_str_eq(wt_jstr(r.json, "vendor"), "Amazon");
	ck_assert(json_real_value(json_object_get(r.json, "remaining_weight")) == 634.48);
	wt_free(&r);
	wt_spoolman_stop(&real);
}
END_TEST

START_TEST(test_get_and_lookup)
{
	static const char *const good[] = {
		"web%2Bspoolman%3As-3", "web+spoolman:s-3", "WEB%2BSPOOLMAN%3AS-3", "3", "%233",
		"%20web%2Bspoolman%3As-3%20", "https%3A%2F%2Fspoolman.example%2Fspool%2Fshow%2F3",
		"http%3A%2F%2F10.0.0.2%3A7912%2Fspool%2Fshow%2F3%2F",
		"https%3A%2F%2Fhome.example%2Fspoolman%2Fspool%2Fshow%2F3",
	};
	static const char *const bad[] = {
		"", "web%2Bspoolman%3Af-3", "https%3A%2F%2Fh%2Ffilament%2Fshow%2F3", "web%2Bspoolman%3As-", "abc",
		"web%2Bspoolman%3As-0", "https%3A%2F%2Fh%2Fspool%2Fshow%2Fx", "99999999999",
		"https%3A%2F%2Fh%2Fspool%2F3",
		"web%2Bspoolman%3As-3x",
	};
	char		 path[256];
	struct wt_reply	 r;
	size_t		 i;
	char		 pid[24];
	const char	*params[1] = { pid };

	r = get(&member, "/api/v1/spools/3", 200);
	ck_assert_int_eq(wt_jint(r.json, "id"), 3);
	ck_assert_str_eq(wt_jstr(r.json, "name"), "PETG HF Blue");
	wt_free(&r);
	r = get(&member, "/api/v1/spools/999", 404);
	ck_assert_str_eq(wt_jstr(r.json, "detail"), "no spool 999 in Spoolman");
	wt_free(&r);
	r = get(&member, "/api/v1/spools/99999999999", 404);
	wt_free(&r);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/spools/lookup?code=%s", good[i]);
		r = get(&member, path, 200);
		ck_assert_int_eq(wt_jint(r.json, "id"), 3);
		wt_free(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/spools/lookup?code=%s", bad[i]);
		r = get(&member, path, 400);
		ck_assert_str_eq(wt_jstr(r.json, "error"), "invalid");
		wt_free(&r);
	}
	r = get(&member, "/api/v1/spools/lookup?code=web%2Bspoolman%3Af-2", 400);
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "filament"));
	wt_free(&r);
	r = get(&member, "/api/v1/spools/lookup", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools/lookup?code=3&id=3", 400);
	wt_free(&r);
	r = get(&member, "/api/v1/spools/lookup?code=web%2Bspoolman%3As-42", 404);
	wt_free(&r);
	/* A spool in a tray says where: the printer when the user may see it, else only that it is in one. */
	snprintf(pid, sizeof(pid), "%s", wt_sql(app, "INSERT INTO printers (name, host, serial, access_code_enc) "
	    "VALUES ('X1C', 'h', 'S1', 'v1:AAAA') RETURNING id", 0, NULL));
	wt_sql(app, "INSERT INTO tray_assignments (printer_id, tray, spool_id) VALUES ($1::bigint, 129, 3)", 1, params);
	r = get(&admin, "/api/v1/spools/3", 200);
	ck_assert(json_is_true(json_object_get(r.json, "in_tray")));
	ck_assert_str_eq(wt_jstr(json_object_get(r.json, "tray"), "printer"), "X1C");
	ck_assert_str_eq(wt_jstr(json_object_get(r.json, "tray"), "label"), "AMS HT 2");
	wt_free(&r);
	r = get(&member, "/api/v1/spools/lookup?code=3", 200);
	ck_assert(json_is_true(json_object_get(r.json, "in_tray")));
	ck_assert(json_is_null(json_object_get(r.json, "tray")));
	ck_assert_ptr_null(strstr(r.body, "X1C"));
	wt_free(&r);
}
END_TEST

START_TEST(test_spoolman_failures)
{
	struct wt_reply	 r;

	/* Not set. */
	wt_sql(app, "DELETE FROM settings", 0, NULL);
	r = get(&member, "/api/v1/spools?q=PLA", 503);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "spoolman_not_configured");
	wt_free(&r);
	wt_spoolman_use(app, &sm);
	/* Too slow: 504 after the timeout, not a hang. */
	app->spoolman_timeout_ms = 400;
	wt_spoolman_control(&sm, "fault", "{\"mode\":\"delay\",\"delay_s\":2,\"when\":\"before_apply\"}");
	r = get(&member, "/api/v1/spools?q=PLA", 504);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "spoolman_unreachable");
	wt_free(&r);
	r = get(&member, "/api/v1/spools/1", 504);
	wt_free(&r);
	/* Bad answers: a 500, HTML where JSON belongs, JSON cut short, a list that is not one. */
	wt_spoolman_control(&sm, "fault", "{\"mode\":\"500\"}");
	r = get(&member, "/api/v1/spools?q=PLA", 502);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "spoolman_error");
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "HTTP 500"));
	wt_free(&r);
	wt_spoolman_control(&sm, "fault", "{\"mode\":\"not_json\"}");
	r = get(&member, "/api/v1/spools?q=PLA", 502);
	ck_assert_ptr_nonnull(strstr(wt_jstr(r.json, "detail"), "not JSON"));
	wt_free(&r);
	r = get(&member, "/api/v1/spools/lookup?code=2", 502);
	wt_free(&r);
	wt_spoolman_control(&sm, "fault", "{\"mode\":\"not_json\",\"style\":\"truncated\"}");
	r = get(&member, "/api/v1/spools?q=PLA", 502);
	wt_free(&r);
	wt_spoolman_control(&sm, "fault", "{\"mode\":\"refuse\"}");
	r = get(&member, "/api/v1/spools/1", 502);
	wt_free(&r);
	/* A wrong base path: Spoolman's 404 for the list is a bad answer, not "no spools". */
	wt_spoolman_control(&sm, "fault", "{\"mode\":\"none\"}");
	{
		char		 url[96];
		const char	*params[1] = { url };

		snprintf(url, sizeof(url), "%s/spoolman", sm.url);
		wt_sql(app, "UPDATE settings SET value = $1 WHERE key = 'spoolman_url'", 1, params);
		r = get(&member, "/api/v1/spools?q=PLA", 502);
		wt_free(&r);
		wt_spoolman_use(app, &sm);
	}
	/* Down: connection refused. */
	wt_spoolman_stop(&sm);
	r = get(&member, "/api/v1/spools?q=PLA", 502);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "spoolman_unreachable");
	wt_free(&r);
	r = get(&member, "/api/v1/spools/lookup?code=1", 502);
	wt_free(&r);
}
END_TEST

START_TEST(test_settings)
{
	struct wt_spoolman	 locked;
	const char *const	 args[] = { "--user", "spool", "--password", "pa ss:word", "--version", "0.22.1",
	    NULL };
	struct wt_reply		 r;
	char			 body[256], *plain, err[ERRBUF_LEN];
	const char		*enc;

	wt_sql(app, "DELETE FROM settings", 0, NULL);
	r = get(&admin, "/api/v1/settings", 200);
	ck_assert(json_is_null(json_object_get(r.json, "spoolman_url")));
	ck_assert(json_is_false(json_object_get(r.json, "spoolman_password_set")));
	wt_free(&r);
	/* Behind basic auth (a proxy in front of Spoolman): saved, the password encrypted, checked with /info. */
	wt_spoolman_start(&locked, args);
	snprintf(body, sizeof(body), "{\"spoolman_url\":\"%s/\",\"spoolman_user\":\"spool\","
	    "\"spoolman_password\":\"pa ss:word\"}", locked.url);
	r = wt_call(app, &admin, "PUT", "/api/v1/settings", body);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert(json_is_true(json_object_get(json_object_get(r.json, "spoolman"), "ok")));
	ck_assert_str_eq(wt_jstr(json_object_get(r.json, "spoolman"), "version"), "0.22.1");
	ck_assert(json_is_true(json_object_get(r.json, "spoolman_password_set")));
	ck_assert(json_is_true(json_object_get(r.json, "spoolman_password_encrypted")));
	ck_assert_ptr_null(strstr(r.body, "pa ss:word"));
	ck_assert_ptr_null(json_object_get(r.json, "spoolman_password"));
	wt_free(&r);
	enc = wt_sql(app, "SELECT value FROM settings WHERE key = 'spoolman_password'", 0, NULL);
	ck_assert(strncmp(enc, "v1:", 3) == 0);
	ck_assert(secret_decrypt(app->key, SECRET_SPOOLMAN_PASSWORD, enc, &plain, err) == 0);
	ck_assert_str_eq(plain, "pa ss:word");
	secret_wipe_free(plain);
	r = get(&admin, "/api/v1/settings", 200);
	ck_assert_ptr_null(strstr(r.body, "pa ss:word"));
	ck_assert_str_eq(wt_jstr(r.json, "spoolman_user"), "spool");
	wt_free(&r);
	/* The spool routes log in with it. */
	r = get(&member, "/api/v1/spools/2", 200);
	wt_free(&r);
	/* A wrong password is saved (the admin may fix the proxy next), and the check says why it fails. */
	r = wt_call(app, &admin, "PUT", "/api/v1/settings", "{\"spoolman_password\":\"wrong\"}");
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_false(json_object_get(json_object_get(r.json, "spoolman"), "ok")));
	ck_assert_str_eq(wt_jstr(json_object_get(r.json, "spoolman"), "error"), "spoolman_error");
	ck_assert_ptr_nonnull(strstr(wt_jstr(json_object_get(r.json, "spoolman"), "detail"), "login was refused"));
	wt_free(&r);
	r = get(&member, "/api/v1/spools/2", 502);
	wt_free(&r);
	wt_spoolman_stop(&locked);
	/* Unreachable: saved, and the check says so. */
	r = wt_call(app, &admin, "POST", "/api/v1/settings/check", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(wt_jstr(json_object_get(r.json, "spoolman"), "error"), "spoolman_unreachable");
	wt_free(&r);
	/* Back to the open stand-in; null and "" delete a setting. */
	snprintf(body, sizeof(body), "{\"spoolman_url\":\"%s\",\"spoolman_user\":null,\"spoolman_password\":\"\"}",
	    sm.url);
	r = wt_call(app, &admin, "PUT", "/api/v1/settings", body);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(wt_jstr(json_object_get(r.json, "spoolman"), "version"), "0.26.1");
	ck_assert(json_is_false(json_object_get(r.json, "spoolman_password_set")));
	ck_assert(json_is_null(json_object_get(r.json, "spoolman_user")));
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM settings", 0, NULL), "1");
	r = wt_call(app, &admin, "POST", "/api/v1/settings/check", "{}");
	ck_assert(json_is_true(json_object_get(json_object_get(r.json, "spoolman"), "ok")));
	wt_free(&r);
}
END_TEST

START_TEST(test_settings_refused)
{
	static const char *const bad[] = {
		"{\"spoolman_url\":\"ftp://h\"}", "{\"spoolman_url\":\"http://u:p@h:7912\"}",
		"{\"spoolman_url\":\"http://h/?x=1\"}", "{\"spoolman_url\":\"http:// h\"}",
		"{\"spoolman_url\":\"http://\"}",
		"{\"spoolman_url\":7912}", "{\"spoolman_user\":\"a:b\"}", "{\"spoolman_port\":1}",
		"{\"spoolman_url\":\"javascript:alert(1)\"}", "{\"spoolman_password\":[\"x\"]}",
	};
	struct wt_reply	 r;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = wt_call(app, &admin, "PUT", "/api/v1/settings", bad[i]);
		ck_assert_msg(r.status == 400, "%s: %d %s", bad[i], r.status, r.body);
		wt_free(&r);
	}
	ck_assert_str_eq(wt_sql(app, "SELECT value FROM settings WHERE key = 'spoolman_url'", 0, NULL), sm.url);
	/* Members neither read nor write the settings. */
	r = wt_call(app, &member, "GET", "/api/v1/settings", NULL);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	r = wt_call(app, &member, "PUT", "/api/v1/settings", "{\"spoolman_url\":\"http://evil.example\"}");
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	r = wt_call(app, &member, "POST", "/api/v1/settings/check", NULL);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	/* No key: a password cannot be stored; the URL can. */
	secret_key_free(app->key);
	app->key = NULL;
	r = wt_call(app, &admin, "PUT", "/api/v1/settings", "{\"spoolman_password\":\"x\"}");
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "no_key");
	wt_free(&r);
	r = wt_call(app, &admin, "PUT", "/api/v1/settings", "{\"spoolman_url\":\"https://spoolman.example/base\"}");
	ck_assert_int_eq(r.status, 200);
	wt_free(&r);
	/* An encrypted password without the key: the spool routes say the settings cannot be used. */
	wt_sql(app, "INSERT INTO settings (key, value) VALUES ('spoolman_user', 'u'), ('spoolman_password', 'v1:AAAA')",
	    0, NULL);
	r = get(&member, "/api/v1/spools?q=x", 503);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "spoolman_not_configured");
	wt_free(&r);
}
END_TEST

START_TEST(test_parse_code)
{
	long long	 id = 0;
	char		 err[ERRBUF_LEN];

	ck_assert(spools_parse_code("web+spoolman:s-2147483647", &id, err) == 0 && id == 2147483647);
	ck_assert(spools_parse_code("web+spoolman:s-2147483648", &id, err) == -1);
	ck_assert(spools_parse_code("Web+Spoolman:S-12\r\n", &id, err) == 0 && id == 12);
	ck_assert(spools_parse_code("https://a/spool/show/7/", &id, err) == 0 && id == 7);
	ck_assert(spools_parse_code("https:///spool/show/7", &id, err) == -1);
	ck_assert(spools_parse_code("https://a/spool/show//7", &id, err) == -1);
	ck_assert(spools_parse_code("#", &id, err) == -1);
	ck_assert(spools_parse_code("   ", &id, err) == -1);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("web spools");
	const TTest *const tests[] = {
		test_search, test_search_snapshot, test_get_and_lookup, test_spoolman_failures, test_settings,
		test_settings_refused, test_parse_code,
	};
	size_t		 i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		suite_add_tcase(s, ck_tcase(tests[i]->name, tests[i], setup, teardown, 60));
	return ck_run(s);
}
