/* auth.c: the session cookie, its hashed token in the database, expiry, CSRF checks and the auth log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "epoch.h"
#include "log.h"
#include "session_cache.h"
#include "token.h"

/* seen_at is written at most this often per session (and at least 4 times per idle period). */
#define SEEN_REFRESH_MAX	60

static const char *
cookie_name(const struct ctx *c)
{
	return c->req->https ? APP_SESSION_COOKIE_TLS : APP_SESSION_COOKIE;
}

int
auth_session(struct ctx *c)
{
	char			 token[TOKEN_HEX_LEN + 1], idle[24], refresh[24];
	unsigned char		 hash[TOKEN_HASH_LEN];
	const char		*params[3];
	struct db_result	*r;
	long			 every;
	unsigned long		 epoch = epoch_now();

	c->logged_in = 0;
	if (http_cookie(c->req->cookie, cookie_name(c), token, sizeof(token)) != 1 || !token_well_formed(token))
		return 0;
	token_hash(token, hash);
	token_hash_param(hash, c->session);
	if (session_cache_get(hash, c->app->session_cache_ms, &c->user, c->csrf, sizeof(c->csrf))) {
		c->logged_in = 1;
		return 0;
	}
	every = c->app->session_idle / 4 < SEEN_REFRESH_MAX ? c->app->session_idle / 4 : SEEN_REFRESH_MAX;
	params[0] = c->session;
	params[1] = ctx_num(idle, c->app->session_idle);
	params[2] = ctx_num(refresh, every);
	if (ctx_query(c,
	    "SELECT u.id, u.username, u.role = 'admin', s.csrf_token, "
	    "       s.seen_at < now() - make_interval(secs => $3::int) "
	    "  FROM sessions s JOIN users u ON u.id = s.user_id "
	    " WHERE s.token_hash = $1::bytea AND NOT u.disabled AND s.expires_at > now() "
	    "   AND s.seen_at > now() - make_interval(secs => $2::int)", 3, params, &r) == -1)
		return -1;
	if (db_result_rows(r) == 1 && db_result_int64(r, 0, 0, &c->user.id) == 0) {
		snprintf(c->user.name, sizeof(c->user.name), "%s", db_result_get(r, 0, 1));
		c->user.admin = db_result_bool(r, 0, 2) == 1;
		snprintf(c->csrf, sizeof(c->csrf), "%s", db_result_get(r, 0, 3));
		c->logged_in = 1;
		session_cache_put(hash, epoch, &c->user, c->csrf);
		if (db_result_bool(r, 0, 4) == 1) {
			db_result_free(r);
			return ctx_query(c, "UPDATE sessions SET seen_at = now() WHERE token_hash = $1::bytea", 1,
			    params, NULL);
		}
	}
	if (!c->logged_in)
		session_cache_drop(hash);
	db_result_free(r);
	return 0;
}

/* 1 if origin (scheme://host[:port]) names the host the request was sent to. */
static int
same_origin(const char *origin, const char *host)
{
	const char	*p;

	if (host == NULL)
		return 0;
	if (strncmp(origin, "http://", 7) == 0)
		p = origin + 7;
	else if (strncmp(origin, "https://", 8) == 0)
		p = origin + 8;
	else
		return 0;
	return strcasecmp(p, host) == 0;
}

int
auth_csrf(struct ctx *c, int need_token)
{
	const struct http_request	*req = c->req;
	const char			*why = NULL;

	if (req->fetch_site != NULL && strcmp(req->fetch_site, "same-origin") != 0 &&
	    strcmp(req->fetch_site, "none") != 0)
		why = "a cross-site request";
	else if (req->origin != NULL && !same_origin(req->origin, req->host))
		why = "a request from another origin";
	else if (need_token && !c->logged_in)
		why = "no session";
	else if (need_token && (req->csrf_token == NULL || !token_equal(req->csrf_token, c->csrf)))
		why = req->csrf_token == NULL ? "no X-CSRF-Token header" : "a wrong X-CSRF-Token";
	if (why == NULL)
		return 0;
	auth_event(c, "csrf_failed", c->logged_in ? c->user.id : 0, c->logged_in ? c->user.name : NULL, why);
	return ctx_fail(c, 403, "csrf", "refused %s: state changes need the session's X-CSRF-Token header", why);
}

