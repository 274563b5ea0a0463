/* auth.h: sessions (cookie, hashed token, idle and absolute expiry), CSRF checks and the authentication log. */
#ifndef WEB_AUTH_H
#define WEB_AUTH_H

struct ctx;

/*
 * Finds the session of the request's cookie.  Sets ctx->logged_in, ->user, ->session and ->csrf when the cookie
 * names a live session of an enabled user (refreshing seen_at now and then).  Returns 0 (logged in or not), or -1
 * after answering 503 when the database failed.
 */
int	 auth_session(struct ctx *) __attribute__((warn_unused_result));

/*
 * Checks a state-changing request: a cross-site Sec-Fetch-Site or an Origin other than the request's host is
 * always refused; when need_token is set, the request must also carry a session and an X-CSRF-Token header equal
 * to the session's token (compared in constant time).  Returns 0, or -1 after answering 403 "csrf" (and logging).
 */
int	 auth_csrf(struct ctx *, int need_token) __attribute__((warn_unused_result));

/*
 * Starts a new session for user (a fresh random token; the request's old session, if any, is deleted: no
 * fixation), sets the cookie and ctx->csrf.  Returns 0, or -1 after answering.
 */
int	 auth_login(struct ctx *, long long user_id) __attribute__((warn_unused_result));

/* Ends the request's session and clears the cookie.  Returns 0, or -1 after answering. */
int	 auth_logout(struct ctx *) __attribute__((warn_unused_result));

/*
 * Records an authentication event (auth_events) and logs it.  event is one of the auth_events_event_check words;
 * user_id 0 and username NULL when unknown.  Failures to record are logged, never fatal.
 */
void	 auth_event(struct ctx *, const char *event, long long user_id, const char *username,
	    const char *detail);

#endif
