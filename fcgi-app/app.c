/* app.c: one request from start to end: routing, session, CSRF, role, JSON body, handler, headers. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "app.h"
#include "auth.h"
#include "body.h"
#include "conf.h"
#include "db.h"
#include "epoch.h"
#include "log.h"
#include "metrics.h"
#include "monoclock.h"
#include "routes.h"
#include "secret.h"
#include "xmalloc.h"

#define API_PREFIX	"/api/v1"
#define ID_MAX		9007199254740992LL	/* 2^53: exact in every JSON number */

/* The whole number in environment variable name when it is one within [min, max], else def. */
static long
env_number(const char *name, long min, long max, long def)
{
	const char	*v = getenv(name);
	char		*end;
	long		 n;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return def;
	return n;
}

struct app *
app_new(const char *conninfo, const char *key_file)
{
	struct app	*app = xcalloc(1, sizeof(*app));
	char		 err[ERRBUF_LEN];

	app->conninfo = xstrdup(conninfo);
	app->session_idle = env_number("SPOOLKEEPER_SESSION_IDLE", 1, LONG_MAX, APP_SESSION_IDLE_DEFAULT);
	app->session_max = env_number("SPOOLKEEPER_SESSION_MAX", 1, LONG_MAX, APP_SESSION_MAX_DEFAULT);
	app->spoolman_timeout_ms = env_number("SPOOLKEEPER_SPOOLMAN_TIMEOUT_MS", 1, LONG_MAX, 5000);
	app->status_cache_ms = env_number("SPOOLKEEPER_STATUS_CACHE_MS", 0, 60000, APP_STATUS_CACHE_MS_DEFAULT);
	app->session_cache_ms = env_number("SPOOLKEEPER_SESSION_CACHE_MS", 0, 10000, APP_SESSION_CACHE_MS_DEFAULT);
	if (db_open(app->conninfo, &app->db, err) == -1)
		log_msg(LOGL_WARN, 0, 0, "%s (will retry on each request)", err);
	if (secret_key_load(key_file != NULL ? key_file : conf_key_file(), &app->key, err) == -1)
		log_msg(LOGL_WARN, 0, 0, "%s; printers cannot be added or changed until it exists", err);
	return app;
}

void
app_free(struct app *app)
{
	if (app == NULL)
		return;
	db_close(app->db);
	secret_key_free(app->key);
	free(app->conninfo);
	free(app);
}

const char *
ctx_num(char buf[24], long long n)
{
	snprintf(buf, 24, "%lld", n);
	return buf;
}

