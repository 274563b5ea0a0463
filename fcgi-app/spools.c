/* spools.c: Spoolman for the handlers: the client from the settings, one spool fetched, the cache, QR codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "db.h"
#include "log.h"
#include "secret.h"
#include "spools.h"

#define QR_PREFIX_LEN	13	/* "web+spoolman:" */
#define SHOW_PATH	"/spool/show/"
#define SHOW_FILAMENT	"/filament/show/"

int
spools_client(struct ctx *c, struct spoolman_client **out)
{
	struct db_result	*r;
	const char		*url, *user, *pw;
	char			*plain = NULL, e[ERRBUF_LEN];
	int			 rc = 1;

	*out = NULL;
	if (ctx_query(c, "SELECT max(value) FILTER (WHERE key = 'spoolman_url'), "
	    "max(value) FILTER (WHERE key = 'spoolman_user'), max(value) FILTER (WHERE key = 'spoolman_password') "
	    "FROM settings WHERE key IN ('spoolman_url', 'spoolman_user', 'spoolman_password')", 0, NULL, &r) == -1)
		return -1;
	url = db_result_get(r, 0, 0);
	user = db_result_get(r, 0, 1);
	pw = db_result_get(r, 0, 2);
	if (url == NULL)
		rc = 0;
	else if (pw != NULL && secret_is_encrypted(pw)) {
		if (secret_decrypt(c->app->key, SECRET_SPOOLMAN_PASSWORD, pw, &plain, e) == -1) {
			snprintf(c->err, sizeof(c->err), "the Spoolman password cannot be decrypted: %.180s", e);
			rc = -2;
		} else
			pw = plain;
	}
	if (rc == 1 && spoolman_client_new(url, user, pw, c->app->spoolman_timeout_ms, out, c->err) == -1)
		rc = -2;
	secret_wipe_free(plain);
	db_result_free(r);
	return rc;
}

int
spools_fail_config(struct ctx *c, int client_rc)
{
	if (client_rc == 0)
		return ctx_fail(c, 503, "spoolman_not_configured", "no Spoolman URL is set: an admin sets it under "
		    "Settings");
	ctx_logl(c, LOGL_WARN, "%s", c->err);
	return ctx_fail(c, 503, "spoolman_not_configured", "the Spoolman settings cannot be used: %s", c->err);
}

int
spools_fail(struct ctx *c, enum spoolman_client_result res, const char *err, const char *not_found)
{
	switch (res) {
	case SPOOLMAN_CLIENT_NOT_FOUND:
		return ctx_fail(c, 404, "not_found", "%s", not_found != NULL ? not_found : err);
	case SPOOLMAN_CLIENT_TIMEOUT:
		ctx_logl(c, LOGL_WARN, "%s", err);
		return ctx_fail(c, 504, "spoolman_unreachable", "%s", err);
	case SPOOLMAN_CLIENT_UNREACHABLE:
		ctx_logl(c, LOGL_WARN, "%s", err);
		return ctx_fail(c, 502, "spoolman_unreachable", "%s", err);
	default:
		ctx_logl(c, LOGL_WARN, "%s", err);
		return ctx_fail(c, 502, "spoolman_error", "%s", err);
	}
}

int
spools_valid(const json_t *spool)
{
	json_t	*id = json_is_object(spool) ? json_object_get(spool, "id") : NULL;

	return json_is_integer(id) && json_integer_value(id) >= 1 && json_integer_value(id) <= SPOOL_ID_MAX;
}

enum spoolman_client_result
spools_fetch(struct spoolman_client *sc, long long id, json_t **out, char *err)
{
	enum spoolman_client_result	 res;
	char				 path[48];

	snprintf(path, sizeof(path), "/spool/%lld", id);
	if ((res = spoolman_client_get(sc, path, out, err)) != SPOOLMAN_CLIENT_OK)
		return res;
	if (!spools_valid(*out) || json_integer_value(json_object_get(*out, "id")) != id) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, ERRBUF_LEN, "Spoolman GET /spool/%lld: the answer is not that spool", id);
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	return SPOOLMAN_CLIENT_OK;
}

static const char *const check_names[] = { "ok", "not_configured", "unreachable", "error", "not_found" };

const char *
spools_check_name(int check)
{
	return check >= 0 && check <= SPOOLS_CHECK_NOT_FOUND ? check_names[check] : "error";
}

int
spools_check(struct ctx *c, long long id, json_t **spool)
{
	struct spoolman_client		*sc;
	enum spoolman_client_result	 res;
	char				 err[ERRBUF_LEN];
	int				 rc;

	*spool = NULL;
	if ((rc = spools_client(c, &sc)) == -1)
		return -1;
	if (rc == 0)
		return SPOOLS_CHECK_NOT_CONFIGURED;
	if (rc == -2) {
		ctx_logl(c, LOGL_WARN, "%s", c->err);
		return SPOOLS_CHECK_ERROR;
	}
	res = spools_fetch(sc, id, spool, err);
	spoolman_client_free(sc);
	if (res != SPOOLMAN_CLIENT_OK && res != SPOOLMAN_CLIENT_NOT_FOUND)
		ctx_logl(c, LOGL_WARN, "%s", err);
	switch (res) {
	case SPOOLMAN_CLIENT_OK:
		return SPOOLS_CHECK_OK;
	case SPOOLMAN_CLIENT_NOT_FOUND:
		return SPOOLS_CHECK_NOT_FOUND;
	case SPOOLMAN_CLIENT_TIMEOUT:
	case SPOOLMAN_CLIENT_UNREACHABLE:
		return SPOOLS_CHECK_UNREACHABLE;
	default:
		return SPOOLS_CHECK_ERROR;
	}
}

