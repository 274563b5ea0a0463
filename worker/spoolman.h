/* spoolman.h: a small libcurl client for the Spoolman REST API: spend filament (/use) and read a spool back. */
#ifndef WORKER_SPOOLMAN_H
#define WORKER_SPOOLMAN_H

#include <jansson.h>

struct db;
struct secret_key;

/* A client for one Spoolman base URL (opaque).  Not thread-safe: one per thread. */
struct spoolman;

/*
 * What a request did, as far as the client can tell.  The mapping from HTTP status and CURLcode
 * (docs/outbox.md, "Outcome classes"):
 *
 * SPOOLMAN_OK         a 2xx with a readable spool in the body: the use was applied (PUT), the spool was read (GET).
 * SPOOLMAN_NOT_SENT   the request certainly did not change anything, so it is safe to send again: nothing of it
 *                     left this process (CURLINFO_REQUEST_SIZE 0: CURLE_COULDNT_RESOLVE_HOST 6,
 *                     CURLE_COULDNT_RESOLVE_PROXY 5, CURLE_COULDNT_CONNECT 7, a connect timeout 28, a TLS
 *                     handshake or certificate failure 35/60/77/58..., a bad URL 3, an unsupported scheme 1), or
 *                     the server or a proxy in front answered without processing it: a 3xx (redirects are never
 *                     followed), 401, 407 (a proxy's login), 408, 429.
 * SPOOLMAN_UNKNOWN    the request left and may have been applied: a 5xx; CURLE_OPERATION_TIMEDOUT 28 after
 *                     sending; CURLE_GOT_NOTHING 52 (empty reply); CURLE_RECV_ERROR 56 (reset);
 *                     CURLE_SEND_ERROR 55; CURLE_PARTIAL_FILE 18; CURLE_WEIRD_SERVER_REPLY 8; any other CURLcode
 *                     once bytes were sent; a 2xx whose body is not a spool with a finite used_weight >= 0.
 * SPOOLMAN_NOT_FOUND  404: the spool does not exist (deleted in Spoolman).  Permanent.
 * SPOOLMAN_REJECTED   any other 4xx (400, 403, 405, 409, 415, 422...): Spoolman refused the request.  Permanent.
 * SPOOLMAN_REFUSED    refused locally, never sent: a NaN, infinite or absurd amount, a bad spool id.
 */
enum spoolman_result {
	SPOOLMAN_OK,
	SPOOLMAN_NOT_SENT,
	SPOOLMAN_UNKNOWN,
	SPOOLMAN_NOT_FOUND,
	SPOOLMAN_REJECTED,
	SPOOLMAN_REFUSED,
	SPOOLMAN__MAX
};

/* How a /use amount is given: grams ({"use_weight": g}) or millimetres of filament ({"use_length": mm}). */
enum spoolman_unit {
	SPOOLMAN_GRAMS,
	SPOOLMAN_MM
};

/* Local sanity fences for one /use (a coalesced batch): |grams| and |mm| above these are refused, never sent. */
#define SPOOLMAN_MAX_USE_G	100000.0	/* 100 kg */
#define SPOOLMAN_MAX_USE_MM	100000000.0	/* 100 km */

/* Default timeouts: connect 5 s, whole request 15 s. */
#define SPOOLMAN_CONNECT_TIMEOUT_MS	5000L
#define SPOOLMAN_TIMEOUT_MS		15000L

/* The part of a spool the outbox needs; density and diameter are NAN when Spoolman does not give them. */
struct spoolman_spool {
	double	used_weight;	/* g, finite, >= 0 */
	double	density;	/* g/cm3 of the spool's filament */
	double	diameter;	/* mm */
	double	remaining_weight;	/* g (Spoolman's remaining_weight), NAN when not given */
};

/*
 * Initialises libcurl for the process (curl_global_init).  Call once from main() before any thread starts;
 * 0 or -1 with err set.  spoolman_global_cleanup() undoes it at exit.
 */
int	 spoolman_global_init(char *err) __attribute__((warn_unused_result));
void	 spoolman_global_cleanup(void);

/*
 * A new client for base_url (http:// or https://, optionally with a path such as /spoolman for
 * SPOOLMAN_BASE_PATH; a trailing /api/v1 is accepted and not doubled).  user and password (NULL: none) give basic
 * auth, as a proxy in front of Spoolman asks for it.  Strings are copied.  Returns 0 with *smp new
 * (spoolman_free() it), or -1 with err set and *smp NULL.
 */
