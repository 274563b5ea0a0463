/* check_auth.c: handler tests of sessions, first setup, CSRF, users and roles, with no socket in between. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "token.h"
#include "webtest.h"
#include "../harness/ckrun.h"

static struct app	*app;

static void
setup(void)
{
	app = wt_app();
}

static void
teardown(void)
{
	wt_app_free(app);
	app = NULL;
}

/* Stores a setup token valid for an hour and returns it. */
static const char *
setup_token(void)
{
	static char	 tok[TOKEN_HEX_LEN + 1];
	unsigned char	 h[TOKEN_HASH_LEN];
	char		 hp[2 * TOKEN_HASH_LEN + 3];
	const char	*p[1] = { hp };

	ck_assert(token_new(tok) == 0);
	token_hash(tok, h);
	token_hash_param(h, hp);
	wt_sql(app, "INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1::bytea, now() + interval '1 hour')",
	    1, p);
	return tok;
}

START_TEST(test_setup_once)
{
	struct wt_client	 a = { "", "" }, b = { "", "" };
	struct wt_reply		 r;
	char			 body[256];
	const char		*tok = setup_token();

	r = wt_call(app, NULL, "GET", "/api/v1/setup", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_true(json_object_get(r.json, "needed")));
	wt_free(&r);
	/* A wrong token is refused and creates nobody. */
	r = wt_call(app, &a, "POST", "/api/v1/setup",
	    "{\"token\":\"0000\",\"username\":\"root\",\"password\":\"correct horse battery\"}");
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"username\":\"Ada\",\"password\":\"correct horse battery\"}",
	    tok);
	r = wt_call(app, &a, "POST", "/api/v1/setup", body);
	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "admin");
	ck_assert(a.cookie[0] != '\0' && a.csrf[0] != '\0');
	wt_free(&r);
	/* The token works once. */
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"username\":\"eve\",\"password\":\"correct horse battery\"}",
	    tok);
	r = wt_call(app, &b, "POST", "/api/v1/setup", body);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	/* A second token is useless while an admin exists. */
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"username\":\"eve\",\"password\":\"correct horse battery\"}",
	    setup_token());
	r = wt_call(app, &b, "POST", "/api/v1/setup", body);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM users", 0, NULL), "1");
	r = wt_call(app, &a, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "username")), "Ada");
	wt_free(&r);
}
END_TEST

START_TEST(test_login_logout)
{
	struct wt_client	 a = { "", "" }, old;
	struct wt_reply		 r;

	wt_user(app, "alice", "correct horse battery", "member");
	r = wt_call(app, &a, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	r = wt_call(app, &a, "POST", "/api/v1/session", "{\"username\":\"alice\",\"password\":\"wrong password\"}");
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "error")), "invalid_login");
	wt_free(&r);
	r = wt_call(app, &a, "POST", "/api/v1/session", "{\"username\":\"nobody\",\"password\":\"wrong password\"}");
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM auth_events WHERE event = 'login_failed'", 0, NULL), "2");
	/* Names ignore case; the cookie is HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP. */
	r = wt_call(app, &a, "POST", "/api/v1/session", "{\"username\":\"ALICE\",\"password\":\"correct horse battery\"}");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(r.set_cookie);
	ck_assert_ptr_nonnull(strstr(r.set_cookie, "; HttpOnly"));
	ck_assert_ptr_nonnull(strstr(r.set_cookie, "; SameSite=Strict"));
	ck_assert_ptr_nonnull(strstr(r.set_cookie, "; Path=/"));
	ck_assert_ptr_null(strstr(r.set_cookie, "Secure"));
	ck_assert_ptr_null(strstr(r.set_cookie, "Domain"));
	wt_free(&r);
	/* The database keeps only the hash of the token. */
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM sessions WHERE encode(token_hash, 'hex') = $1", 1,
	    (const char *[]){ strchr(a.cookie, '=') + 1 }), "0");
	r = wt_call(app, &a, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 200);
	wt_free(&r);
	old = a;
	r = wt_call(app, &a, "DELETE", "/api/v1/session", NULL);
	ck_assert_int_eq(r.status, 204);
	wt_free(&r);
	/* Replaying the old cookie after logout: 401. */
	r = wt_call(app, &old, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
}
END_TEST

