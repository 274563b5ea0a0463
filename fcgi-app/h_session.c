/* h_session.c: POST/DELETE /session (log in, log out), GET /me, POST /me/password, GET/POST /setup. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "password.h"
#include "routes.h"
#include "token.h"
#include "users.h"

/* Failed logins per account name within FAIL_WINDOW before further attempts are refused with 429. */
#define FAIL_LIMIT	10
#define FAIL_WINDOW	"15 minutes"

/* Answers 200 with the user's JSON and the session's CSRF token. */
static void
reply_me(struct ctx *c, int status)
{
	json_t	*me = users_json(c, c->user.id);

	if (me == NULL)
		return;
	json_object_set_new(me, "csrf_token", json_string(c->csrf));
	http_reply_json(c->res, status, me);
}

void
h_session_create(struct ctx *c)
{
	static const char *const fields[] = { "username", "password", NULL };
	const char		*name, *pw, *hash, *params[2];
	struct db_result	*r;
	long long		 id, fails;
	int			 disabled, ok;

	if (body_only(c, fields) == -1 || body_string(c, "username", 1, 64, &name) == -1 ||
	    body_string(c, "password", 1, PASSWORD_MAX_LEN, &pw) == -1)
		return;
	params[0] = name;
	if (ctx_query(c, "SELECT count(*) FROM auth_events WHERE event = 'login_failed' "
	    "AND lower(username) = lower($1) AND at > now() - interval '" FAIL_WINDOW "'", 1, params, &r) == -1)
		return;
	fails = 0;
	(void)db_result_int64(r, 0, 0, &fails);
	db_result_free(r);
	if (fails >= FAIL_LIMIT) {
		auth_event(c, "login_failed", 0, name, "throttled: too many failures");
		ctx_fail(c, 429, "too_many_attempts", "too many failed logins for this account; wait a few "
		    "minutes");
		return;
	}
	if (ctx_query(c, "SELECT id, password_hash, disabled, username FROM users WHERE lower(username) = lower($1)",
	    1, params, &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		password_dummy_verify(pw);	/* as long as a real check: no user enumeration by timing */
		auth_event(c, "login_failed", 0, name, "no such user");
		ctx_fail(c, 401, "invalid_login", "wrong user name or password");
		return;
	}
	(void)db_result_int64(r, 0, 0, &id);
	hash = db_result_get(r, 0, 1);
	disabled = db_result_bool(r, 0, 2) == 1;
	ok = password_verify(hash, pw);
	if (ok && password_needs_rehash(hash)) {
		char	 newhash[PASSWORD_HASH_MAX], uid[24];
		const char *p2[2] = { newhash, ctx_num(uid, id) };

		if (password_hash(pw, newhash, c->err) == 0 &&
		    ctx_query(c, "UPDATE users SET password_hash = $1 WHERE id = $2::bigint", 2, p2, NULL) == -1) {
			db_result_free(r);
			return;
		}
	}
	db_result_free(r);
	if (!ok || disabled) {
		auth_event(c, "login_failed", id, name, disabled && ok ? "account disabled" : "wrong password");
		if (disabled && ok)
			ctx_fail(c, 403, "disabled", "this account is disabled; ask an admin");
		else
			ctx_fail(c, 401, "invalid_login", "wrong user name or password");
		return;
	}
	if (auth_login(c, id) == -1)
		return;
	auth_event(c, "login", id, name, NULL);
	reply_me(c, 200);
}

void
h_session_delete(struct ctx *c)
{
	long long	 id = c->user.id;
	char		 name[sizeof(c->user.name)];

	snprintf(name, sizeof(name), "%s", c->user.name);
	if (auth_logout(c) == -1)
		return;
	auth_event(c, "logout", id, name, NULL);
	c->res->status = 204;
}

void
h_me(struct ctx *c)
{
	reply_me(c, 200);
}

void
h_me_password(struct ctx *c)
{
	static const char *const fields[] = { "current_password", "new_password", NULL };
	const char		*cur, *pw, *params[2];
	char			 hash[PASSWORD_HASH_MAX], uid[24];
	struct db_result	*r;
	int			 ok;

	if (body_only(c, fields) == -1 || body_string(c, "current_password", 1, PASSWORD_MAX_LEN, &cur) == -1 ||
	    body_string(c, "new_password", 1, PASSWORD_MAX_LEN, &pw) == -1)
		return;
	if (password_acceptable(pw, c->user.name, c->err) == -1) {
		ctx_fail(c, 400, "weak_password", "%s", c->err);
		return;
	}
	params[0] = ctx_num(uid, c->user.id);
	if (ctx_query(c, "SELECT password_hash FROM users WHERE id = $1::bigint", 1, params, &r) == -1)
		return;
	ok = db_result_rows(r) == 1 && password_verify(db_result_get(r, 0, 0), cur);
	db_result_free(r);
	if (!ok) {
		auth_event(c, "login_failed", c->user.id, c->user.name, "wrong current password");
		ctx_fail(c, 403, "invalid_login", "the current password is wrong");
		return;
	}
	if (password_hash(pw, hash, c->err) == -1) {
		ctx_fail(c, 503, "busy", "%s", c->err);
		return;
	}
	params[0] = hash;
	params[1] = uid;
	/* The trigger users_end_sessions ends every session of the user, this one too; log in again at once. */
	if (ctx_query(c, "UPDATE users SET password_hash = $1 WHERE id = $2::bigint", 2, params, NULL) == -1)
		return;
	auth_event(c, "password_reset", c->user.id, c->user.name, "by the user");
	c->logged_in = 0;
	if (auth_login(c, c->user.id) == -1)
		return;
	reply_me(c, 200);
}

void
h_setup_get(struct ctx *c)
{
	json_t	*j = ctx_query_json(c, "SELECT json_build_object('needed', NOT EXISTS (SELECT 1 FROM users "
	    "WHERE role = 'admin' AND NOT disabled), 'logged_in', $1::boolean)", 1,
	    (const char *[]){ c->logged_in ? "true" : "false" }, NULL);

	if (j != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_setup_post(struct ctx *c)
{
	static const char *const fields[] = { "token", "username", "password", "display_name", NULL };
	const char		*tok, *name, *pw, *disp = NULL, *params[4];
	char			 hash[PASSWORD_HASH_MAX], th[2 * TOKEN_HASH_LEN + 3];
	unsigned char		 raw[TOKEN_HASH_LEN];
	struct db_result	*r;
	long long		 id;

	if (body_only(c, fields) == -1 || body_string(c, "token", 1, 128, &tok) == -1 ||
	    body_string(c, "username", 1, 64, &name) == -1 ||
	    body_string(c, "password", 1, PASSWORD_MAX_LEN, &pw) == -1 ||
	    body_string(c, "display_name", 0, 128, &disp) == -1)
		return;
	if (users_check_name(c, name) == -1)
		return;
	if (password_acceptable(pw, name, c->err) == -1) {
		ctx_fail(c, 400, "weak_password", "%s", c->err);
		return;
	}
	if (password_hash(pw, hash, c->err) == -1) {
		ctx_fail(c, 503, "busy", "%s", c->err);
		return;
	}
	token_hash(tok, raw);
	token_hash_param(raw, th);
	params[0] = th;
	if (db_begin(c->app->db, c->err) == -1) {
		ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
		return;
	}
	/* One setup at a time; the token is spent only while no enabled admin exists. */
	if (ctx_query(c, "SELECT pg_advisory_xact_lock(hashtext('spoolkeeper setup'))", 0, NULL, NULL) == -1 ||
	    ctx_query(c, "UPDATE setup_tokens SET used_at = now() WHERE token_hash = $1::bytea "
	    "AND used_at IS NULL AND expires_at > now() AND NOT EXISTS "
	    "(SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled) RETURNING 1", 1, params, &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		db_rollback(c->app->db);
		auth_event(c, "login_failed", 0, name, "setup with an invalid, used or expired token");
		ctx_fail(c, 403, "invalid_token", "the setup token is wrong, used or expired, or an admin exists");
		return;
	}
	db_result_free(r);
	params[0] = name;
	params[1] = disp;
	params[2] = hash;
	if (ctx_query(c, "INSERT INTO users (username, display_name, password_hash, role) "
	    "VALUES ($1, $2, $3, 'admin') RETURNING id", 3, params, &r) == -1)
		return;
	(void)db_result_int64(r, 0, 0, &id);
	db_result_free(r);
	if (db_commit(c->app->db, c->err) == -1) {
		ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
		return;
	}
	auth_event(c, "setup", id, name, "first admin created");
	if (auth_login(c, id) == -1)
		return;
	reply_me(c, 201);
}
