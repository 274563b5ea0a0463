/* webtest.h: calling the web app's handlers directly (no socket) in the Check programs of tests/web. */
#ifndef WEBTEST_H
#define WEBTEST_H

#include <jansson.h>

#include "app.h"
#include "http.h"

/* A client: a cookie jar of one session and its CSRF token, like one browser. */
struct wt_client {
	char	 cookie[256];	/* "sk_session=..." or "" */
	char	 csrf[80];
};

/* The answer of one call: status, parsed JSON body (NULL if not JSON), raw body, headers. */
struct wt_reply {
	int	 status;
	json_t	*json;
	char	*body;
	char	*set_cookie;	/* the Set-Cookie header or NULL */
	char	*headers;	/* every extra header line joined with "\n" */
};

/*
 * The app under test on $SK_TEST_DATABASE, with a fresh key file in a temporary directory.  Also makes sure the
 * database is empty of users, sessions and printers (each test starts clean).
 */
struct app	*wt_app(void);
void		 wt_app_free(struct app *);

/*
 * The fixture of the tests with members: wt_app() with the live status uncached (SPOOLKEEPER_STATUS_CACHE_MS=0),
 * the admin "root" logged in as *admin, the members "op" and "view" (ids in *uop, *uview) made but not logged in
 * (*op and *view reset), all with password pw.
 */
struct app	*wt_app_members(const char *pw, struct wt_client *admin, struct wt_client *op,
		    struct wt_client *view, long long *uop, long long *uview);

/* POSTs body to path as cl, asserts 201 Created and returns the "id" of the answer. */
long long	 wt_created(struct app *, struct wt_client *cl, const char *path, const char *body);

/*
 * Sends method path (with "?query" allowed) with a JSON body (NULL: none) as client cl (NULL: anonymous, no CSRF
 * token), updating its cookie from Set-Cookie and its CSRF token from a "csrf_token" in the answer.  The request
 * comes from 127.0.0.1 with Host "localhost" and Sec-Fetch-Site same-origin.  Free the reply with wt_free().
 */
struct wt_reply	 wt_call(struct app *, struct wt_client *cl, const char *method, const char *path,
		    const char *body);

/* As wt_call(), with every request field given (for CSRF, origin, content-type and size tests). */
struct wt_reply	 wt_call_req(struct app *, struct wt_client *cl, struct http_request *req);

void		 wt_free(struct wt_reply *);

/* Creates a user straight in the database (role "admin" or "member") with password pw; returns the id. */
long long	 wt_user(struct app *, const char *name, const char *pw, const char *role);

/* Logs cl in as name/pw and asserts 200. */
void		 wt_login(struct app *, struct wt_client *cl, const char *name, const char *pw);

/* Gives user the access level ("operator" or "viewer") to printer, straight in the database. */
void		 wt_grant(struct app *, long long user, long long printer, const char *level);

/* The string under key k of object o, or NULL when it is absent or not a string. */
const char	*wt_jstr(const json_t *o, const char *k);

/* The integer under key k of object o (0 when absent or not an integer). */
long long	 wt_jint(const json_t *o, const char *k);

/* Runs SQL on the app's connection and asserts success; returns the first value of the first row (static copy)
 * or NULL. */
const char	*wt_sql(struct app *, const char *sql, int n, const char *const *params);

#endif
