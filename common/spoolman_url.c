/* spoolman_url.c: the rules of a Spoolman base URL, its /api/v1 root, its redacted form, and its error bodies. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "errbuf.h"
#include "spoolman_url.h"
#include "xmalloc.h"

#define API_SUFFIX	"/api/v1"

int
spoolman_url_check(const char *url, char *err)
{
	const char	*host, *end;
	size_t		 i, n;

	if (url == NULL || *url == '\0')
		return errbuf_set(err, "the Spoolman URL is empty");
	n = strlen(url);
	if (n > SPOOLMAN_URL_MAX)
		return errbuf_set(err, "the Spoolman URL is longer than %d bytes", SPOOLMAN_URL_MAX);
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return errbuf_set(err, "the Spoolman URL must start with http:// or https://");
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return errbuf_set(err, "the Spoolman URL must not contain spaces or control characters");
	if (strpbrk(url, "?#") != NULL)
		return errbuf_set(err, "the Spoolman URL must not have a query (?) or fragment (#)");
	end = host + strcspn(host, "/");
	if (end == host)
		return errbuf_set(err, "the Spoolman URL has no host");
	if (memchr(host, '@', (size_t)(end - host)) != NULL)
		return errbuf_set(err, "put the login in spoolman_user and spoolman_password, not in the URL");
	return 0;
}

char *
spoolman_url_api(const char *url)
{
	size_t	 n = strlen(url), s = sizeof(API_SUFFIX) - 1;
	char	*out;

	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= s && strncmp(url + n - s, API_SUFFIX, s) == 0) {
		out = xmalloc(n + 1);
		memcpy(out, url, n);
		out[n] = '\0';
		return out;
	}
	out = xmalloc(n + s + 1);
	memcpy(out, url, n);
	memcpy(out + n, API_SUFFIX, s + 1);
	return out;
}

char *
spoolman_url_redact(const char *url)
{
	const char	*host = strstr(url, "://"), *at = NULL, *end, *p;
	size_t		 n;
	char		*out;

	if (host == NULL)
		return xstrdup(url);
	host += 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			at = p;		/* the last @ ends the userinfo */
	if (at == NULL)
		return xstrdup(url);
	n = (size_t)(host - url) + 4 + strlen(at + 1) + 1;
	out = xmalloc(n);
	snprintf(out, n, "%.*s***@%s", (int)(host - url), url, at + 1);
	return out;
}

void
spoolman_error_detail(const char *body, size_t len, char *buf, size_t buflen)
{
	json_t	*j, *m;
	size_t	 i;

	buf[0] = '\0';
	if (body == NULL || len == 0)
		return;
	j = json_loadb(body, len, 0, NULL);
	m = json_is_object(j) ? json_object_get(j, "message") : NULL;
	if (m == NULL && json_is_object(j))
		m = json_object_get(j, "detail");
	if (json_is_string(m))
		snprintf(buf, buflen, ": %s", json_string_value(m));
	else if (j == NULL && len < 200 && body[0] != '<')
		snprintf(buf, buflen, ": %.*s", (int)len, body);
	json_decref(j);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20)
			buf[i] = ' ';
}
