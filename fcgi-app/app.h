/* app.h: the web app's state, the context of one request, and the helpers every handler uses. */
#ifndef WEB_APP_H
#define WEB_APP_H

#include <stddef.h>

#include <jansson.h>

#include "errbuf.h"
#include "http.h"

struct db;
struct db_result;
struct secret_key;

#define APP_SESSION_COOKIE		"sk_session"
#define APP_SESSION_COOKIE_TLS		"__Host-sk_session"
#define APP_SESSION_IDLE_DEFAULT	(3 * 24 * 3600)	/* seconds without a request */
#define APP_SESSION_MAX_DEFAULT		(30 * 24 * 3600)	/* seconds after login, whatever happens */
#define APP_JSON_MAX_DEPTH		16
#define APP_STATUS_CACHE_MS_DEFAULT	1000	/* h_status.c's dashboard cache */
#define APP_SESSION_CACHE_MS_DEFAULT	1000	/* session_cache.c: how long a checked session is trusted */

/* One web process's state: its database connection and settings.  Handlers only read it. */
struct app {
	struct db		*db;
	char			*conninfo;
	struct secret_key	*key;		/* encrypts access codes and the Spoolman password; NULL: none */
	long			 session_idle;	/* seconds */
	long			 session_max;	/* seconds */
	long			 spoolman_timeout_ms;
	long			 status_cache_ms;	/* how long the dashboard answer is kept; 0: not at all */
	long			 session_cache_ms;	/* how long a checked session is trusted; 0: not at all */
	unsigned long long	 requests;	/* served by this process */
	int			 route;		/* the last request's row of routes[] (routes.h); -1: none matched */
};

/* The logged-in user of a request. */
struct app_user {
	long long	 id;
	char		 name[72];
	int		 admin;
};

/* What a route needs before its handler runs. */
enum {
	ROUTE_PUBLIC	= 1 << 0,	/* no login needed */
	ROUTE_ADMIN	= 1 << 1,	/* an admin only (others get 403) */
	ROUTE_NO_CSRF	= 1 << 2,	/* a state change allowed without a session (log in, first setup) */
	ROUTE_NO_SESSION = 1 << 3,	/* public, and never looks at the session (health: works while the database
					 * does not) */
	ROUTE_ROOT	= 1 << 4	/* the pattern is the whole path, not one under /api/v1 (GET /metrics) */
};

/* The context of one request, handed to its handler. */
struct ctx {
	struct app			*app;
	const struct http_request	*req;
	struct http_response		*res;
	int				 logged_in;
	struct app_user			 user;
	char				 session[2 * 32 + 3];	/* the session's token hash as a bytea parameter */
	char				 csrf[65];		/* the session's CSRF token */
	long long			 id[4];			/* the numbers in the path, in order */
	int				 nid;
	json_t				*body;			/* the parsed JSON body, or NULL */
	char				 err[ERRBUF_LEN];
};

/*
 * Opens the state of one web process: connects to conninfo (a failure is not fatal: the first request tries
 * again and answers 503 meanwhile) and loads the key file (NULL path: conf_key_file(); a missing key only disables
 * storing access codes).  Reads SPOOLKEEPER_SESSION_IDLE and SPOOLKEEPER_SESSION_MAX (seconds),
 * SPOOLKEEPER_SPOOLMAN_TIMEOUT_MS and SPOOLKEEPER_STATUS_CACHE_MS (0 to 60000) when set, once.
 * Returns a new app (app_free() it).
 */
struct app	*app_new(const char *conninfo, const char *key_file);
void		 app_free(struct app *);

/*
 * Handles one request: routes it, checks the session, the CSRF token and the role, runs the handler, and adds
 * the security headers.  Never fails: every problem becomes a JSON error response in res (initialised by the
 * caller with http_response_init()).  Counts the request and its time in the metrics (fcgi-app/metrics.h).
 */
void	 app_handle(struct app *, const struct http_request *, struct http_response *);

/*
 * Runs SQL with text parameters.  On success returns 0 and *rp (when rp is not NULL; db_result_free() it).  On
 * failure answers the request with the fitting error (503 when the database is unreachable, 409 for a unique or
 * exclusion violation, 400 for other constraint and input errors, else 500; the SQL error goes to the log, not to
 * the client) and returns -1.
 */
int	 ctx_query(struct ctx *, const char *sql, int nparams, const char *const *params,
	    struct db_result **rp) __attribute__((warn_unused_result));

/*
 * Runs SQL whose first row's first column is JSON text (built with json_build_object and friends) and returns it
 * parsed.  No row or a NULL value: answers 404 "not_found" with detail not_found_detail (NULL: returns json null
 * instead of answering).  Errors as ctx_query().  NULL when the request has been answered.
 */
json_t	*ctx_query_json(struct ctx *, const char *sql, int nparams, const char *const *params,
	    const char *not_found_detail);

/* Answers res with an error (as http_reply_error) and returns -1, for `return ctx_fail(...)`. */
int	 ctx_fail(struct ctx *, int status, const char *error, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/*
 * The access a handler needs to a printer.  Returns 0 when the user has it; else answers 404 when the user may not
 * see the printer (or it does not exist: the two look the same) or 403 when they may see but not change it, and
 * returns -1.
 */
enum access { ACCESS_VIEW, ACCESS_OPERATE, ACCESS_ADMIN };
int	 ctx_need_printer(struct ctx *, long long printer_id, enum access)
	    __attribute__((warn_unused_result));

/*
 * Body field readers.  Each returns 1 when the field is present and valid, 0 when it is absent (or null, for the
 * _opt forms), and -1 after answering 400 with a detail naming the field.  A required field that is absent is also
 * -1.  Strings must be valid UTF-8 of at most maxlen bytes without control characters (Jansson guarantees UTF-8).
 */
int	 body_string(struct ctx *, const char *key, int required, size_t maxlen, const char **out);
int	 body_int(struct ctx *, const char *key, int required, long long min, long long max, long long *out);
int	 body_bool(struct ctx *, const char *key, int required, int *out);

/* 1 if the body has a field called key (even null), else 0. */
int	 body_has(const struct ctx *, const char *key);

/* Rejects unknown fields: -1 after answering 400 when the body has a key not in the NULL-terminated list. */
int	 body_only(struct ctx *, const char *const *keys);

/*
 * Logs one info line (common/log.h): "<message> (<method> <path>, user <name>, from <address>)", with "-" for
 * what is unknown.  ctx_logl: the same at another level (LOGL_* of log.h).
 */
void	 ctx_log(const struct ctx *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	 ctx_logl(const struct ctx *, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats n into buf (24 bytes) and returns buf: for numeric SQL parameters. */
const char	*ctx_num(char buf[24], long long n);

#endif