int	 spoolman_new(const char *base_url, const char *user, const char *password,
	    struct spoolman **smp, char *err) __attribute__((warn_unused_result));

/*
 * Reads the settings spoolman_url, spoolman_user and spoolman_password (docs/sql.md; an empty or missing
 * spoolman_user means no login; a password starting with "v1:" is decrypted with key, purpose
 * SECRET_SPOOLMAN_PASSWORD, docs/security.md) and brings *smp (NULL allowed) in line with them: a new client
 * when they differ from those of *smp (the old one is freed), NULL when spoolman_url is not set, *smp untouched
 * when nothing changed.  key (borrowed; NULL: no key file) is only needed for an encrypted password.  Returns 1
 * when *smp changed, 0 when it did not, -1 with err set (a database error, a password that cannot be decrypted,
 * or a URL the client refuses; *smp is then untouched).
 */
int	 spoolman_reload(struct db *, const struct secret_key *key, struct spoolman **smp, char *err)
	    __attribute__((warn_unused_result));

void	 spoolman_free(struct spoolman *);

/* Changes the timeouts (milliseconds, > 0); for tests and benchmarks. */
void	 spoolman_set_timeouts(struct spoolman *, long connect_ms, long total_ms);

/* The whole-request timeout in milliseconds. */
long	 spoolman_timeout_ms(const struct spoolman *);

/*
 * PUT {base}/api/v1/spool/{spool_id}/use with {"use_weight": amount} or {"use_length": amount}, on a fresh
 * connection that is closed afterwards (CURLOPT_FRESH_CONNECT, CURLOPT_FORBID_REUSE: libcurl never silently
 * re-sends it; reliability.md E4).  No redirects, TLS verified, timeouts as set.  On SPOOLMAN_OK *used_after is
 * the spool's used_weight from the response.  err (ERRBUF_LEN) is set to one line for every other result.
 */
enum spoolman_result spoolman_use(struct spoolman *, int spool_id, enum spoolman_unit unit, double amount,
	    double *used_after, char *err);

/* GET {base}/api/v1/spool/{spool_id}, also on a connection of its own.  On SPOOLMAN_OK fills *out. */
enum spoolman_result spoolman_get_spool(struct spoolman *, int spool_id, struct spoolman_spool *out,
	    char *err);

/*
 * Any JSON request on a connection of its own: method "GET" (body NULL) or "PUT", "PATCH", "POST" with body
 * (borrowed; sent as compact JSON), path under /api/v1 starting with "/" and already %-encoded.  On SPOOLMAN_OK
 * *out is the parsed answer (new; json_decref() it; an answer that is not JSON is SPOOLMAN_UNKNOWN); otherwise
 * *out is NULL and err is set.  The outcome classes are those of spoolman_use().
 */
enum spoolman_result spoolman_request(struct spoolman *, const char *method, const char *path, json_t *body,
	    json_t **out, char *err);

/* The HTTP status of the last request (0 when no response arrived). */
long	 spoolman_last_status(const struct spoolman *);

/*
 * 1 when the last request ended in a timeout (CURLE_OPERATION_TIMEDOUT): Spoolman may still be working on it, so
 * a read-back right away could miss a use that lands a moment later.
 */
int	 spoolman_last_timed_out(const struct spoolman *);

/*
 * 1 while Spoolman is failing (no connection, a dropped one, a timeout, a 5xx, or a 401/407 login refused on the
 * last request), else 0.  The client logs the start of such a period once and its end once (stderr).
 */
int	 spoolman_is_down(const struct spoolman *);

/*
 * Whether Spoolman answers, as the requests so far told: 1 yes, 0 failing (*why: the error that began it,
 * borrowed), -1 not known yet (no request made).  *why is NULL unless failing.
 */
int	 spoolman_health(const struct spoolman *, const char **why);

/* The base URL with any user:password@ replaced by ***@ (borrowed), for logs. */
const char *spoolman_url_redacted(const struct spoolman *);

/* The name of a result ("ok", "not sent", "unknown", "not found", "rejected", "refused"). */
const char *spoolman_result_name(enum spoolman_result);

/* Spoolman's length-to-weight conversion (spoolman/math.py, the same operations in the same order). */
double	 spoolman_weight_from_length(double mm, double diameter, double density);

#endif