START_TEST(test_fixation_and_disable)
{
	struct wt_client	 a = { "", "" }, fixed;
	struct wt_client	 admin = { "", "" };
	struct wt_reply		 r;
	char			 path[64];
	long long		 id;

	id = wt_user(app, "bob", "correct horse battery", "member");
	wt_user(app, "root", "correct horse battery", "admin");
	wt_login(app, &a, "bob", "correct horse battery");
	fixed = a;
	/* Logging in again with a cookie already set gives a new token and ends the old session. */
	wt_login(app, &a, "bob", "correct horse battery");
	ck_assert_str_ne(a.cookie, fixed.cookie);
	r = wt_call(app, &fixed, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	/* An admin disables bob: his session ends at once, and he cannot log in. */
	wt_login(app, &admin, "root", "correct horse battery");
	snprintf(path, sizeof(path), "/api/v1/users/%lld", id);
	r = wt_call(app, &admin, "PATCH", path, "{\"disabled\":true}");
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	wt_free(&r);
	r = wt_call(app, &a, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	r = wt_call(app, &a, "POST", "/api/v1/session", "{\"username\":\"bob\",\"password\":\"correct horse battery\"}");
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
}
END_TEST

START_TEST(test_csrf)
{
	struct wt_client	 a = { "", "" }, nocsrf;
	struct wt_reply		 r;
	struct http_request	 req;

	wt_user(app, "root", "correct horse battery", "admin");
	wt_login(app, &a, "root", "correct horse battery");
	nocsrf = a;
	nocsrf.csrf[0] = '\0';
	r = wt_call(app, &nocsrf, "POST", "/api/v1/users", "{\"username\":\"x1\"}");
	ck_assert_int_eq(r.status, 403);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "error")), "csrf");
	wt_free(&r);
	snprintf(nocsrf.csrf, sizeof(nocsrf.csrf), "%064d", 0);
	r = wt_call(app, &nocsrf, "POST", "/api/v1/users", "{\"username\":\"x2\"}");
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	/* Cross-site: refused even with the right token. */
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/api/v1/users";
	req.host = "localhost";
	req.cookie = a.cookie;
	req.csrf_token = a.csrf;
	req.fetch_site = "cross-site";
	req.body = "{\"username\":\"x3\"}";
	req.body_len = strlen(req.body);
	req.content_type = "application/json";
	r = wt_call_req(app, NULL, &req);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	req.fetch_site = NULL;
	req.origin = "http://evil.example";
	r = wt_call_req(app, NULL, &req);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	req.origin = "http://localhost";
	r = wt_call_req(app, NULL, &req);
	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	wt_free(&r);
	/* A form post (not JSON) is refused. */
	req.content_type = "application/x-www-form-urlencoded";
	r = wt_call_req(app, NULL, &req);
	ck_assert_int_eq(r.status, 415);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM users WHERE username LIKE 'x%'", 0, NULL), "1");
}
END_TEST

START_TEST(test_roles_and_bad_input)
{
	struct wt_client	 admin = { "", "" }, m = { "", "" };
	struct wt_reply		 r;
	char			 deep[200];
	int			 i;

	wt_user(app, "root", "correct horse battery", "admin");
	wt_user(app, "mem", "correct horse battery", "member");
	wt_login(app, &admin, "root", "correct horse battery");
	wt_login(app, &m, "mem", "correct horse battery");
	r = wt_call(app, &m, "GET", "/api/v1/users", NULL);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	r = wt_call(app, &admin, "POST", "/api/v1/users", "{\"username\":\"new\",\"role\":\"god\"}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &admin, "POST", "/api/v1/users", "{\"username\":\"new\",\"password\":\"password1\"}");
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "error")), "weak_password");
	wt_free(&r);
	r = wt_call(app, &admin, "POST", "/api/v1/users", "{\"username\":\"MEM\"}");
	ck_assert_int_eq(r.status, 409);
	wt_free(&r);
	r = wt_call(app, &admin, "POST", "/api/v1/users", "{\"username\":\"x' OR 1=1 --\"}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &admin, "POST", "/api/v1/users", "{\"username\":");
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "error")), "bad_json");
	wt_free(&r);
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	deep[i] = '\0';
	r = wt_call(app, &admin, "POST", "/api/v1/users", deep);
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &admin, "POST", "/api/v1/users", "{\"username\":\"a\",\"username\":\"b\"}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &admin, "POST", "/api/v1/users", "{\"username\":\"gen\"}");
	ck_assert_int_eq(r.status, 201);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(r.json, "password"))), 20);
	wt_free(&r);
	r = wt_call(app, &admin, "GET", "/api/v1/users/999999", NULL);
	ck_assert_int_eq(r.status, 404);
	wt_free(&r);
	r = wt_call(app, &admin, "GET", "/api/v1/users/abc", NULL);
	ck_assert_int_eq(r.status, 404);
	wt_free(&r);
	r = wt_call(app, &admin, "PUT", "/api/v1/users", NULL);
	ck_assert_int_eq(r.status, 405);
	wt_free(&r);
}
END_TEST

