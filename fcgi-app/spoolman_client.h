/* spoolman_client.h: the web app's read-only Spoolman client: GET requests with libcurl, answers parsed as JSON. */
#ifndef WEB_SPOOLMAN_CLIENT_H
#define WEB_SPOOLMAN_CLIENT_H

#include <jansson.h>

#define SPOOLMAN_CLIENT_BODY_MAX	(16 * 1024 * 1024)	/* bytes of one answer; a spool list of ~10,000 */
#define SPOOLMAN_CLIENT_CONNECT_MS	5000L			/* at most, and never above the whole timeout */

/* A client for one Spoolman base URL (opaque): one libcurl handle, so its GETs reuse one connection. */
struct spoolman_client;

/* What one GET gave. */
enum spoolman_client_result {
	SPOOLMAN_CLIENT_OK,		/* a 2xx whose body is JSON */
	SPOOLMAN_CLIENT_NOT_FOUND,	/* 404: no such object (or no Spoolman at that path) */
	SPOOLMAN_CLIENT_TIMEOUT,	/* no complete answer within the timeout */
	SPOOLMAN_CLIENT_UNREACHABLE,	/* no connection: the name does not resolve, connect refused, TLS failed */
	SPOOLMAN_CLIENT_BAD_ANSWER,	/* any other status (a redirect is never followed; 401 from a proxy; 5xx),
					 * a 2xx body that is not JSON, or one above SPOOLMAN_CLIENT_BODY_MAX */
	SPOOLMAN_CLIENT__MAX
};

/*
 * A new client for base_url (the setting spoolman_url: http:// or https://, optionally with a base path; a
 * trailing /api/v1 is not doubled).  user (NULL or "": no login) and password give HTTP basic auth, for a proxy in
 * front of Spoolman.  timeout_ms (> 0) bounds each GET as a whole; connecting gets at most
 * SPOOLMAN_CLIENT_CONNECT_MS of it.  TLS certificates and host names are verified; only http and https are
 * spoken; redirects are not followed.  Strings are copied.  Returns 0 with *out new (spoolman_client_free() it),
 * or -1 with err (ERRBUF_LEN) set and *out NULL.
 */
int	 spoolman_client_new(const char *base_url, const char *user, const char *password, long timeout_ms,
	    struct spoolman_client **out, char *err) __attribute__((warn_unused_result));

/* Frees the client (wiping the password); NULL is allowed. */
void	 spoolman_client_free(struct spoolman_client *);

/*
 * GET {base}/api/v1{path}, path starting with "/" and already %-encoded ("/spool/3", "/spool?limit=10").  On
 * SPOOLMAN_CLIENT_OK *out is the parsed body (new; json_decref() it); otherwise *out is NULL and err is set to one
 * line fit for a person (the URL without any password, the status and Spoolman's own message when it gave one).
 */
enum spoolman_client_result spoolman_client_get(struct spoolman_client *, const char *path, json_t **out,
	    char *err);

/*
 * A write: method ("POST", "PATCH", "PUT") {base}/api/v1{path} with body (borrowed) as JSON, on a connection of its
 * own that is closed afterwards (libcurl never re-sends it silently; the client's GETs keep theirs).  Results and
 * *out as spoolman_client_get(); a 4xx other than 404 is SPOOLMAN_CLIENT_BAD_ANSWER with Spoolman's message in err.
 */
enum spoolman_client_result spoolman_client_send(struct spoolman_client *, const char *method, const char *path,
	    json_t *body, json_t **out, char *err);

/* The HTTP status of the last GET, 0 when no answer arrived. */
long	 spoolman_client_http_status(const struct spoolman_client *);

/* The x-total-count header of the last answer (Spoolman's count before limit/offset), -1 when absent. */
long long spoolman_client_total_count(const struct spoolman_client *);

/* The base URL as configured (borrowed). */
const char *spoolman_client_url(const struct spoolman_client *);

/* The name of a result: "ok", "not found", "timeout", "unreachable", "bad answer". */
const char *spoolman_client_result_name(enum spoolman_client_result);

#endif
