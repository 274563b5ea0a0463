/* h_users.c: user administration for admins: list, create, read, update (role, disabled), reset, access. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "password.h"
#include "routes.h"
#include "token.h"
#include "users.h"

/* A user and the printers they may see.  $1: user id. */
#define USER_JSON \
	"SELECT json_build_object('id', u.id, 'username', u.username, 'display_name', u.display_name, " \
	"    'role', u.role, 'disabled', u.disabled, 'created_at', u.created_at, " \
	"    'last_login_at', u.last_login_at, " \
	"    'printers', coalesce((SELECT json_agg(json_build_object('printer_id', p.id, 'name', p.name, " \
	"        'access', CASE WHEN u.role = 'admin' THEN 'admin' ELSE a.level END) ORDER BY p.id) " \
	"      FROM printers p LEFT JOIN printer_access a ON a.printer_id = p.id AND a.user_id = u.id " \
	"     WHERE u.role = 'admin' OR a.level IS NOT NULL), '[]'::json)) " \
	"  FROM users u WHERE u.id = $1::bigint"

json_t *
users_json(struct ctx *c, long long user_id)
{
	char		 id[24];
	const char	*params[1] = { ctx_num(id, user_id) };

	return ctx_query_json(c, USER_JSON, 1, params, "no such user");
}

int
users_check_name(struct ctx *c, const char *name)
{
	size_t	 i, n = strlen(name);

	if (n < 1 || n > 64)
		return ctx_fail(c, 400, "invalid", "username: 1 to 64 characters");
	for (i = 0; i < n; i++) {
		char	 ch = name[i];
		int	 alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || strchr("._@-", ch) == NULL))
			return ctx_fail(c, 400, "invalid", "username: letters, digits and . _ @ -, starting with a "
			    "letter or digit");
	}
	return 0;
}

/* A new random password for a user to change later: 20 hex digits (80 bits). */
static int
random_password(struct ctx *c, char out[21])
{
	char	 tok[TOKEN_HEX_LEN + 1];

	if (token_new(tok) == -1)
		return ctx_fail(c, 500, "internal", "no random numbers");
	memcpy(out, tok, 20);
	out[20] = '\0';
	return 0;
}

/*
 * The password of a create or reset: the body's "password" after the rules, or a random one (*generated set).
 * Hashes it into hash.  0, or -1 after answering.
 */
static int
new_password(struct ctx *c, const char *username, char gen[21], int *generated, char hash[PASSWORD_HASH_MAX])
{
	const char	*pw = NULL;
	int		 has;

	*generated = 0;
	if ((has = body_string(c, "password", 0, PASSWORD_MAX_LEN, &pw)) == -1)
		return -1;
	if (has == 0) {
		if (random_password(c, gen) == -1)
			return -1;
		pw = gen;
		*generated = 1;
	} else if (password_acceptable(pw, username, c->err) == -1)
		return ctx_fail(c, 400, "weak_password", "%s", c->err);
	if (password_hash(pw, hash, c->err) == -1)
		return ctx_fail(c, 503, "busy", "%s", c->err);
	return 0;
}

void
h_users_list(struct ctx *c)
{
	json_t	*j = ctx_query_json(c,
	    "SELECT coalesce(json_agg(json_build_object('id', u.id, 'username', u.username, "
	    "    'display_name', u.display_name, 'role', u.role, 'disabled', u.disabled, "
	    "    'created_at', u.created_at, 'last_login_at', u.last_login_at, "
	    "    'printers', coalesce((SELECT json_agg(json_build_object('printer_id', a.printer_id, "
	    "        'access', a.level) ORDER BY a.printer_id) FROM printer_access a WHERE a.user_id = u.id), "
	    "        '[]'::json)) ORDER BY u.id), '[]'::json) FROM users u", 0, NULL, NULL);

	if (j != NULL)
		http_reply_json(c->res, 200, j);
}

static int
check_role(struct ctx *c, const char *role)
{
	if (strcmp(role, "admin") != 0 && strcmp(role, "member") != 0)
		return ctx_fail(c, 400, "invalid", "role: \"admin\" or \"member\"");
	return 0;
}

