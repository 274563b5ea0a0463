/* h_settings.c: GET/PUT /settings (Spoolman URL and login, webhook; secrets encrypted) and POST /settings/check. */
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
#define WEBHOOK_URL_MAX	2048	/* bytes of webhook_url */
#define NCHANGES	9	/* the settings a PUT may change */
#define RFID_FIELD_MAX	64	/* a Spoolman extra field key (sql/0008 settings_rfid_check) */
#define LOCATION_MAX	64	/* Spoolman's location */

/* The settings as the API shows them; the password only as whether it is set. */
#define SETTINGS_JSON \
	"SELECT json_build_object('spoolman_url', max(value) FILTER (WHERE key = 'spoolman_url'), " \
	"    'spoolman_user', max(value) FILTER (WHERE key = 'spoolman_user'), " \
	"    'spoolman_password_set', coalesce(bool_or(key = 'spoolman_password'), false), " \
	"    'spoolman_password_encrypted', coalesce(bool_or(key = 'spoolman_password' AND value LIKE 'v1:%'), " \
	"        false), " \
	"    'webhook_url', max(value) FILTER (WHERE key = 'webhook_url'), " \
	"    'webhook_secret_set', coalesce(bool_or(key = 'webhook_secret'), false), " \
	"    'webhook_events', coalesce(to_json(string_to_array(max(value) FILTER (WHERE key = 'webhook_events'), " \
	"        ',')), '[\"spool_runout_forecast\", \"print_failed\", \"outbox_needs_review\"]'::json), " \
	"    'rfid_field', coalesce(max(value) FILTER (WHERE key = 'rfid_field'), 'tag'), " \
	"    'rfid_autocreate', coalesce(bool_or(key = 'rfid_autocreate' AND value = 'true'), false), " \
	"    'storage_location', max(value) FILTER (WHERE key = 'storage_location'), " \
	"    'updated_at', max(updated_at)) " \
	"  FROM settings WHERE key IN ('spoolman_url', 'spoolman_user', 'spoolman_password', 'webhook_url', " \
	"    'webhook_secret', 'webhook_events', 'rfid_field', 'rfid_autocreate', 'storage_location')"

/* One setting to change: value NULL deletes it. */
struct change {
	const char	*key;
	const char	*value;
	int		 given;
};

/* The webhook events there are (sql/0009 settings_webhook_events_check). */
static const char *const webhook_events[] = { "spool_runout_forecast", "print_failed", "outbox_needs_review",
	NULL };

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

/* 0 when url is an http:// or https:// URL with a host and no spaces or control characters, else -1. */
static int
webhook_url_check(const char *url)
{
	const char	*p = strncmp(url, "http://", 7) == 0 ? url + 7 : strncmp(url, "https://", 8) == 0 ? url + 8 :
			    NULL;
	const char	*q;

	if (p == NULL || *p == '\0' || *p == '/' || *p == '?' || *p == '#')
		return -1;
	for (q = url; *q != '\0'; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return -1;
	return 0;
}

/*
 * webhook_events: absent (not given), null (all events: the setting is deleted) or an array of distinct event
 * names, kept in buf as a comma-separated list (an empty array: none, stored as "").  0, or -1 after answering.
 */
static int
read_events(struct ctx *c, struct change *ch, char *buf, size_t len)
{
	json_t	*a = c->body != NULL ? json_object_get(c->body, "webhook_events") : NULL, *v;
	size_t	 i;
	int	 k;

	ch->key = "webhook_events";
	ch->value = NULL;
	if (!(ch->given = body_has(c, "webhook_events")) || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return ctx_fail(c, 400, "invalid", "webhook_events: an array of event names or null");
	buf[0] = '\0';
	json_array_foreach(a, i, v) {
		for (k = 0; webhook_events[k] != NULL; k++)
			if (json_is_string(v) && strcmp(json_string_value(v), webhook_events[k]) == 0)
				break;
		if (webhook_events[k] == NULL)
			return ctx_fail(c, 400, "invalid", "webhook_events: item %zu is not one of "
			    "spool_runout_forecast, print_failed, outbox_needs_review", i);
		if (strstr(buf, webhook_events[k]) != NULL)
			return ctx_fail(c, 400, "invalid", "webhook_events: %s is listed twice", webhook_events[k]);
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] != '\0' ? "," : "",
		    webhook_events[k]);
	}
	ch->value = buf;
	return 0;
}

/* Reads the boolean rfid_autocreate into ch ("true"; false or null: deleted, off).  0, or -1 after answering. */
static int
read_autocreate(struct ctx *c, struct change *ch)
{
	int	on = 0;

	ch->key = "rfid_autocreate";
	ch->value = NULL;
	ch->given = body_has(c, ch->key);
	if (body_bool(c, ch->key, 0, &on) == -1)
		return -1;
	if (on)
		ch->value = "true";
	return 0;
}

