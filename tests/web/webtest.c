/* webtest.c: the handler-test client of tests/web: requests built in memory and handed to app_handle(). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "password.h"
#include "secret.h"
#include "webtest.h"
#include "xmalloc.h"

static char	 keydir[64];

struct app *
wt_app(void)
{
	const char	*conninfo = getenv("SK_TEST_DATABASE");
	char		 keyfile[96], err[ERRBUF_LEN];
	struct app	*app;

	ck_assert_msg(conninfo != NULL, "SK_TEST_DATABASE is not set (run through tests/web/test_handlers.sh)");
	if (keydir[0] == '\0') {
		snprintf(keydir, sizeof(keydir), "/tmp/sk-webtest-XXXXXX");
		ck_assert(mkdtemp(keydir) != NULL);
	}
	snprintf(keyfile, sizeof(keyfile), "%s/secret.key", keydir);
	ck_assert_msg(secret_key_create(keyfile, err) >= 0, "%s", err);
	app = app_new(conninfo, keyfile);
	ck_assert(app->db != NULL);
	wt_sql(app, "TRUNCATE sessions, printer_access, setup_tokens, auth_events, spool_cache, "
	    "usage_ledger, spoolman_outbox, job_plan_marks, job_plan_layers, job_filaments, print_jobs, "
	    "tray_assignments, printer_status, worker_leases, printers, users, settings CASCADE", 0, NULL);
	return app;
}

void
wt_app_free(struct app *app)
{
	app_free(app);
}

struct app *
wt_app_members(const char *pw, struct wt_client *admin, struct wt_client *op, struct wt_client *view,
    long long *uop, long long *uview)
{
	struct app	*app;

	setenv("SPOOLKEEPER_STATUS_CACHE_MS", "0", 1);
	app = wt_app();
	memset(admin, 0, sizeof(*admin));
	memset(op, 0, sizeof(*op));
	memset(view, 0, sizeof(*view));
	wt_user(app, "root", pw, "admin");
	*uop = wt_user(app, "op", pw, "member");
	*uview = wt_user(app, "view", pw, "member");
	wt_login(app, admin, "root", pw);
	return app;
}

long long
wt_created(struct app *app, struct wt_client *cl, const char *path, const char *body)
{
	struct wt_reply	 r = wt_call(app, cl, "POST", path, body);
	long long	 id;

	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	id = json_integer_value(json_object_get(r.json, "id"));
	wt_free(&r);
	return id;
}

const char *
wt_sql(struct app *app, const char *sql, int n, const char *const *params)
{
	static char		 value[4096];
	struct db_result	*r;
	char			 err[ERRBUF_LEN];
	const char		*v;

	ck_assert_msg(db_exec(app->db, sql, n, params, &r, err) == 0, "%s: %s", sql, err);
	v = db_result_rows(r) > 0 && db_result_cols(r) > 0 ? db_result_get(r, 0, 0) : NULL;
	if (v != NULL)
		snprintf(value, sizeof(value), "%s", v);
	db_result_free(r);
	return v != NULL ? value : NULL;
}

long long
wt_user(struct app *app, const char *name, const char *pw, const char *role)
{
	char		 hash[PASSWORD_HASH_MAX], err[ERRBUF_LEN];
	const char	*params[3] = { name, hash, role };

	ck_assert(password_hash(pw, hash, err) == 0);
	return atoll(wt_sql(app, "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) "
	    "RETURNING id", 3, params));
}

void
wt_grant(struct app *app, long long user, long long printer, const char *level)
{
	char		 u[24], p[24];
	const char	*params[3] = { u, p, level };

	snprintf(u, sizeof(u), "%lld", user);
	snprintf(p, sizeof(p), "%lld", printer);
	wt_sql(app, "INSERT INTO printer_access (user_id, printer_id, level) VALUES ($1::bigint, $2::bigint, $3)",
	    3, params);
}

const char *
wt_jstr(const json_t *o, const char *k)
{
	const json_t	*v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

long long
wt_jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void
remember(struct wt_client *cl, struct wt_reply *rep)
{
	json_t	*t;

	if (cl == NULL)
		return;
	if (rep->set_cookie != NULL) {
		const char	*v = rep->set_cookie + strlen("Set-Cookie: ");
		size_t		 n = strcspn(v, ";");

		if (strstr(v, "Max-Age=0") != NULL)
			cl->cookie[0] = '\0';
		else if (n < sizeof(cl->cookie)) {
			memcpy(cl->cookie, v, n);
			cl->cookie[n] = '\0';
		}
	}
	if (rep->json != NULL && (t = json_object_get(rep->json, "csrf_token")) != NULL && json_is_string(t))
		snprintf(cl->csrf, sizeof(cl->csrf), "%s", json_string_value(t));
}

struct wt_reply
wt_call_req(struct app *app, struct wt_client *cl, struct http_request *req)
{
	struct http_response	 res;
	struct wt_reply		 rep;
	size_t			 hlen = 0;
	int			 i;

	memset(&rep, 0, sizeof(rep));
	http_response_init(&res);
	app_handle(app, req, &res);
	rep.status = res.status;
	rep.body = xmalloc(res.body_len + 1);
	memcpy(rep.body, res.body != NULL ? res.body : "", res.body_len);
	rep.body[res.body_len] = '\0';
	if (res.content_type != NULL && strncmp(res.content_type, "application/json", 16) == 0)
		rep.json = json_loads(rep.body, JSON_DECODE_ANY, NULL);
	for (i = 0; i < res.nheaders; i++)
		hlen += strlen(res.headers[i]) + 1;
	rep.headers = xcalloc(1, hlen + 1);
	for (i = 0; i < res.nheaders; i++) {
		strcat(rep.headers, res.headers[i]);
		strcat(rep.headers, "\n");
		if (strncmp(res.headers[i], "Set-Cookie: ", 12) == 0) {
			free(rep.set_cookie);
			rep.set_cookie = xstrdup(res.headers[i]);
		}
	}
	http_response_free(&res);
	remember(cl, &rep);
	return rep;
}

struct wt_reply
wt_call(struct app *app, struct wt_client *cl, const char *method, const char *path, const char *body)
{
	struct http_request	 req;
	char			 p[1024];
	char			*q;

	snprintf(p, sizeof(p), "%s", path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = p;
	if ((q = strchr(p, '?')) != NULL) {
		*q = '\0';
		req.query = q + 1;
	}
	req.host = "localhost";
	req.fetch_site = "same-origin";
	req.remote_addr = "127.0.0.1";
	req.user_agent = "check";
	req.cookie = cl != NULL && cl->cookie[0] != '\0' ? cl->cookie : NULL;
	req.csrf_token = cl != NULL && cl->csrf[0] != '\0' ? cl->csrf : NULL;
	if (body != NULL) {
		req.body = body;
		req.body_len = strlen(body);
		req.content_type = "application/json";
	}
	return wt_call_req(app, cl, &req);
}

void
wt_free(struct wt_reply *rep)
{
	json_decref(rep->json);
	free(rep->body);
	free(rep->set_cookie);
	free(rep->headers);
	memset(rep, 0, sizeof(*rep));
}

void
wt_login(struct app *app, struct wt_client *cl, const char *name, const char *pw)
{
	char		 body[512];
	struct wt_reply	 r;

	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", name, pw);
	r = wt_call(app, cl, "POST", "/api/v1/session", body);
	ck_assert_msg(r.status == 200, "login %s: %d %s", name, r.status, r.body);
	wt_free(&r);
}
