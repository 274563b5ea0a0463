/* rfid.c: RFID trays: the tags a printer reports go to tray_tags; the outbox thread matches them to Spoolman spools. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "bambu_tray.h"
#include "errbuf.h"
#include "log.h"
#include "rfid.h"
#include "rfid_create.h"

#define RFID_BATCH		20	/* trays looked up per pass */
#define LISTING_TTL_S		60	/* a cached spool listing is used this long */
#define LISTING_MIN_AGE_S	5	/* an unknown tag refreshes the listing when it is older than this */
#define FIELD_KEY_MAX		64

/* Claims the due trays: each gets its next attempt pushed back by its backoff first (a lease). */
#define CLAIM_SQL \
	"UPDATE tray_tags t SET attempts = t.attempts + 1, " \
	"    next_attempt_at = now() + make_interval(secs => least(300, power(2, t.attempts))) " \
	"  FROM (SELECT printer_id, tray FROM tray_tags WHERE state IN ('pending', 'unknown') " \
	"        AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT " XSTR(RFID_BATCH) \
	"        FOR UPDATE SKIP LOCKED) d " \
	" WHERE t.printer_id = d.printer_id AND t.tray = d.tray " \
	"RETURNING t.printer_id, t.tray, t.tag, t.material, t.name, t.color, t.weight"
#define XSTR(x)	STR(x)
#define STR(x)	#x

/* What the resolver keeps between passes (one outbox thread). */
struct rfid_cache {
	char		 url[512];		/* the Spoolman these belong to ("": none yet) */
	char		 field[FIELD_KEY_MAX + 1];
	int		 field_ok;		/* the extra field exists */
	int		 filter;		/* 1: extra.<key> filter (>= 0.25), 0: listing, -1: not asked yet */
	json_t		*listing;		/* every spool, when filter is 0 */
	time_t		 listed_at;
};

static _Thread_local struct rfid_cache cache = { .filter = -1 };

static int
all_zero(const char *s)
{
	return s[strspn(s, "0")] == '\0';
}

int
rfid_identity(const struct bambu_tray *t, char *tag)
{
	const char	*src = NULL;
	size_t		 i;

	if (t->uuid[0] != '\0' && !all_zero(t->uuid))
		src = t->uuid;
	else if (t->tag_uid[0] != '\0' && !all_zero(t->tag_uid))
		src = t->tag_uid;
	tag[0] = '\0';
	if (src == NULL)
		return 0;
	for (i = 0; src[i] != '\0' && i < RFID_TAG_LEN - 1; i++)
		tag[i] = (char)toupper((unsigned char)src[i]);
	tag[i] = '\0';
	return 1;
}

