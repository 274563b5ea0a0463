/* spoolman_http.c: the bounded answer body and the libcurl options every Spoolman request uses. */
#include <stdlib.h>
#include <string.h>

#include "spoolman_http.h"
#include "xmalloc.h"

void
spoolman_body_reset(struct spoolman_body *b)
{
	b->len = 0;
	b->too_large = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
spoolman_body_free(struct spoolman_body *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* libcurl write callback: appends to the body up to its max; returning less than given fails the transfer. */
static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct spoolman_body	*b = arg;
	size_t			 add = size * n;

	if (add > b->max - b->len) {
		b->too_large = 1;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		b->cap = b->len + add + 1 > 2 * b->cap ? b->len + add + 1 : 2 * b->cap;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	memcpy(b->data + b->len, data, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

CURLcode
spoolman_http_setup(CURL *c, struct spoolman_body *body, struct curl_slist *headers, const char *agent,
    char *errbuf, const char *user, const char *password)
{
	CURLcode	 rc = CURLE_OK;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, body);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_USERAGENT, agent);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (user != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, user);
		SET(CURLOPT_PASSWORD, password != NULL ? password : "");
	}
#undef SET
	return rc;
}