/* $1: the spools (a jsonb array), $2: the user, $3: whether they are an admin. */
#define STORE_SQL \
	"WITH s AS (SELECT x.e AS spool, (x.e->>'id')::integer AS id, x.o " \
	"      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, o)), " \
	"  up AS (INSERT INTO spool_cache (spool_id, spool, fetched_at) " \
	"      SELECT DISTINCT ON (id) id, spool, now() FROM s ORDER BY id, o " \
	"      ON CONFLICT (spool_id) DO UPDATE SET spool = EXCLUDED.spool, fetched_at = EXCLUDED.fetched_at) " \
	"SELECT coalesce(json_agg(json_build_object(" SPOOL_FULL_PAIRS("s.spool") ", " \
	"    'in_tray', ta.id IS NOT NULL, " \
	"    'tray', CASE WHEN ta.id IS NOT NULL AND ($3::boolean OR a.level IS NOT NULL) THEN " \
	"        json_build_object('printer_id', p.id, 'printer', p.name, 'tray', ta.tray, " \
	"            'label', tray_label(ta.tray), 'since', ta.valid_from) END) ORDER BY s.o), '[]'::json) " \
	"  FROM s LEFT JOIN tray_assignments ta ON ta.spool_id = s.id AND ta.valid_to IS NULL " \
	"  LEFT JOIN printers p ON p.id = ta.printer_id " \
	"  LEFT JOIN printer_access a ON a.printer_id = ta.printer_id AND a.user_id = $2::bigint"

json_t *
spools_store(struct ctx *c, json_t *spools)
{
	char		 uid[24], *text;
	const char	*params[3];
	json_t		*j;

	if ((text = json_dumps(spools, JSON_COMPACT)) == NULL) {
		ctx_fail(c, 500, "internal", "cannot encode Spoolman's spools");
		return NULL;
	}
	params[0] = text;
	params[1] = ctx_num(uid, c->user.id);
	params[2] = c->user.admin ? "true" : "false";
	j = ctx_query_json(c, STORE_SQL, 3, params, NULL);
	free(text);
	return j;
}

/* Digits only, from 1 to SPOOL_ID_MAX: 0 with *id, else -1. */
static int
parse_id(const char *s, size_t n, long long *id)
{
	long long	 v = 0;
	size_t		 i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > SPOOL_ID_MAX)
		return -1;
	*id = v;
	return 0;
}

/* The last occurrence of needle in s[0..n), or NULL. */
static const char *
find_last(const char *s, size_t n, const char *needle)
{
	size_t	 k = strlen(needle), i;

	if (n < k)
		return NULL;
	for (i = n - k + 1; i-- > 0;)
		if (memcmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

/* A Spoolman URL "http(s)://host[/base]/spool/show/<id>[/]" in s[0..n).  0 with *id, else -1 with err. */
static int
parse_url(const char *s, size_t n, long long *id, char *err)
{
	const char	*host = s + (strncasecmp(s, "https://", 8) == 0 ? 8 : 7), *p;
	size_t		 rest;

	if (n > 0 && s[n - 1] == '/')
		n--;
	if ((p = find_last(s, n, SHOW_PATH)) == NULL || p <= host) {
		if (find_last(s, n, SHOW_FILAMENT) != NULL)
			return errbuf_set(err, "this code names a Spoolman filament, not a spool");
		return errbuf_set(err, "not a Spoolman spool link: expected .../spool/show/<id>");
	}
	p += sizeof(SHOW_PATH) - 1;
	rest = n - (size_t)(p - s);
	if (parse_id(p, rest, id) == -1)
		return errbuf_set(err, "not a Spoolman spool link: the id after /spool/show/ is not a spool id");
	return 0;
}

int
spools_parse_code(const char *code, long long *id, char *err)
{
	const char	*s = code;
	size_t		 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (n == 0)
		return errbuf_set(err, "code: empty");
	if (n > QR_PREFIX_LEN && (strncasecmp(s, "web+spoolman:", QR_PREFIX_LEN) == 0 ||
	    strncasecmp(s, "web spoolman:", QR_PREFIX_LEN) == 0)) {
		const char	*k = s + QR_PREFIX_LEN;
		size_t		 kn = n - QR_PREFIX_LEN;

		if (kn > 2 && (k[0] == 'f' || k[0] == 'F') && k[1] == '-')
			return errbuf_set(err, "this code names a Spoolman filament, not a spool");
		if (kn < 3 || (k[0] != 's' && k[0] != 'S') || k[1] != '-' || parse_id(k + 2, kn - 2, id) == -1)
			return errbuf_set(err, "not a Spoolman spool code: expected web+spoolman:s-<id>");
		return 0;
	}
	if (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0)
		return parse_url(s, n, id, err);
	if (s[0] == '#') {
		s++;
		n--;
	}
	if (parse_id(s, n, id) == -1)
		return errbuf_set(err, "not a Spoolman spool code: expected web+spoolman:s-<id>, a link ending in "
		    "/spool/show/<id>, or a spool id");
	return 0;
}