START_TEST(test_expiry)
{
	struct wt_client	 a = { "", "" };
	struct wt_reply		 r;

	/* The database's verdict at every request: no session cache (test_session_cache covers it). */
	app->session_cache_ms = 0;
	wt_user(app, "dave", "correct horse battery", "member");
	/* Idle: a session unused for longer than the idle period (3 days by default) is over. */
	wt_login(app, &a, "dave", "correct horse battery");
	wt_sql(app, "UPDATE sessions SET seen_at = now() - interval '3 days 1 minute'", 0, NULL);
	r = wt_call(app, &a, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	/* Just inside the idle period it works, and the request renews seen_at. */
	wt_login(app, &a, "dave", "correct horse battery");
	wt_sql(app, "UPDATE sessions SET seen_at = now() - interval '2 days'", 0, NULL);
	r = wt_call(app, &a, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 200);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM sessions WHERE seen_at > now() - interval '1 minute'", 0,
	    NULL), "1");
	/* Absolute: past expires_at it is over however active it was. */
	wt_sql(app, "UPDATE sessions SET expires_at = now() - interval '1 second'", 0, NULL);
	r = wt_call(app, &a, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	/* The absolute expiry is 30 days after login. */
	wt_login(app, &a, "dave", "correct horse battery");
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM sessions WHERE expires_at BETWEEN "
	    "now() + interval '30 days' - interval '1 minute' AND now() + interval '30 days'", 0, NULL), "1");
}
END_TEST

START_TEST(test_throttle)
{
	struct wt_client	 a = { "", "" };
	struct wt_reply		 r;
	int			 i;

	wt_user(app, "carol", "correct horse battery", "member");
	for (i = 0; i < 10; i++) {
		r = wt_call(app, &a, "POST", "/api/v1/session", "{\"username\":\"carol\",\"password\":\"nope nope\"}");
		ck_assert_int_eq(r.status, 401);
		wt_free(&r);
	}
	/* Even the right password is refused now: brute force gains nothing. */
	r = wt_call(app, &a, "POST", "/api/v1/session", "{\"username\":\"carol\",\"password\":\"correct horse battery\"}");
	ck_assert_int_eq(r.status, 429);
	wt_free(&r);
}
END_TEST

/* GET /api/v1/me's status for client a. */
static int
me_status(struct wt_client *a)
{
	struct wt_reply	 r = wt_call(app, a, "GET", "/api/v1/me", NULL);
	int		 st = r.status;

	wt_free(&r);
	return st;
}

START_TEST(test_session_cache)
{
	struct wt_client	 a = { "", "" }, b = { "", "" };
	struct wt_reply		 r;
	struct timespec		 t0, t1;
	long			 waited_ms;

	wt_user(app, "erin", "correct horse battery", "member");
	wt_user(app, "fred", "correct horse battery", "member");
	/* Within the cache time a change made outside the app (here: SQL) is not seen yet... */
	app->session_cache_ms = 60000;
	wt_login(app, &a, "erin", "correct horse battery");
	wt_login(app, &b, "fred", "correct horse battery");
	ck_assert_int_eq(me_status(&a), 200);
	wt_sql(app, "UPDATE sessions SET expires_at = now() - interval '1 second' "
	    "WHERE user_id = (SELECT id FROM users WHERE username = 'erin')", 0, NULL);
	ck_assert_int_eq(me_status(&a), 200);
	/* ...but any write request through the app, by anyone, ends every cached session at once. */
	r = wt_call(app, &b, "DELETE", "/api/v1/session", NULL);
	ck_assert_int_eq(r.status, 204);
	wt_free(&r);
	ck_assert_int_eq(me_status(&a), 401);
	ck_assert_int_eq(me_status(&b), 401);
	/* And without any write, a change outside the app shows once the cache time is over. */
	app->session_cache_ms = 200;
	wt_login(app, &a, "erin", "correct horse battery");
	ck_assert_int_eq(me_status(&a), 200);
	wt_sql(app, "UPDATE users SET disabled = true WHERE username = 'erin'", 0, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		ck_assert_msg(waited_ms < 2000, "a disabled user's cached session outlived the cache time");
	} while (me_status(&a) == 200);
	ck_assert_int_le(waited_ms, 400);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("web auth");
	const TTest *const tests[] = {
		test_setup_once, test_login_logout, test_fixation_and_disable, test_csrf,
		test_roles_and_bad_input, test_throttle, test_expiry, test_session_cache,
	};
	size_t		 i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		suite_add_tcase(s, ck_tcase(tests[i]->name, tests[i], setup, teardown, 60));
	return ck_run(s);
}