static void
vlog(const struct ctx *c, int level, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void
vlog(const struct ctx *c, int level, const char *fmt, va_list ap)
{
	char	 msg[1024];

	if (!log_enabled((enum log_level)level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_msg((enum log_level)level, 0, 0, "%s (%s %s, user %s, from %s)", msg,
	    c->req->method != NULL ? c->req->method : "-", c->req->path != NULL ? c->req->path : "-",
	    c->logged_in ? c->user.name : "-", c->req->remote_addr != NULL ? c->req->remote_addr : "-");
}

void
ctx_log(const struct ctx *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(c, LOGL_INFO, fmt, ap);
	va_end(ap);
}

void
ctx_logl(const struct ctx *c, int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(c, level, fmt, ap);
	va_end(ap);
}

int
ctx_fail(struct ctx *c, int status, const char *error, const char *fmt, ...)
{
	char	 detail[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http_reply_error(c->res, status, error, detail);
	return -1;
}

/* Makes sure the connection is up; 0, or -1 after answering 503. */
static int
db_ready(struct ctx *c)
{
	char	 err[ERRBUF_LEN];

	if (c->app->db == NULL) {
		if (db_open(c->app->conninfo, &c->app->db, err) == -1) {
			ctx_logl(c, LOGL_ERROR, "%s", err);
			return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
		}
		return 0;
	}
	if (db_check(c->app->db, err) == -1) {
		ctx_logl(c, LOGL_ERROR, "%s", err);
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
	}
	return 0;
}

int
ctx_query(struct ctx *c, const char *sql, int nparams, const char *const *params, struct db_result **rp)
{
	const char	*state;
	struct db	*db = c->app->db;

	if (rp != NULL)
		*rp = NULL;
	if (db == NULL && db_ready(c) == -1)
		return -1;
	db = c->app->db;
	if (db_exec_prepared(db, sql, nparams, params, rp, c->err) == 0)
		return 0;
	state = db_sqlstate(db);
	if (*state == '\0' || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		ctx_logl(c, LOGL_ERROR, "database: %s", c->err);
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached; try again");
	}
	if (strcmp(state, DB_UNIQUE_VIOLATION) == 0 || strcmp(state, DB_EXCLUSION_VIOLATION) == 0)
		return ctx_fail(c, 409, "conflict", "%s already exists (%s)", "such an entry",
		    *db_constraint(db) != '\0' ? db_constraint(db) : "unique");
	if (strncmp(state, "23", 2) == 0)
		return ctx_fail(c, 400, "invalid", "a value was refused (%s)",
		    *db_constraint(db) != '\0' ? db_constraint(db) : state);
	if (strncmp(state, "22", 2) == 0)
		return ctx_fail(c, 400, "invalid", "a value is out of range or malformed (SQLSTATE %s)", state);
	ctx_logl(c, LOGL_ERROR, "database: %s", c->err);
	return ctx_fail(c, 500, "internal", "the database refused the request");
}

json_t *
ctx_query_json(struct ctx *c, const char *sql, int nparams, const char *const *params,
    const char *not_found_detail)
{
	struct db_result	*r;
	const char		*text;
	json_t			*j;
	json_error_t		 jerr;

	if (ctx_query(c, sql, nparams, params, &r) == -1)
		return NULL;
	text = db_result_rows(r) > 0 ? db_result_get(r, 0, 0) : NULL;
	if (text == NULL) {
		db_result_free(r);
		if (not_found_detail == NULL)
			return json_null();
		http_reply_error(c->res, 404, "not_found", not_found_detail);
		return NULL;
	}
	j = json_loads(text, JSON_DECODE_ANY, &jerr);
	db_result_free(r);
	if (j == NULL) {
		ctx_logl(c, LOGL_ERROR, "database returned JSON Jansson cannot read: %s", jerr.text);
		http_reply_error(c->res, 500, "internal", "cannot read the database's answer");
	}
	return j;
}

int
ctx_need_printer(struct ctx *c, long long printer_id, enum access need)
{
	char			 u[24], p[24];
	const char		*params[2] = { ctx_num(u, c->user.id), ctx_num(p, printer_id) };
	struct db_result	*r;
	const char		*level;
	int			 ok;

	if (ctx_query(c, "SELECT user_printer_level($1::bigint, $2::bigint)", 2, params, &r) == -1)
		return -1;
	level = db_result_get(r, 0, 0);
	if (level == NULL) {
		db_result_free(r);
		return ctx_fail(c, 404, "not_found", "no such printer");
	}
	ok = strcmp(level, "admin") == 0 || need == ACCESS_VIEW ||
	    (need == ACCESS_OPERATE && strcmp(level, "operator") == 0);
	db_result_free(r);
	if (!ok)
		return ctx_fail(c, 403, "forbidden", need == ACCESS_ADMIN ? "only an admin may do this" :
		    "you may only look at this printer");
	return 0;
}

/* Body fields ------------------------------------------------------------------------------------------------ */

static int
field_error(struct ctx *c, const char *key, const char *what)
{
	return ctx_fail(c, 400, "invalid", "%s: %s", key, what);
}

int
body_has(const struct ctx *c, const char *key)
{
	return c->body != NULL && json_object_get(c->body, key) != NULL;
}

int
body_string(struct ctx *c, const char *key, int required, size_t maxlen, const char **out)
{
	json_t		*v = c->body != NULL ? json_object_get(c->body, key) : NULL;
	const char	*s;
	size_t		 len, i;

	if (v == NULL || json_is_null(v))
		return required ? field_error(c, key, "is required") : 0;
	if (!json_is_string(v))
		return field_error(c, key, "must be a string");
	s = json_string_value(v);
	len = json_string_length(v);
	if (len != strlen(s))
		return field_error(c, key, "must not contain NUL characters");
	if (len > maxlen) {
		char	 what[64];

		snprintf(what, sizeof(what), "must be at most %zu bytes", maxlen);
		return field_error(c, key, what);
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return field_error(c, key, "must not contain control characters");
	*out = s;
	return 1;
}

int
body_int(struct ctx *c, const char *key, int required, long long min, long long max, long long *out)
{
	json_t	*v = c->body != NULL ? json_object_get(c->body, key) : NULL;
	char	 what[96];

	if (v == NULL || json_is_null(v))
		return required ? field_error(c, key, "is required") : 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(what, sizeof(what), "must be a whole number from %lld to %lld", min, max);
		return field_error(c, key, what);
	}
	*out = json_integer_value(v);
	return 1;
}

int
body_bool(struct ctx *c, const char *key, int required, int *out)
{
	json_t	*v = c->body != NULL ? json_object_get(c->body, key) : NULL;

	if (v == NULL || json_is_null(v))
		return required ? field_error(c, key, "is required") : 0;
	if (!json_is_boolean(v))
		return field_error(c, key, "must be true or false");
	*out = json_is_true(v);
	return 1;
}

int
body_only(struct ctx *c, const char *const *keys)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (c->body == NULL)
		return 0;
	json_object_foreach(c->body, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL)
			return ctx_fail(c, 400, "invalid", "unknown field \"%.64s\"", k);
	}
	return 0;
}

/* Routing ---------------------------------------------------------------------------------------------------- */

/* Parses a path segment as a number in [min, ID_MAX]; -1 if it is not one. */
static long long
segment_number(const char *s, size_t len, long long min)
{
	long long	 n = 0;
	size_t		 i;

	if (len == 0 || len > 16 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return n < min || n > ID_MAX ? -1 : n;
}

/* 1 if path matches pattern (both without the /api/v1 prefix), filling ids. */
static int
match(const char *pattern, const char *path, long long *ids, int *nid)
{
	*nid = 0;
	for (;;) {
		const char	*pe, *se;
		size_t		 plen, slen;

		if (*pattern == '\0' || *path == '\0')
			return *pattern == '\0' && *path == '\0';
		if (*pattern != '/' || *path != '/')
			return 0;
		pattern++;
		path++;
		pe = strchr(pattern, '/');
		se = strchr(path, '/');
		plen = pe != NULL ? (size_t)(pe - pattern) : strlen(pattern);
		slen = se != NULL ? (size_t)(se - path) : strlen(path);
		if ((plen == 2 && strncmp(pattern, "{}", 2) == 0) || (plen == 3 && strncmp(pattern, "{0}", 3) == 0)) {
			long long	 n = segment_number(path, slen, plen == 3 ? 0 : 1);

			if (n < 0 || *nid >= 4)
				return 0;
			ids[(*nid)++] = n;
		} else if (plen != slen || strncmp(pattern, path, plen) != 0)
			return 0;
		pattern += plen;
		path += slen;
	}
}

/* Parses the JSON body of a POST, PUT or PATCH into c->body.  0, or -1 after answering. */
static int
parse_body(struct ctx *c)
{
	int	 status;
	char	 detail[ERRBUF_LEN];

	if (body_parse(c->req, &c->body, &status, detail) == 0)
		return 0;
	return ctx_fail(c, status, status == 413 ? "too_large" : status == 415 ? "unsupported_media_type" :
	    status == 400 && c->req->body_error != 0 ? "bad_body" : "bad_json", "%s", detail);
}

static int
state_changing(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static void
security_headers(struct http_response *res)
{
	http_add_header(res, "Cache-Control: no-store");
	http_add_header(res, "X-Content-Type-Options: nosniff");
	http_add_header(res, "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'");
	http_add_header(res, "Referrer-Policy: same-origin");
}

static void
dispatch(struct ctx *c)
{
	const struct http_request	*req = c->req;
	const struct route		*rt, *found = NULL;
	const char			*path;
	int				 path_matched = 0, api;

	if (req->method == NULL || req->path == NULL) {
		ctx_fail(c, 400, "bad_request", "no method or path");
		return;
	}
	/* Under /api/v1 the patterns are relative to it; a ROUTE_ROOT pattern is the whole path. */
	api = strncmp(req->path, API_PREFIX, sizeof(API_PREFIX) - 1) == 0 &&
	    (req->path[sizeof(API_PREFIX) - 1] == '/' || req->path[sizeof(API_PREFIX) - 1] == '\0');
	path = api ? req->path + sizeof(API_PREFIX) - 1 : NULL;
	for (rt = routes; rt->method != NULL; rt++) {
		if ((rt->flags & ROUTE_ROOT) ? !match(rt->pattern, req->path, c->id, &c->nid) :
		    path == NULL || !match(rt->pattern, path, c->id, &c->nid))
			continue;
		path_matched = 1;
		if (strcmp(rt->method, req->method) == 0 ||
		    (strcmp(req->method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
			found = rt;
			break;
		}
	}
	c->app->route = found != NULL ? (int)(found - routes) : -1;
	if (found == NULL) {
		if (path_matched)
			ctx_fail(c, 405, "method_not_allowed", "%s is not allowed here", req->method);
		else
			ctx_fail(c, 404, "not_found", "no such route");
		return;
	}
	if (!(found->flags & ROUTE_NO_SESSION) && (db_ready(c) == -1 || auth_session(c) == -1))
		return;
	if (!(found->flags & ROUTE_PUBLIC) && !c->logged_in) {
		ctx_fail(c, 401, "unauthorized", "log in first");
		return;
	}
	if (state_changing(req->method) && auth_csrf(c, !(found->flags & ROUTE_NO_CSRF)) == -1)
		return;
	if ((found->flags & ROUTE_ADMIN) && !c->user.admin) {
		ctx_fail(c, 403, "forbidden", "only an admin may do this");
		return;
	}
	if (state_changing(req->method) && parse_body(c) == -1)
		return;
	c->res->status = 0;
	found->handler(c);
	if (c->res->status == 0)
		ctx_fail(c, 500, "internal", "the handler gave no answer");
	/* After any write (a log out, a password or role change, a tray mapped) no process trusts a cached session
	 * or dashboard made before it.  After the handler: a copy made from the old rows carries the old epoch. */
	if (state_changing(req->method))
		epoch_bump();
}

void
app_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	struct ctx	 c;
	double		 t0 = monoclock_s();

	memset(&c, 0, sizeof(c));
	c.app = app;
	c.req = req;
	c.res = res;
	app->requests++;
	app->route = -1;
	dispatch(&c);
	json_decref(c.body);
	if (app->db != NULL && db_in_transaction(app->db))
		db_rollback(app->db);	/* a handler that failed half-way never leaves a transaction open */
	security_headers(res);
	metrics_observe(app->route, res->status, monoclock_s() - t0);
}