/* Fills c->user's name and role from the database.  0, or -1 after answering. */
static int
load_user(struct ctx *c, const char *uid)
{
	struct db_result	*r;
	const char		*params[1] = { uid };

	if (ctx_query(c, "SELECT username, role = 'admin' FROM users WHERE id = $1::bigint", 1, params, &r) == -1)
		return -1;
	if (db_result_rows(r) == 1) {
		snprintf(c->user.name, sizeof(c->user.name), "%s", db_result_get(r, 0, 0));
		c->user.admin = db_result_bool(r, 0, 1) == 1;
	}
	db_result_free(r);
	return 0;
}

int
auth_login(struct ctx *c, long long user_id)
{
	char			 token[TOKEN_HEX_LEN + 1], csrf[TOKEN_HEX_LEN + 1], hashp[2 * TOKEN_HASH_LEN + 3];
	char			 uid[24], max[24];
	unsigned char		 hash[TOKEN_HASH_LEN];
	const char		*params[6];
	int			 tls = c->req->https;

	if (token_new(token) == -1 || token_new(csrf) == -1)
		return ctx_fail(c, 500, "internal", "no random numbers");
	/* A session the browser brought along (fixation, or simply an old one) ends here. */
	if (c->logged_in && auth_logout(c) == -1)
		return -1;
	token_hash(token, hash);
	token_hash_param(hash, hashp);
	params[0] = hashp;
	params[1] = ctx_num(uid, user_id);
	params[2] = csrf;
	params[3] = ctx_num(max, c->app->session_max);
	params[4] = c->req->remote_addr;
	params[5] = c->req->user_agent;
	if (ctx_query(c,
	    "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, ip, user_agent) "
	    "VALUES ($1::bytea, $2::bigint, $3, now() + make_interval(secs => $4::int), left($5, 64), left($6, 512))",
	    6, params, NULL) == -1 ||
	    ctx_query(c, "UPDATE users SET last_login_at = now() WHERE id = $1::bigint", 1, params + 1, NULL) == -1)
		return -1;
	/* Delete sessions past their expiry now and then (1 login in 16), so the table does not grow. */
	if ((token[0] & 0x0f) == 0 &&
	    ctx_query(c, "DELETE FROM sessions WHERE expires_at < now() - interval '1 day'", 0, NULL, NULL) == -1)
		return -1;
	http_add_header(c->res, "Set-Cookie: %s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s",
	    cookie_name(c), token, c->app->session_max, tls ? "; Secure" : "");
	snprintf(c->session, sizeof(c->session), "%s", hashp);
	snprintf(c->csrf, sizeof(c->csrf), "%s", csrf);
	c->logged_in = 1;
	c->user.id = user_id;
	return load_user(c, uid);
}

int
auth_logout(struct ctx *c)
{
	const char	*params[1] = { c->session };

	if (c->logged_in &&
	    ctx_query(c, "DELETE FROM sessions WHERE token_hash = $1::bytea", 1, params, NULL) == -1)
		return -1;
	c->logged_in = 0;
	http_add_header(c->res, "Set-Cookie: %s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
	    cookie_name(c), c->req->https ? "; Secure" : "");
	return 0;
}

void
auth_event(struct ctx *c, const char *event, long long user_id, const char *username, const char *detail)
{
	char		 uid[24];
	const char	*params[5];
	char		 err[ERRBUF_LEN];

	params[0] = event;
	params[1] = user_id > 0 ? ctx_num(uid, user_id) : NULL;
	params[2] = username;
	params[3] = c->req->remote_addr;
	params[4] = detail;
	/* Failed logins and CSRF refusals are warnings (an attack or a forgotten password), the rest info. */
	ctx_logl(c, strstr(event, "fail") != NULL ? LOGL_WARN : LOGL_INFO, "auth %s: user %s%s%s", event,
	    username != NULL ? username : "-", detail != NULL ? ": " : "", detail != NULL ? detail : "");
	if (c->app->db == NULL || db_exec(c->app->db,
	    "INSERT INTO auth_events (event, user_id, username, ip, detail) "
	    "VALUES ($1, $2::bigint, left($3, 256), left($4, 64), left($5, 512))", 5, params, NULL, err) == -1)
		ctx_logl(c, LOGL_ERROR, "cannot record the auth event: %s", c->app->db != NULL ? err : "no database");
}
