/* h_settings.c: GET/PUT /settings (the Spoolman URL and login, the password encrypted) and POST /settings/check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "routes.h"
#include "secret.h"
#include "spoolman_url.h"
#include "spools.h"

#define USER_MAX	256	/* bytes of spoolman_user */
#define PASSWORD_MAX	256	/* bytes of spoolman_password */

/* The settings as the API shows them; the password only as whether it is set. */
#define SETTINGS_JSON \
	"SELECT json_build_object('spoolman_url', max(value) FILTER (WHERE key = 'spoolman_url'), " \
	"    'spoolman_user', max(value) FILTER (WHERE key = 'spoolman_user'), " \
	"    'spoolman_password_set', coalesce(bool_or(key = 'spoolman_password'), false), " \
	"    'spoolman_password_encrypted', coalesce(bool_or(key = 'spoolman_password' AND value LIKE 'v1:%'), " \
	"        false), " \
	"    'updated_at', max(updated_at)) " \
	"  FROM settings WHERE key IN ('spoolman_url', 'spoolman_user', 'spoolman_password')"

/* One setting to change: value NULL deletes it. */
struct change {
	const char	*key;
	const char	*value;
	int		 given;
};

/* Calls GET /info with the stored settings: {"ok": true, "version", "url"} or {"ok": false, "error", "detail"}. */
static json_t *
check_spoolman(struct ctx *c)
{
	struct spoolman_client		*sc;
	enum spoolman_client_result	 res;
	json_t				*info, *j = json_object(), *v;
	char				 err[ERRBUF_LEN];
	int				 rc;

	if ((rc = spools_client(c, &sc)) == -1) {
		json_decref(j);
		return NULL;
	}
	if (rc != 1) {
		json_object_set_new(j, "ok", json_false());
		json_object_set_new(j, "error", json_string("spoolman_not_configured"));
		json_object_set_new(j, "detail", json_string(rc == 0 ? "no Spoolman URL is set" : c->err));
		return j;
	}
	json_object_set_new(j, "url", json_string(spoolman_client_url(sc)));
	res = spoolman_client_get(sc, "/info", &info, err);
	spoolman_client_free(sc);
	v = res == SPOOLMAN_CLIENT_OK ? json_object_get(info, "version") : NULL;
	if (res == SPOOLMAN_CLIENT_OK && !json_is_string(v)) {
		res = SPOOLMAN_CLIENT_BAD_ANSWER;
		snprintf(err, sizeof(err), "the answer of /api/v1/info has no version: is this Spoolman?");
	}
	json_object_set_new(j, "ok", json_boolean(res == SPOOLMAN_CLIENT_OK));
	if (res == SPOOLMAN_CLIENT_OK)
		json_object_set(j, "version", v);
	else {
		json_object_set_new(j, "error", json_string(res == SPOOLMAN_CLIENT_TIMEOUT ||
		    res == SPOOLMAN_CLIENT_UNREACHABLE ? "spoolman_unreachable" : "spoolman_error"));
		json_object_set_new(j, "detail", json_string(err));
	}
	json_decref(info);
	return j;
}

void
h_settings_get(struct ctx *c)
{
	json_t	*j = ctx_query_json(c, SETTINGS_JSON, 0, NULL, NULL);

	if (j != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_settings_check(struct ctx *c)
{
	static const char *const fields[] = { NULL };
	json_t	*chk, *j;

	if (body_only(c, fields) == -1 || (chk = check_spoolman(c)) == NULL)
		return;
	j = json_object();
	json_object_set_new(j, "spoolman", chk);
	http_reply_json(c->res, 200, j);
}

/* Reads one string field into ch: absent (not given), null or "" (delete), text.  0, or -1 after answering. */
static int
read_field(struct ctx *c, const char *key, size_t maxlen, struct change *ch)
{
	int	 rc;

	ch->key = key;
	ch->value = NULL;
	ch->given = body_has(c, key);
	if ((rc = body_string(c, key, 0, maxlen, &ch->value)) == -1)
		return -1;
	if (rc == 1 && ch->value[0] == '\0')
		ch->value = NULL;
	return 0;
}

/* The body of a PUT, checked, into ch[3] (url, user, password).  0, or -1 after answering 400. */
static int
read_changes(struct ctx *c, struct change ch[3])
{
	static const char *const fields[] = { "spoolman_url", "spoolman_user", "spoolman_password", NULL };

	if (body_only(c, fields) == -1 || read_field(c, "spoolman_url", SPOOLMAN_URL_MAX, &ch[0]) == -1 ||
	    read_field(c, "spoolman_user", USER_MAX, &ch[1]) == -1 ||
	    read_field(c, "spoolman_password", PASSWORD_MAX, &ch[2]) == -1)
		return -1;
	if (ch[0].value != NULL && spoolman_url_check(ch[0].value, c->err) == -1)
		return ctx_fail(c, 400, "invalid", "spoolman_url: %s", c->err);
	if (ch[1].value != NULL && strchr(ch[1].value, ':') != NULL)
		return ctx_fail(c, 400, "invalid", "spoolman_user: must not contain ':' (HTTP basic auth)");
	return 0;
}

/* Writes the changes in one transaction.  0, or -1 after answering. */
static int
store_changes(struct ctx *c, const struct change ch[3], const char *enc)
{
	const char	*params[2];
	int		 i;

	if (db_begin(c->app->db, c->err) == -1)
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
	for (i = 0; i < 3; i++) {
		if (!ch[i].given)
			continue;
		params[0] = ch[i].key;
		params[1] = i == 2 ? enc : ch[i].value;
		if (params[1] == NULL ? ctx_query(c, "DELETE FROM settings WHERE key = $1", 1, params, NULL) == -1 :
		    ctx_query(c, "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) "
		    "DO UPDATE SET value = EXCLUDED.value", 2, params, NULL) == -1)
			return -1;
	}
	if (db_commit(c->app->db, c->err) == -1)
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
	return 0;
}

void
h_settings_put(struct ctx *c)
{
	struct change	 ch[3];
	char		*enc = NULL, e[ERRBUF_LEN];
	json_t		*j, *chk;
	int		 rc;

	if (read_changes(c, ch) == -1)
		return;
	if (ch[2].value != NULL) {
		if (c->app->key == NULL) {
			ctx_fail(c, 503, "no_key", "no key file: run spoolkeeper key init (the password is stored "
			    "encrypted)");
			return;
		}
		if (secret_encrypt(c->app->key, SECRET_SPOOLMAN_PASSWORD, ch[2].value, &enc, e) == -1) {
			ctx_fail(c, 500, "internal", "cannot encrypt the password: %s", e);
			return;
		}
	}
	rc = store_changes(c, ch, enc);
	free(enc);
	if (rc == -1)
		return;
	ctx_log(c, "settings changed:%s%s%s", ch[0].given ? " spoolman_url" : "", ch[1].given ? " spoolman_user" : "",
	    ch[2].given ? " spoolman_password" : "");
	if ((j = ctx_query_json(c, SETTINGS_JSON, 0, NULL, NULL)) == NULL)
		return;
	if ((chk = check_spoolman(c)) == NULL) {
		json_decref(j);
		return;
	}
	json_object_set_new(j, "spoolman", chk);
	http_reply_json(c->res, 200, j);
}