void
h_users_create(struct ctx *c)
{
	static const char *const fields[] = { "username", "display_name", "role", "password", NULL };
	const char		*name, *disp = NULL, *role = "member", *params[4];
	char			 gen[21], hash[PASSWORD_HASH_MAX];
	struct db_result	*r;
	long long		 id;
	int			 generated;
	json_t			*j;

	if (body_only(c, fields) == -1 || body_string(c, "username", 1, 64, &name) == -1 ||
	    body_string(c, "display_name", 0, 128, &disp) == -1 || body_string(c, "role", 0, 16, &role) == -1 ||
	    users_check_name(c, name) == -1 || check_role(c, role) == -1 ||
	    new_password(c, name, gen, &generated, hash) == -1)
		return;
	params[0] = name;
	params[1] = disp;
	params[2] = hash;
	params[3] = role;
	if (ctx_query(c, "INSERT INTO users (username, display_name, password_hash, role) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id", 4, params, &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		ctx_fail(c, 409, "conflict", "a user with this name exists (names ignore case)");
		return;
	}
	(void)db_result_int64(r, 0, 0, &id);
	db_result_free(r);
	ctx_log(c, "user %s created (%s)", name, role);
	if ((j = users_json(c, id)) == NULL)
		return;
	if (generated)
		json_object_set_new(j, "password", json_string(gen));
	http_reply_json(c->res, 201, j);
}

void
h_users_get(struct ctx *c)
{
	json_t	*j = users_json(c, c->id[0]);

	if (j != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_users_update(struct ctx *c)
{
	static const char *const fields[] = { "display_name", "role", "disabled", NULL };
	const char		*disp = NULL, *role = NULL, *params[5];
	char			 id[24];
	int			 disabled = 0, has_disp, has_dis;
	struct db_result	*r;
	json_t			*j;

	if (body_only(c, fields) == -1 || (has_disp = body_string(c, "display_name", 0, 128, &disp)) == -1 ||
	    body_string(c, "role", 0, 16, &role) == -1 || (has_dis = body_bool(c, "disabled", 0, &disabled)) == -1 ||
	    (role != NULL && check_role(c, role) == -1))
		return;
	if (c->id[0] == c->user.id && ((role != NULL && strcmp(role, "admin") != 0) || disabled)) {
		ctx_fail(c, 409, "conflict", "you cannot demote or disable yourself; another admin can");
		return;
	}
	params[0] = ctx_num(id, c->id[0]);
	params[1] = body_has(c, "display_name") ? "1" : "0";
	params[2] = disp;
	params[3] = role;
	params[4] = has_dis ? (disabled ? "true" : "false") : NULL;
	if (ctx_query(c, "UPDATE users SET display_name = CASE WHEN $2 = '1' THEN $3 ELSE display_name END, "
	    "role = coalesce($4, role), disabled = coalesce($5::boolean, disabled) WHERE id = $1::bigint "
	    "RETURNING (SELECT disabled FROM users WHERE id = $1::bigint), username", 5, params, &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		ctx_fail(c, 404, "not_found", "no such user");
		return;
	}
	if (has_dis && (db_result_bool(r, 0, 0) == 1) != disabled)
		auth_event(c, disabled ? "user_disabled" : "user_enabled", c->id[0], db_result_get(r, 0, 1),
		    "by an admin");
	db_result_free(r);
	if ((j = users_json(c, c->id[0])) != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_users_password(struct ctx *c)
{
	static const char *const fields[] = { "password", NULL };
	const char		*params[2];
	char			 gen[21], hash[PASSWORD_HASH_MAX], id[24], name[72];
	struct db_result	*r;
	int			 generated;
	json_t			*j;

	params[0] = ctx_num(id, c->id[0]);
	if (body_only(c, fields) == -1 ||
	    ctx_query(c, "SELECT username FROM users WHERE id = $1::bigint", 1, params, &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		ctx_fail(c, 404, "not_found", "no such user");
		return;
	}
	snprintf(name, sizeof(name), "%s", db_result_get(r, 0, 0));
	db_result_free(r);
	if (new_password(c, name, gen, &generated, hash) == -1)
		return;
	params[1] = hash;
	/* users_end_sessions ends the user's sessions. */
	if (ctx_query(c, "UPDATE users SET password_hash = $2 WHERE id = $1::bigint", 2, params, NULL) == -1)
		return;
	auth_event(c, "password_reset", c->id[0], name, "by an admin");
	j = json_object();
	json_object_set_new(j, "id", json_integer(c->id[0]));
	if (generated)
		json_object_set_new(j, "password", json_string(gen));
	http_reply_json(c->res, 200, j);
}

void
h_users_access_put(struct ctx *c)
{
	static const char *const fields[] = { "access", NULL };
	const char		*level, *params[3];
	char			 uid[24], pid[24];
	struct db_result	*r;
	json_t			*j;

	if (body_only(c, fields) == -1 || body_string(c, "access", 1, 16, &level) == -1)
		return;
	if (strcmp(level, "operator") != 0 && strcmp(level, "viewer") != 0) {
		ctx_fail(c, 400, "invalid", "access: \"operator\" or \"viewer\"");
		return;
	}
	params[0] = ctx_num(uid, c->id[0]);
	params[1] = ctx_num(pid, c->id[1]);
	params[2] = level;
	if (ctx_query(c, "INSERT INTO printer_access (user_id, printer_id, level) "
	    "SELECT u.id, p.id, $3 FROM users u, printers p WHERE u.id = $1::bigint AND p.id = $2::bigint "
	    "ON CONFLICT (user_id, printer_id) DO UPDATE SET level = EXCLUDED.level RETURNING 1", 3, params,
	    &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		ctx_fail(c, 404, "not_found", "no such user or printer");
		return;
	}
	db_result_free(r);
	if ((j = users_json(c, c->id[0])) != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_users_access_delete(struct ctx *c)
{
	const char		*params[2];
	char			 uid[24], pid[24];
	struct db_result	*r;

	params[0] = ctx_num(uid, c->id[0]);
	params[1] = ctx_num(pid, c->id[1]);
	if (ctx_query(c, "DELETE FROM printer_access WHERE user_id = $1::bigint AND printer_id = $2::bigint", 2,
	    params, &r) == -1)
		return;
	if (db_result_affected(r) != 1) {
		db_result_free(r);
		ctx_fail(c, 404, "not_found", "this user has no access of their own to this printer");
		return;
	}
	db_result_free(r);
	c->res->status = 204;
}
