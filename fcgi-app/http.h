/* http.h: one API request as the web app sees it (from FastCGI or a test), and the response it builds. */
#ifndef WEB_HTTP_H
#define WEB_HTTP_H

#include <stddef.h>

#include <jansson.h>

#define HTTP_MAX_BODY		65536	/* bytes; nginx refuses larger bodies first (nginx/) */
#define HTTP_MAX_HEADERS	8	/* extra response headers */

/* The parts of a request the handlers use.  All strings are borrowed; NULL when absent. */
struct http_request {
	const char	*method;	/* REQUEST_METHOD */
	const char	*path;		/* DOCUMENT_URI: the decoded, normalised path without the query */
	const char	*query;		/* QUERY_STRING, raw */
	const char	*host;		/* HTTP_HOST */
	const char	*content_type;
	const char	*cookie;	/* HTTP_COOKIE */
	const char	*origin;	/* HTTP_ORIGIN */
	const char	*fetch_site;	/* HTTP_SEC_FETCH_SITE */
	const char	*csrf_token;	/* HTTP_X_CSRF_TOKEN */
	const char	*user_agent;
	const char	*remote_addr;
	int		 https;		/* HTTPS = "on" */
	const char	*body;		/* not NUL-terminated; NULL when there is none */
	size_t		 body_len;
	int		 body_error;	/* 413: Content-Length above HTTP_MAX_BODY; 400: shorter than it said */
};

/* The response being built.  http_response_free() releases it. */
struct http_response {
	int		 status;
	const char	*content_type;	/* static string */
	char		*headers[HTTP_MAX_HEADERS];	/* "Name: value" lines, malloc'd */
	int		 nheaders;
	char		*body;		/* malloc'd */
	size_t		 body_len;
};

/* An empty response: status 500 until something sets it. */
void	 http_response_init(struct http_response *);
void	 http_response_free(struct http_response *);

/* Sets status and a JSON body (application/json; charset=utf-8); steals the reference to json. */
void	 http_reply_json(struct http_response *, int status, json_t *json);

/*
 * The body http_reply_json() sends for json: compact, ASCII only, with < > & written \u003c \u003e \u0026.
 * Steals the reference to json.  New text (free() it), or NULL when Jansson cannot encode it.
 */
char	*http_json_text(json_t *json);

/*
 * Sets status and the error body {"error": error, "detail": detail}; detail NULL is left out.  error is a short
 * machine word ("not_found", "invalid", "csrf"...), detail a sentence for people.
 */
void	 http_reply_error(struct http_response *, int status, const char *error, const char *detail);

/* Sets status and a body of another type (the text is copied); for CSV and the metrics text. */
void	 http_reply_text(struct http_response *, int status, const char *content_type, const char *text,
	    size_t len);

/* Adds a header line ("Name: value", formatted); ignored beyond HTTP_MAX_HEADERS. */
void	 http_add_header(struct http_response *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* The reason phrase of a status ("Not Found"). */
const char	*http_reason(int status);

/*
 * The value of query parameter name, %-decoded and '+' as space, into out (outlen bytes).  Returns 1 when found,
 * 0 when absent, -1 when present but longer than outlen - 1, badly encoded, or holding a NUL or control character.
 */
int	 http_query_param(const char *query, const char *name, char *out, size_t outlen);

/* The value of cookie name into out (outlen bytes): 1 found, 0 absent, -1 too long. */
int	 http_cookie(const char *cookie_header, const char *name, char *out, size_t outlen);

#endif
