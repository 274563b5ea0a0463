/* spoolman_url.h: the Spoolman base URL as the settings hold it (its rules, /api/v1 root, redacted form), and error bodies. */
#ifndef COMMON_SPOOLMAN_URL_H
#define COMMON_SPOOLMAN_URL_H

#include <stddef.h>

#define SPOOLMAN_URL_MAX	2048	/* bytes of a base URL */

/*
 * 0 if url may be stored as the setting spoolman_url: "http://" or "https://", a host, an optional port and path
 * (SPOOLMAN_BASE_PATH), at most SPOOLMAN_URL_MAX bytes, no spaces or control characters, no query or fragment,
 * and no "user:password@" (the login belongs in spoolman_user / spoolman_password, where the password is
 * encrypted).  Else -1 with err (ERRBUF_LEN) set to a sentence for the person who typed it.
 */
int	 spoolman_url_check(const char *url, char *err) __attribute__((warn_unused_result));

/*
 * The API root of a base URL: url + "/api/v1" without a doubled slash, or url itself (trailing slashes dropped)
 * when it already ends in /api/v1.  New; the caller frees it.
 */
char	*spoolman_url_api(const char *url);

/* url with any "user:password@" replaced by "***@", for logs and answers.  New; the caller frees it. */
char	*spoolman_url_redact(const char *url);

/*
 * Spoolman's own explanation in an error body of len bytes, as ": text" into buf (buflen bytes), or "" when it has
 * none: the string under "message" or "detail" of a JSON object, else a short (< 200 bytes) body that is neither
 * JSON nor HTML (a proxy's plain-text answer).  Control characters become spaces, so it fits in one line.
 */
void	 spoolman_error_detail(const char *body, size_t len, char *buf, size_t buflen);

#endif
