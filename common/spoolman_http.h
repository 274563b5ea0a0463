/* spoolman_http.h: what the worker's and the web app's Spoolman clients share on the wire: a bounded body, safe options. */
#ifndef COMMON_SPOOLMAN_HTTP_H
#define COMMON_SPOOLMAN_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

/* The body of the last answer, NUL-terminated (data NULL until something arrived), at most max bytes. */
struct spoolman_body {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	int	 too_large;	/* the last answer went beyond max (the transfer then failed: CURLE_WRITE_ERROR) */
};

/* Empties the body before a new request (the buffer is kept). */
void	 spoolman_body_reset(struct spoolman_body *);

/* Frees the buffer. */
void	 spoolman_body_free(struct spoolman_body *);

/*
 * Sets the options both clients need on a new handle: no signals, the error buffer (CURL_ERROR_SIZE bytes), the
 * answer into body, the request headers, the user agent, basic auth when user is not NULL (password NULL: empty),
 * and the safety rules: redirects never followed, TLS peer and host verified, only http and https.  Returns
 * CURLE_OK or the first failing option's code.
 */
CURLcode spoolman_http_setup(CURL *, struct spoolman_body *body, struct curl_slist *headers, const char *agent,
	    char *errbuf, const char *user, const char *password);

#endif
