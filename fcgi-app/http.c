/* http.c: building responses and reading query strings and cookies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "xmalloc.h"

void
http_response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	res->status = 500;
}

void
http_response_free(struct http_response *res)
{
	int	 i;

	for (i = 0; i < res->nheaders; i++)
		free(res->headers[i]);
	free(res->body);
	memset(res, 0, sizeof(*res));
}

static void
set_body(struct http_response *res, char *body, size_t len)
{
	free(res->body);
	res->body = body;
	res->body_len = len;
}

/*
 * Rewrites < > & as \u003c \u003e \u0026 in JSON text (they can only occur inside strings, so this keeps the
 * meaning): a JSON answer that a browser is somehow made to read as HTML still holds no markup.
 */
static char *
escape_markup(char *text)
{
	size_t	 n = 0, len = 0, i, o;
	char	*out;

	for (i = 0; text[i] != '\0'; i++, len++)
		if (text[i] == '<' || text[i] == '>' || text[i] == '&')
			n++;
	if (n == 0)
		return text;
	out = xmalloc(len + 5 * n + 1);
	for (i = 0, o = 0; i < len; i++) {
		char	 ch = text[i];

		if (ch == '<' || ch == '>' || ch == '&') {
			memcpy(out + o, ch == '<' ? "\\u003c" : ch == '>' ? "\\u003e" : "\\u0026", 6);
			o += 6;
		} else
			out[o++] = ch;
	}
	out[o] = '\0';
	free(text);
	return out;
}

char *
http_json_text(json_t *json)
{
	char	*text;

	text = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
	if (text != NULL)
		text = escape_markup(text);
	json_decref(json);
	return text;
}

void
http_reply_json(struct http_response *res, int status, json_t *json)
{
	char	*text;

	text = http_json_text(json);
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	if (text == NULL) {
		res->status = 500;
		text = xstrdup("{\"error\":\"internal\",\"detail\":\"cannot encode the response\"}");
	}
	set_body(res, text, strlen(text));
}

void
http_reply_error(struct http_response *res, int status, const char *error, const char *detail)
{
	json_t	*o = json_object();

	json_object_set_new(o, "error", json_string(error));
	if (detail != NULL) {
		json_t	*d = json_string(detail);

		/* A detail that is not valid UTF-8 (it may quote input) is replaced, never dropped silently. */
		json_object_set_new(o, "detail", d != NULL ? d : json_string("(detail not valid UTF-8)"));
	}
	http_reply_json(res, status, o);
}

void
http_reply_text(struct http_response *res, int status, const char *content_type, const char *text, size_t len)
{
	char	*copy = xmalloc(len + 1);

	memcpy(copy, text, len);
	copy[len] = '\0';
	res->status = status;
	res->content_type = content_type;
	set_body(res, copy, len);
}

void
http_add_header(struct http_response *res, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[1024];
	int	 n;

	if (res->nheaders >= HTTP_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	res->headers[res->nheaders++] = xstrdup(line);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %-decodes src[0..n) into out; -1 when too long, badly encoded, or a control character results. */
static int
url_decode(const char *src, size_t n, char *out, size_t outlen)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		int	 c = (unsigned char)src[i];

		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int	 hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hi == -1 ? -1 : hexval((unsigned char)src[i + 2]);
			if (lo == -1)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 1;
}

int
http_query_param(const char *query, const char *name, char *out, size_t outlen)
{
	size_t	 nlen = strlen(name);
	const char *p = query;

	if (query == NULL || outlen == 0)
		return 0;
	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t	 len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=')
			return url_decode(p + nlen + 1, len - nlen - 1, out, outlen);
		if (len == nlen && strncmp(p, name, nlen) == 0) {
			out[0] = '\0';
			return 1;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

int
http_cookie(const char *header, const char *name, char *out, size_t outlen)
{
	size_t	 nlen = strlen(name);
	const char *p = header;

	if (header == NULL || outlen == 0)
		return 0;
	while (*p != '\0') {
		const char *end;
		size_t	 len;

		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t	 vlen = len - nlen - 1;

			if (vlen + 1 > outlen)
				return -1;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}
