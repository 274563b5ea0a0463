/* h_spools.c: GET /spools (search), /spools/{id} and /spools/lookup (QR code): Spoolman through the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "query.h"
#include "routes.h"
#include "spools.h"

#define Q_MAX		200	/* bytes of a search text */
#define TERMS_MAX	8	/* words of a search text, all of which must match */
#define CODE_MAX	512	/* bytes of a scanned code */
#define LIMIT_DEFAULT	50
#define LIMIT_MAX	200
#define PAGE		1000	/* spools per request to Spoolman */
#define SCAN_MAX	5000	/* spools looked at per search, at most */

/* The words of a search. */
struct terms {
	char	*t[TERMS_MAX];
	int	 n;
	long long id;		/* the id when the text is one number ("12" or "#12"), else 0 */
};

/* 1 if needle occurs in hay, ignoring the case of ASCII letters. */
static int
ci_contains(const char *hay, const char *needle)
{
	size_t	 i, j, hn = strlen(hay), nn = strlen(needle);

	for (i = 0; i + nn <= hn; i++) {
		for (j = 0; j < nn; j++) {
			char	 a = hay[i + j], b = needle[j];

			if (a >= 'A' && a <= 'Z')
				a += 'a' - 'A';
			if (b >= 'A' && b <= 'Z')
				b += 'a' - 'A';
			if (a != b)
				break;
		}
		if (j == nn)
			return 1;
	}
	return 0;
}

/* The string at obj.k1[.k2[.k3]], or "" when absent or not a string. */
static const char *
text_at(const json_t *obj, const char *k1, const char *k2, const char *k3)
{
	const json_t	*v = json_object_get(obj, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	if (k3 != NULL)
		v = json_object_get(v, k3);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* 1 if every word of the search occurs in one of the spool's texts (or, for a number, is its id). */
static int
matches(const json_t *spool, const struct terms *t)
{
	const char	*f[7];
	char		 id[24], hid[25];
	int		 i, k, hit;

	f[0] = text_at(spool, "filament", "name", NULL);
	f[1] = text_at(spool, "filament", "vendor", "name");
	f[2] = text_at(spool, "filament", "material", NULL);
	f[3] = text_at(spool, "filament", "color_hex", NULL);
	f[4] = text_at(spool, "location", NULL, NULL);
	f[5] = text_at(spool, "lot_nr", NULL, NULL);
	f[6] = text_at(spool, "comment", NULL, NULL);
	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(spool, "id")));
	snprintf(hid, sizeof(hid), "#%s", id);
	for (i = 0; i < t->n; i++) {
		hit = strcmp(t->t[i], id) == 0 || strcmp(t->t[i], hid) == 0;
		for (k = 0; k < 7 && !hit; k++)
			hit = ci_contains(f[k], t->t[i]);
		if (!hit)
			return 0;
	}
	return 1;
}