/* The RFID settings (docs/smart-trays.md) of ch[6..8], checked.  0, or -1 after answering 400. */
static int
check_rfid(struct ctx *c, const struct change ch[NCHANGES])
{
	size_t	n;
	const char *p;

	if (ch[6].value != NULL && ((n = strlen(ch[6].value)) == 0 || n > RFID_FIELD_MAX ||
	    strspn(ch[6].value, "abcdefghijklmnopqrstuvwxyz0123456789_") != n))
		return ctx_fail(c, 400, "invalid", "rfid_field: a Spoolman extra field key, 1-64 of a-z, 0-9 and _");
	for (p = ch[7].value; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return ctx_fail(c, 400, "invalid", "storage_location: no control characters");
	return 0;
}

/*
 * The body of a PUT, checked, into ch[NCHANGES]: spoolman_url, spoolman_user, spoolman_password, webhook_url,
 * webhook_secret, webhook_events (events: the list's text in evbuf), rfid_field, storage_location,
 * rfid_autocreate.  0, or -1 after answering 400.
 */
static int
read_changes(struct ctx *c, struct change ch[NCHANGES], char *evbuf, size_t evlen)
{
	static const char *const fields[] = { "spoolman_url", "spoolman_user", "spoolman_password", "webhook_url",
		"webhook_secret", "webhook_events", "rfid_field", "storage_location", "rfid_autocreate", NULL };

	if (body_only(c, fields) == -1 || read_field(c, "spoolman_url", SPOOLMAN_URL_MAX, &ch[0]) == -1 ||
	    read_field(c, "spoolman_user", USER_MAX, &ch[1]) == -1 ||
	    read_field(c, "spoolman_password", PASSWORD_MAX, &ch[2]) == -1 ||
	    read_field(c, "webhook_url", WEBHOOK_URL_MAX, &ch[3]) == -1 ||
	    read_field(c, "webhook_secret", PASSWORD_MAX, &ch[4]) == -1 ||
	    read_events(c, &ch[5], evbuf, evlen) == -1 ||
	    read_field(c, "rfid_field", RFID_FIELD_MAX, &ch[6]) == -1 ||
	    read_field(c, "storage_location", LOCATION_MAX, &ch[7]) == -1 || read_autocreate(c, &ch[8]) == -1 ||
	    check_rfid(c, ch) == -1)
		return -1;
	if (ch[0].value != NULL && spoolman_url_check(ch[0].value, c->err) == -1)
		return ctx_fail(c, 400, "invalid", "spoolman_url: %s", c->err);
	if (ch[1].value != NULL && strchr(ch[1].value, ':') != NULL)
		return ctx_fail(c, 400, "invalid", "spoolman_user: must not contain ':' (HTTP basic auth)");
	if (ch[3].value != NULL && webhook_url_check(ch[3].value) == -1)
		return ctx_fail(c, 400, "invalid", "webhook_url: an http:// or https:// URL with a host, without "
		    "spaces");
	return 0;
}

/* Writes the changes in one transaction; enc[i] replaces the value of a secret.  0, or -1 after answering. */
static int
store_changes(struct ctx *c, const struct change ch[NCHANGES], char *const enc[NCHANGES])
{
	const char	*params[2];
	int		 i;

	if (db_begin(c->app->db, c->err) == -1)
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
	for (i = 0; i < NCHANGES; i++) {
		if (!ch[i].given)
			continue;
		params[0] = ch[i].key;
		params[1] = enc[i] != NULL ? enc[i] : ch[i].value;
		if (params[1] == NULL ? ctx_query(c, "DELETE FROM settings WHERE key = $1", 1, params, NULL) == -1 :
		    ctx_query(c, "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) "
		    "DO UPDATE SET value = EXCLUDED.value", 2, params, NULL) == -1)
			return -1;
	}
	if (db_commit(c->app->db, c->err) == -1)
		return ctx_fail(c, 503, "database_unavailable", "the database cannot be reached");
	return 0;
}

/* Encrypts the secret of ch (when given with a value) into *enc (new), under purpose.  0, or -1 after answering. */
static int
encrypt_change(struct ctx *c, const struct change *ch, const char *purpose, char **enc)
{
	char	e[ERRBUF_LEN];

	*enc = NULL;
	if (ch->value == NULL)
		return 0;
	if (c->app->key == NULL)
		return ctx_fail(c, 503, "no_key", "no key file: run spoolkeeper key init (%s is stored encrypted)",
		    ch->key);
	if (secret_encrypt(c->app->key, purpose, ch->value, enc, e) == -1)
		return ctx_fail(c, 500, "internal", "cannot encrypt %s: %s", ch->key, e);
	return 0;
}

void
h_settings_put(struct ctx *c)
{
	struct change	 ch[NCHANGES];
	char		*enc[NCHANGES] = { NULL }, events[128];
	json_t		*j, *chk;
	int		 rc, i;

	if (read_changes(c, ch, events, sizeof(events)) == -1)
		return;
	if (encrypt_change(c, &ch[2], SECRET_SPOOLMAN_PASSWORD, &enc[2]) == -1 ||
	    encrypt_change(c, &ch[4], SECRET_WEBHOOK_SECRET, &enc[4]) == -1) {
		free(enc[2]);
		return;
	}
	rc = store_changes(c, ch, enc);
	for (i = 0; i < NCHANGES; i++)
		free(enc[i]);
	if (rc == -1)
		return;
	ctx_log(c, "settings changed:%s%s%s%s%s%s%s%s%s", ch[0].given ? " spoolman_url" : "",
	    ch[1].given ? " spoolman_user" : "", ch[2].given ? " spoolman_password" : "",
	    ch[3].given ? " webhook_url" : "", ch[4].given ? " webhook_secret" : "",
	    ch[5].given ? " webhook_events" : "", ch[6].given ? " rfid_field" : "",
	    ch[7].given ? " storage_location" : "", ch[8].given ? " rfid_autocreate" : "");
	if ((j = ctx_query_json(c, SETTINGS_JSON, 0, NULL, NULL)) == NULL)
		return;
	if ((chk = check_spoolman(c)) == NULL) {
		json_decref(j);
		return;
	}
	json_object_set_new(j, "spoolman", chk);
	http_reply_json(c->res, 200, j);
}