/* A hex text as an upper-case JSON string, or JSON null when it is empty or all zeros. */
static json_t *
hex_or_null(const char *s)
{
	char	buf[RFID_TAG_LEN];
	size_t	i;

	if (s[0] == '\0' || all_zero(s))
		return json_null();
	for (i = 0; s[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = (char)toupper((unsigned char)s[i]);
	buf[i] = '\0';
	return json_string(buf);
}

static int
tray_ok(int t)
{
	return (t >= 0 && t <= 191) || t == BAMBU_TRAY_EXT_DEPUTY || t == BAMBU_TRAY_EXT_MAIN;
}

char *
rfid_tags_json(const struct bambu_status *s)
{
	json_t	*a = json_array(), *o;
	char	 tag[RFID_TAG_LEN], *text;
	int	 i;

	for (i = 0; i < s->ntrays; i++) {
		const struct bambu_tray *t = &s->trays[i];

		if (!t->loaded || !tray_ok(t->tray) || !rfid_identity(t, tag))
			continue;
		o = json_object();
		json_object_set_new(o, "tray", json_integer(t->tray));
		json_object_set_new(o, "tag", json_string(tag));
		json_object_set_new(o, "tag_uid", hex_or_null(t->tag_uid));
		json_object_set_new(o, "tray_uuid", hex_or_null(t->uuid));
		json_object_set_new(o, "material", t->type[0] != '\0' ? json_string(t->type) : json_null());
		json_object_set_new(o, "name", t->sub_brands[0] != '\0' ? json_string(t->sub_brands) : json_null());
		json_object_set_new(o, "color", strlen(t->color) == 8 ? hex_or_null(t->color) : json_null());
		json_object_set_new(o, "weight", t->weight > 0 ? json_integer(t->weight) : json_null());
		json_array_append_new(a, o);
	}
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		abort();	/* json_dumps fails only when out of memory */
	return text;
}

int
rfid_observe(struct db *db, const struct jobs_lease *l, const struct bambu_status *s, char **last, char *err)
{
	char		 pid[32], tok[32], *doc = rfid_tags_json(s);
	const char	*p[3] = { pid, tok, doc };

	if (*last != NULL && strcmp(*last, doc) == 0) {
		free(doc);
		return 0;
	}
	snprintf(pid, sizeof(pid), "%lld", l->printer_id);
	snprintf(tok, sizeof(tok), "%lld", l->token);
	if (db_exec_prepared(db, "SELECT rfid_sync($1::bigint, $2::bigint, $3::jsonb)", 3, p, NULL, err) == -1) {
		free(doc);
		return -1;
	}
	free(*last);
	*last = doc;
	return 0;
}

int
rfid_extra_matches(const char *raw, const char *tag)
{
	json_t	*v = raw != NULL ? json_loads(raw, JSON_DECODE_ANY, NULL) : NULL;
	int	 eq = json_is_string(v) && strcasecmp(json_string_value(v), tag) == 0;

	json_decref(v);
	return eq;
}

/*
 * The setting rfid_field, or the default (a key Spoolman would refuse is an error), and rfid_autocreate ("true",
 * "on" or "1": on; anything else or missing: off) into *autocreate.  0 or -1 with err.
 */
static int
read_field(struct db *db, char *field, int *autocreate, char *err)
{
	struct db_result	*r;
	const char		*v;
	size_t			 n;

	if (db_exec_prepared(db, "SELECT (SELECT value FROM settings WHERE key = 'rfid_field'), "
	    "(SELECT lower(value) IN ('true', 'on', '1') FROM settings WHERE key = 'rfid_autocreate')", 0, NULL, &r,
	    err) == -1)
		return -1;
	*autocreate = db_result_bool(r, 0, 1) == 1;
	v = db_result_get(r, 0, 0) != NULL ? db_result_get(r, 0, 0) : RFID_FIELD_DEFAULT;
	n = strlen(v);
	if (n == 0 || n > FIELD_KEY_MAX || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		db_result_free(r);
		return errbuf_set(err, "the setting rfid_field must be 1-64 of a-z, 0-9 and _ (a Spoolman extra "
		    "field key)");
	}
	snprintf(field, FIELD_KEY_MAX + 1, "%s", v);
	db_result_free(r);
	return 0;
}

/* 1 when a Spoolman version text ("0.26.1") is 0.25 or later (the extra.<key> filter), else 0. */
static int
version_filters(const char *v)
{
	long	major, minor;
	char	*end;

	major = strtol(v, &end, 10);
	if (end == v || *end != '.')
		return 0;
	minor = strtol(end + 1, &end, 10);
	return major > 0 || minor >= 25;
}

/* Makes the cache belong to sm and field: asks the version, creates the field if missing.  0 or -1 (err). */
static int
prepare(struct spoolman *sm, const char *field, char *err)
{
	const char	*url = spoolman_url_redacted(sm);
	json_t		*j = NULL, *body, *f;
	char		 path[128];
	size_t		 i;

	if (strcmp(cache.url, url) != 0 || strcmp(cache.field, field) != 0) {
		json_decref(cache.listing);
		memset(&cache, 0, sizeof(cache));
		cache.filter = -1;
		snprintf(cache.url, sizeof(cache.url), "%s", url);
		snprintf(cache.field, sizeof(cache.field), "%s", field);
	}
	if (cache.filter == -1) {
		if (spoolman_request(sm, "GET", "/info", NULL, &j, err) != SPOOLMAN_OK)
			return -1;
		cache.filter = version_filters(json_string_value(json_object_get(j, "version")) != NULL ?
		    json_string_value(json_object_get(j, "version")) : "");
		json_decref(j);
	}
	if (cache.field_ok)
		return 0;
	if (spoolman_request(sm, "GET", "/field/spool", NULL, &j, err) != SPOOLMAN_OK)
		return -1;
	json_array_foreach(j, i, f)
		if (json_is_string(json_object_get(f, "key")) &&
		    strcmp(json_string_value(json_object_get(f, "key")), field) == 0)
			cache.field_ok = 1;
	json_decref(j);
	if (cache.field_ok)
		return 0;
	body = json_pack("{s:s, s:s}", "name", "RFID tag (Spoolkeeper)", "field_type", "text");
	snprintf(path, sizeof(path), "/field/spool/%s", field);
	if (spoolman_request(sm, "POST", path, body, &j, err) != SPOOLMAN_OK) {
		json_decref(body);
		return -1;
	}
	log_msg(LOGL_INFO, 0, 0, "rfid: created the Spoolman spool extra field \"%s\"", field);
	json_decref(body);
	json_decref(j);
	cache.field_ok = 1;
	return 0;
}

/* Appends to ids the spools of list (a JSON array) whose extra field holds tag.  The count added. */
static int
collect(json_t *list, const char *field, const char *tag, json_t *ids)
{
	json_t	*sp;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(list, i, sp) {
		json_t *v = json_object_get(json_object_get(sp, "extra"), field);

		if (json_is_string(v) && rfid_extra_matches(json_string_value(v), tag) &&
		    json_is_integer(json_object_get(sp, "id"))) {
			json_array_append_new(ids, json_integer(json_integer_value(json_object_get(sp, "id"))));
			n++;
		}
	}
	return n;
}

/* Refreshes the cached listing of every (unarchived) spool.  0 or -1 (err). */
static int
relist(struct spoolman *sm, char *err)
{
	json_t	*j;

	if (spoolman_request(sm, "GET", "/spool", NULL, &j, err) != SPOOLMAN_OK)
		return -1;
	if (!json_is_array(j)) {
		json_decref(j);
		return errbuf_set(err, "GET /spool: the answer is not a list");
	}
	json_decref(cache.listing);
	cache.listing = j;
	cache.listed_at = time(NULL);
	return 0;
}

/*
 * The spools that carry tag, into ids (a JSON array).  With the filter the server's answer is checked again here
 * (a server that ignores the filter answers every spool).  0, 1 when the cached listing lacks the tag but is too
 * fresh to be fetched again (ask again later: the tag may have been written a moment ago), or -1 (err: Spoolman
 * failed).
 */
static int
lookup(struct spoolman *sm, const char *field, const char *tag, json_t *ids, char *err)
{
	char	 path[256];
	json_t	*j;
	time_t	 now = time(NULL);

	if (cache.filter == 1) {
		snprintf(path, sizeof(path), "/spool?extra.%s=%%22%s%%22", field, tag);
		if (spoolman_request(sm, "GET", path, NULL, &j, err) != SPOOLMAN_OK)
			return -1;
		collect(j, field, tag, ids);
		json_decref(j);
		return 0;
	}
	if ((cache.listing == NULL || now - cache.listed_at >= LISTING_TTL_S) && relist(sm, err) == -1)
		return -1;
	if (collect(cache.listing, field, tag, ids) > 0)
		return 0;
	if (now - cache.listed_at < LISTING_MIN_AGE_S)
		return 1;
	if (relist(sm, err) == -1)
		return -1;
	collect(cache.listing, field, tag, ids);
	return 0;
}

/*
 * No spool has the tag and auto-create is on: creates one (rfid_create.c) into ids.  0 (created, or the tag data
 * is not enough: the tray is unknown), -1 with herr (the row waits; the listing is read again next time, so a
 * spool that was created after all is found by its tag).
 */
static int
autocreate(struct spoolman *sm, const char *field, const struct rfid_tag_data *d, json_t *ids, char *herr)
{
	enum spoolman_result	res;
	int			id;

	res = rfid_create_spool(sm, field, d, &id, herr);
	if (res == SPOOLMAN_OK) {
		json_array_append_new(ids, json_integer(id));
		return 0;
	}
	if (res == SPOOLMAN_REFUSED)
		return 0;
	cache.listed_at = 0;
	return -1;
}

/* Looks one claimed tray up and applies the answer.  0, or -1 with err on a database failure. */
static int
resolve(struct db *db, struct spoolman *sm, const char *field, int create, const char *pid, const char *tray,
    const struct rfid_tag_data *d, char *err)
{
	json_t			*ids = json_array();
	char			 herr[ERRBUF_LEN], *arr;
	const char		*tag = d->tag, *p[4] = { pid, tray, tag, NULL };
	struct db_result	*r;
	int			 rc;

	if (prepare(sm, field, herr) == -1 || (rc = lookup(sm, field, tag, ids, herr)) == -1 ||
	    (rc == 0 && create && json_array_size(ids) == 0 && autocreate(sm, field, d, ids, herr) == -1)) {
		json_decref(ids);
		p[3] = herr;
		return db_exec_prepared(db, "UPDATE tray_tags SET last_error = left($4, 4096) "
		    "WHERE printer_id = $1::bigint AND tray = $2::integer AND tag = $3", 4, p, NULL, err);
	}
	if (rc == 1) {
		json_decref(ids);	/* the claim's backoff brings it back in a second or two */
		return 0;
	}
	arr = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	p[3] = arr;
	rc = db_exec_prepared(db, "SELECT rfid_apply($1::bigint, $2::integer, $3, "
	    "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)::integer))", 4, p, &r, err);
	if (rc == 0) {
		log_msg(LOGL_INFO, strtoll(pid, NULL, 10), 0, "rfid: tray %s tag %s: %s (spools %s)", tray, tag,
		    db_result_get(r, 0, 0), arr);
		db_result_free(r);
	}
	free(arr);
	return rc;
}

int
rfid_drain_once(struct db *db, struct spoolman *sm, int *done, char *err)
{
	struct db_result	*r;
	char			 field[FIELD_KEY_MAX + 1];
	int			 i, rc = 0, create = 0;
	struct rfid_tag_data	 d;

	*done = 0;
	if (sm == NULL)
		return 0;
	if (db_exec_prepared(db, CLAIM_SQL, 0, NULL, &r, err) == -1)
		return -1;
	if (db_result_rows(r) > 0 && read_field(db, field, &create, err) == -1) {
		/* A bad setting is the admin's to fix: the rows wait (backoff) with the reason. */
		const char *p[1] = { err };

		db_result_free(r);
		return db_exec_prepared(db, "UPDATE tray_tags SET last_error = $1 WHERE state = 'pending'", 1, p,
		    NULL, err);
	}
	for (i = 0; i < db_result_rows(r) && rc == 0; i++) {
		d.tag = db_result_get(r, i, 2);
		d.material = db_result_get(r, i, 3);
		d.name = db_result_get(r, i, 4);
		d.color = db_result_get(r, i, 5);
		if (db_result_double(r, i, 6, &d.weight) == -1)
			d.weight = 0;
		rc = resolve(db, sm, field, create, db_result_get(r, i, 0), db_result_get(r, i, 1), &d, err);
		if (rc == 0)
			(*done)++;
	}
	db_result_free(r);
	return rc;
}

void
rfid_thread_done(void)
{
	json_decref(cache.listing);
	memset(&cache, 0, sizeof(cache));
	cache.filter = -1;
}
