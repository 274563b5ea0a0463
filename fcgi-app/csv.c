/* csv.c: CSV exports: RFC 4180 quoting and formula neutralisation of every text field, from JSON rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "http.h"
#include "xmalloc.h"

/* A growable buffer with an explicit length. */
struct csvbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
put(struct csvbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 4096 : b->cap * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* A quoted text field; a leading formula character is neutralised with '. */
static void
put_text(struct csvbuf *b, const char *s, size_t n)
{
	const char	*q;

	put(b, "\"", 1);
	if (n > 0 && strchr("=+-@\t\r", s[0]) != NULL)
		put(b, "'", 1);
	while (n > 0 && (q = memchr(s, '"', n)) != NULL) {
		put(b, s, (size_t)(q - s) + 1);
		put(b, "\"", 1);
		n -= (size_t)(q - s) + 1;
		s = q + 1;
	}
	put(b, s, n);
	put(b, "\"", 1);
}

static void
put_value(struct csvbuf *b, const json_t *v)
{
	char	 num[40];
	char	*dump;

	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		put_text(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		put(b, num, strlen(num));
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		put(b, num, strlen(num));
		break;
	case JSON_TRUE:
		put(b, "true", 4);
		break;
	case JSON_FALSE:
		put(b, "false", 5);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		if ((dump = json_dumps(v, JSON_COMPACT)) != NULL) {
			put_text(b, dump, strlen(dump));
			free(dump);
		}
		break;
	default:
		break;
	}
}

char *
csv_from_rows(const json_t *rows, const char *const *columns, size_t *lenp)
{
	struct csvbuf	 b = { NULL, 0, 0 };
	const json_t	*row;
	size_t		 i, k;

	for (k = 0; columns[k] != NULL; k++) {
		if (k > 0)
			put(&b, ",", 1);
		put(&b, columns[k], strlen(columns[k]));
	}
	put(&b, "\r\n", 2);
	for (i = 0; i < json_array_size(rows); i++) {
		row = json_array_get(rows, i);
		for (k = 0; columns[k] != NULL; k++) {
			if (k > 0)
				put(&b, ",", 1);
			put_value(&b, json_object_get(row, columns[k]));
		}
		put(&b, "\r\n", 2);
	}
	*lenp = b.len;
	return b.p;
}

void
csv_reply(struct http_response *res, const json_t *rows, const char *const *columns, const char *filename)
{
	size_t	 len;
	char	*text = csv_from_rows(rows, columns, &len);

	http_reply_text(res, 200, "text/csv; charset=utf-8", text, len);
	free(text);
	http_add_header(res, "Content-Disposition: attachment; filename=\"%s\"", filename);
}
