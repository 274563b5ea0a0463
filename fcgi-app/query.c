/* query.c: the query parameters of GET routes, read strictly: unknown, repeated or malformed ones answer 400. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "query.h"

int
query_only(struct ctx *c, const char *const *names)
{
	const char	*p = c->req->query;
	size_t		 i, n, klen;
	unsigned int	 seen = 0;

	if (p == NULL)
		return 0;
	for (n = 0; names[n] != NULL; n++)
		;
	while (*p != '\0') {
		n = strcspn(p, "&");
		klen = strcspn(p, "&=");
		if (klen > n)
			klen = n;
		if (n > 0) {
			for (i = 0; names[i] != NULL; i++)
				if (strlen(names[i]) == klen && strncmp(names[i], p, klen) == 0)
					break;
			if (names[i] == NULL)
				return ctx_fail(c, 400, "invalid", "unknown query parameter \"%.*s\"",
				    (int)(klen > 32 ? 32 : klen), p);
			if (i < 32 && (seen & (1u << i)))
				return ctx_fail(c, 400, "invalid", "%s: given more than once", names[i]);
			if (i < 32)
				seen |= 1u << i;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

int
query_string(struct ctx *c, const char *name, char *out, size_t outlen)
{
	int	 r = http_query_param(c->req->query, name, out, outlen);

	if (r == -1)
		return ctx_fail(c, 400, "invalid", "%s: badly encoded, has control characters, or is longer "
		    "than %zu bytes", name, outlen - 1);
	return r;
}

int
query_int(struct ctx *c, const char *name, long long min, long long max, long long *out)
{
	char		 v[32], *end;
	long long	 n;
	int		 r;

	if ((r = http_query_param(c->req->query, name, v, sizeof(v))) == 0)
		return 0;
	if (r == -1 || v[(v[0] == '-')] < '0' || v[(v[0] == '-')] > '9')
		return ctx_fail(c, 400, "invalid", "%s: a whole number from %lld to %lld", name, min, max);
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return ctx_fail(c, 400, "invalid", "%s: a whole number from %lld to %lld", name, min, max);
	*out = n;
	return 1;
}

/* The index of word (len bytes) in allowed, or -1. */
static int
word_index(const char *const *allowed, const char *word, size_t len)
{
	int	 i;

	for (i = 0; allowed[i] != NULL; i++)
		if (strlen(allowed[i]) == len && strncmp(allowed[i], word, len) == 0)
			return i;
	return -1;
}

/* Answers 400 for parameter name, listing allowed; returns -1. */
static int
word_error(struct ctx *c, const char *name, const char *const *allowed, int list)
{
	char	 words[256];
	size_t	 len = 0;
	int	 i;

	words[0] = '\0';
	for (i = 0; allowed[i] != NULL && len < sizeof(words); i++)
		len += snprintf(words + len, sizeof(words) - len, "%s%s", i > 0 ? ", " : "", allowed[i]);
	return ctx_fail(c, 400, "invalid", "%s: %s of %s", name, list ? "a comma-separated list" : "one", words);
}

int
query_word(struct ctx *c, const char *name, const char *const *allowed, const char **out)
{
	char	 v[64];
	int	 r, i;

	if ((r = http_query_param(c->req->query, name, v, sizeof(v))) == 0)
		return 0;
	if (r == -1 || (i = word_index(allowed, v, strlen(v))) < 0)
		return word_error(c, name, allowed, 0);
	*out = allowed[i];
	return 1;
}

int
query_words(struct ctx *c, const char *name, const char *const *allowed, char *out, size_t outlen)
{
	const char	*p;
	size_t		 n;
	int		 r;

	if ((r = http_query_param(c->req->query, name, out, outlen)) == 0)
		return 0;
	if (r == -1)
		return word_error(c, name, allowed, 1);
	for (p = out;; p += n + 1) {
		n = strcspn(p, ",");
		if (word_index(allowed, p, n) < 0)
			return word_error(c, name, allowed, 1);
		if (p[n] == '\0')
			break;
	}
	return 1;
}

/* 1 if y-m-d is a day of the Gregorian calendar. */
static int
valid_day(int y, int m, int d)
{
	static const int	 mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int			 leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

int
query_date(struct ctx *c, const char *name, char out[QUERY_DATE_LEN])
{
	char	 v[16];
	int	 r, i;

	if ((r = http_query_param(c->req->query, name, v, sizeof(v))) == 0)
		return 0;
	if (r == -1 || strlen(v) != 10 || v[4] != '-' || v[7] != '-')
		return ctx_fail(c, 400, "invalid", "%s: a date YYYY-MM-DD", name);
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
			return ctx_fail(c, 400, "invalid", "%s: a date YYYY-MM-DD", name);
	if (!valid_day(atoi(v), atoi(v + 5), atoi(v + 8)))	/* only digits: atoi cannot misread them */
		return ctx_fail(c, 400, "invalid", "%s: %s is not a day of the calendar", name, v);
	memcpy(out, v, QUERY_DATE_LEN);
	return 1;
}

int
query_tz(struct ctx *c, char out[QUERY_TZ_LEN])
{
	struct db_result	*res;
	const char		*params[1] = { out };
	size_t			 i;
	int			 r, found;

	if ((r = query_string(c, "tz", out, QUERY_TZ_LEN)) == -1)
		return -1;
	if (r == 0 || strcmp(out, "UTC") == 0) {
		snprintf(out, QUERY_TZ_LEN, "UTC");
		return 0;
	}
	for (i = 0; out[i] != '\0'; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-", out[i]) == NULL)
			break;
	if (i == 0 || out[i] != '\0')
		return ctx_fail(c, 400, "invalid", "tz: a time zone name such as Europe/Berlin");
	if (ctx_query(c, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, params, &res) == -1)
		return -1;
	found = db_result_rows(res) > 0;
	db_result_free(res);
	if (!found)
		return ctx_fail(c, 400, "invalid", "tz: %s is not a known time zone", out);
	return 0;
}