/* Splits q (modified) into words.  0, or -1 after answering 400. */
static int
split_terms(struct ctx *c, char *q, struct terms *t)
{
	char	*p = q, *end;

	memset(t, 0, sizeof(*t));
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (t->n == TERMS_MAX)
			return ctx_fail(c, 400, "invalid", "q: at most %d words", TERMS_MAX);
		t->t[t->n++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
	if (t->n == 1) {
		const char	*d = t->t[0][0] == '#' ? t->t[0] + 1 : t->t[0];
		long long	 v = strtoll(d, &end, 10);

		if (*d >= '0' && *d <= '9' && *end == '\0' && v > 0 && v <= SPOOL_ID_MAX)
			t->id = v;
	}
	return 0;
}

/* The search's query parameters: q, limit, archived.  0, or -1 after answering 400. */
static int
search_params(struct ctx *c, char *q, struct terms *t, long *limit, int *archived)
{
	static const char *const names[] = { "q", "limit", "archived", NULL };
	static const char *const bools[] = { "true", "false", NULL };
	const char	*word;
	long long	 n = LIMIT_DEFAULT;
	int		 rc;

	if (query_only(c, names) == -1 || (rc = query_string(c, "q", q, Q_MAX + 1)) == -1 ||
	    query_int(c, "limit", 1, LIMIT_MAX, &n) == -1)
		return -1;
	if (rc == 0)
		q[0] = '\0';
	*limit = (long)n;
	if ((rc = query_word(c, "archived", bools, &word)) == -1)
		return -1;
	*archived = rc == 1 && strcmp(word, "true") == 0;
	return split_terms(c, q, t);
}

/* Adds the matches of one page to found (up to limit; an exact id first), counting them in *matched. */
static void
collect(json_t *page, const struct terms *t, long limit, json_t *found, long *matched)
{
	size_t	 i;
	json_t	*s;

	json_array_foreach(page, i, s) {
		if (!spools_valid(s) || !matches(s, t))
			continue;
		(*matched)++;
		if (t->id != 0 && json_integer_value(json_object_get(s, "id")) == t->id)
			json_array_insert(found, 0, s);
		else
			json_array_append(found, s);
		if ((long)json_array_size(found) > limit)
			json_array_remove(found, json_array_size(found) - 1);
	}
}

/*
 * Reads Spoolman's spools page by page (at most SCAN_MAX) into found.  0 with *scanned and *complete (every
 * spool was looked at), or -1 after answering.
 */
static int
scan(struct ctx *c, struct spoolman_client *sc, const struct terms *t, long limit, int archived, json_t *found,
    long *matched, long *scanned, int *complete)
{
	enum spoolman_client_result	 res;
	json_t				*page;
	char				 path[96], err[ERRBUF_LEN];
	long long			 total;
	size_t				 got;

	*matched = *scanned = 0;
	*complete = 0;
	while (*scanned < SCAN_MAX) {
		snprintf(path, sizeof(path), "/spool?limit=%d&offset=%ld%s", PAGE, *scanned,
		    archived ? "&allow_archived=true" : "");
		if ((res = spoolman_client_get(sc, path, &page, err)) != SPOOLMAN_CLIENT_OK)
			return spools_fail(c, res == SPOOLMAN_CLIENT_NOT_FOUND ? SPOOLMAN_CLIENT_BAD_ANSWER : res, err,
			    NULL);
		if (!json_is_array(page)) {
			json_decref(page);
			return spools_fail(c, SPOOLMAN_CLIENT_BAD_ANSWER, "Spoolman GET /spool: the answer is not a "
			    "list of spools", NULL);
		}
		collect(page, t, limit, found, matched);
		got = json_array_size(page);
		json_decref(page);
		*scanned += (long)got;
		total = spoolman_client_total_count(sc);
		if (got < PAGE || (total >= 0 && *scanned >= total)) {
			*complete = 1;
			break;
		}
	}
	return 0;
}

void
h_spools_search(struct ctx *c)
{
	struct spoolman_client	*sc;
	struct terms		 t;
	char			 q[Q_MAX + 1];
	long			 limit = LIMIT_DEFAULT, matched, scanned;
	int			 archived = 0, complete, rc;
	json_t			*found, *out, *j;

	if (search_params(c, q, &t, &limit, &archived) == -1)
		return;
	if ((rc = spools_client(c, &sc)) != 1) {
		if (rc != -1)
			spools_fail_config(c, rc);
		return;
	}
	found = json_array();
	rc = scan(c, sc, &t, limit, archived, found, &matched, &scanned, &complete);
	spoolman_client_free(sc);
	if (rc == -1 || (out = spools_store(c, found)) == NULL) {
		json_decref(found);
		return;
	}
	json_decref(found);
	j = json_object();
	json_object_set_new(j, "spools", out);
	json_object_set_new(j, "matched", json_integer(matched));
	json_object_set_new(j, "scanned", json_integer(scanned));
	json_object_set_new(j, "truncated", json_boolean(!complete || matched > limit));
	http_reply_json(c->res, 200, j);
}

/* Fetches spool id from Spoolman, caches it and answers with it. */
static void
reply_spool(struct ctx *c, long long id)
{
	struct spoolman_client		*sc;
	enum spoolman_client_result	 res;
	char				 err[ERRBUF_LEN], nf[64];
	json_t				*spool, *list, *out;
	int				 rc;

	if ((rc = spools_client(c, &sc)) != 1) {
		if (rc != -1)
			spools_fail_config(c, rc);
		return;
	}
	res = spools_fetch(sc, id, &spool, err);
	spoolman_client_free(sc);
	if (res != SPOOLMAN_CLIENT_OK) {
		snprintf(nf, sizeof(nf), "no spool %lld in Spoolman", id);
		spools_fail(c, res, err, nf);
		return;
	}
	list = json_array();
	json_array_append_new(list, spool);
	out = spools_store(c, list);
	json_decref(list);
	if (out == NULL)
		return;
	http_reply_json(c->res, 200, json_incref(json_array_get(out, 0)));
	json_decref(out);
}

void
h_spools_get(struct ctx *c)
{
	if (c->id[0] > SPOOL_ID_MAX) {
		ctx_fail(c, 404, "not_found", "no spool %lld in Spoolman", c->id[0]);
		return;
	}
	reply_spool(c, c->id[0]);
}

void
h_spools_lookup(struct ctx *c)
{
	static const char *const names[] = { "code", NULL };
	char		 code[CODE_MAX + 1], err[ERRBUF_LEN];
	long long	 id;
	int		 rc;

	if (query_only(c, names) == -1 || (rc = query_string(c, "code", code, sizeof(code))) == -1)
		return;
	if (rc == 0) {
		ctx_fail(c, 400, "invalid", "code: is required (the scanned text)");
		return;
	}
	if (spools_parse_code(code, &id, err) == -1) {
		ctx_fail(c, 400, "invalid", "%s", err);
		return;
	}
	reply_spool(c, id);
}
