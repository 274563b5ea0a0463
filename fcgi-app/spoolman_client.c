/* spoolman_client.c: GET requests to Spoolman for the web app (search, spool, /info), with results as classes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "errbuf.h"
#include "secret.h"
#include "spoolman_client.h"
#include "spoolman_http.h"
#include "spoolman_url.h"
#include "xmalloc.h"

#define MSG_MAX		160	/* bytes of Spoolman's own message quoted in err */

struct spoolman_client {
	CURL			*curl;
	struct curl_slist	*headers;
	char			*url;		/* as configured */
	char			*api;		/* url + /api/v1 */
	char			*user;		/* NULL: no login */
	char			*password;
	long			 timeout_ms;
	long			 status;	/* of the last GET, 0 if none */
	long long		 total;		/* x-total-count of the last GET, -1 */
	char			 curlerr[CURL_ERROR_SIZE];
	struct spoolman_body	 resp;		/* the answer to the last GET */
};

static const char *const result_names[SPOOLMAN_CLIENT__MAX] = {
	"ok", "not found", "timeout", "unreachable", "bad answer"
};

const char *
spoolman_client_result_name(enum spoolman_client_result r)
{
	return r >= 0 && r < SPOOLMAN_CLIENT__MAX ? result_names[r] : "?";
}

/* libcurl header callback: picks x-total-count out of the answer's header lines (not NUL-terminated). */
static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct spoolman_client	*sc = arg;
	size_t			 len = size * n, k = sizeof("x-total-count:") - 1;
	char			 num[32], *end;
	long long		 v;

	if (len > k && len - k < sizeof(num) && strncasecmp(data, "x-total-count:", k) == 0) {
		memcpy(num, data + k, len - k);
		num[len - k] = '\0';
		errno = 0;
		v = strtoll(num, &end, 10);
		while (*end == ' ' || *end == '\r' || *end == '\n' || *end == '\t')
			end++;
		if (errno == 0 && *end == '\0' && v >= 0)
			sc->total = v;
	}
	return len;
}

/* The options that never change for this client.  0, or -1 with err. */
static int
setup_handle(struct spoolman_client *sc, char *err)
{
	CURL		*c = sc->curl;
	CURLcode	 rc = CURLE_OK;
	long		 connect_ms = sc->timeout_ms < SPOOLMAN_CLIENT_CONNECT_MS ? sc->timeout_ms :
			    SPOOLMAN_CLIENT_CONNECT_MS;

	sc->headers = curl_slist_append(NULL, "Accept: application/json");
	if (sc->headers == NULL)
		return errbuf_set(err, "out of memory for the HTTP headers");
	rc = spoolman_http_setup(c, &sc->resp, sc->headers, "spoolkeeper-web", sc->curlerr, sc->user, sc->password);
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, sc);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SET(CURLOPT_TIMEOUT_MS, sc->timeout_ms);
	SET(CURLOPT_HTTPGET, 1L);
#undef SET
	if (rc != CURLE_OK)
		return errbuf_set(err, "libcurl setup: %s", curl_easy_strerror(rc));
	return 0;
}

int
spoolman_client_new(const char *base_url, const char *user, const char *password, long timeout_ms,
    struct spoolman_client **out, char *err)
{
	struct spoolman_client	*sc;

	*out = NULL;
	if (base_url == NULL || (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) ||
	    strcspn(base_url, " \t\r\n") != strlen(base_url))
		return errbuf_set(err, "the Spoolman URL must start with http:// or https:// and hold no spaces");
	if (timeout_ms <= 0)
		return errbuf_set(err, "the Spoolman timeout must be above 0 ms");
	sc = xcalloc(1, sizeof(*sc));
	sc->resp.max = SPOOLMAN_CLIENT_BODY_MAX;
	sc->url = xstrdup(base_url);
	sc->api = spoolman_url_api(base_url);
	sc->user = user != NULL && *user != '\0' ? xstrdup(user) : NULL;
	sc->password = sc->user != NULL && password != NULL ? xstrdup(password) : NULL;
	sc->timeout_ms = timeout_ms;
	sc->total = -1;
	if ((sc->curl = curl_easy_init()) == NULL) {
		spoolman_client_free(sc);
		return errbuf_set(err, "curl_easy_init failed");
	}
	if (setup_handle(sc, err) == -1) {
		spoolman_client_free(sc);
		return -1;
	}
	*out = sc;
	return 0;
}

void
spoolman_client_free(struct spoolman_client *sc)
{
	if (sc == NULL)
		return;
	if (sc->curl != NULL)
		curl_easy_cleanup(sc->curl);
	curl_slist_free_all(sc->headers);
	free(sc->url);
	free(sc->api);
	free(sc->user);
	secret_wipe_free(sc->password);
	spoolman_body_free(&sc->resp);
	free(sc);
}

long
spoolman_client_http_status(const struct spoolman_client *sc)
{
	return sc->status;
}

long long
spoolman_client_total_count(const struct spoolman_client *sc)
{
	return sc->total;
}

const char *
spoolman_client_url(const struct spoolman_client *sc)
{
	return sc->url;
}

/* The class of a transfer that ended with rc and sc->status; err set for all but OK. */
static enum spoolman_client_result
classify(struct spoolman_client *sc, const char *what, CURLcode rc, char *err)
{
	char	 msg[MSG_MAX];

	if (rc == CURLE_OPERATION_TIMEDOUT) {
		errbuf_set(err, "%s: no answer within %ld ms", what, sc->timeout_ms);
		return SPOOLMAN_CLIENT_TIMEOUT;
	}
	if (rc == CURLE_WRITE_ERROR && sc->resp.too_large) {
		errbuf_set(err, "%s: the answer is larger than %d bytes", what, SPOOLMAN_CLIENT_BODY_MAX);
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	if (rc != CURLE_OK) {
		errbuf_set(err, "%s: %s", what, sc->curlerr[0] != '\0' ? sc->curlerr : curl_easy_strerror(rc));
		if (sc->status == 0 && (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
		    rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CONNECT_ERROR ||
		    rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
		    rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL))
			return SPOOLMAN_CLIENT_UNREACHABLE;
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	if (sc->status >= 200 && sc->status < 300)
		return SPOOLMAN_CLIENT_OK;
	spoolman_error_detail(sc->resp.data, sc->resp.len, msg, sizeof(msg));
	if (sc->status >= 300 && sc->status < 400)
		errbuf_set(err, "%s: HTTP %ld, a redirect (not followed: check the Spoolman URL)", what, sc->status);
	else if (sc->status == 401 || sc->status == 407)
		errbuf_set(err, "%s: HTTP %ld, the login was refused (check spoolman_user and spoolman_password)", what,
		    sc->status);
	else
		errbuf_set(err, "%s: HTTP %ld%s", what, sc->status, msg);
	return sc->status == 404 ? SPOOLMAN_CLIENT_NOT_FOUND : SPOOLMAN_CLIENT_BAD_ANSWER;
}

enum spoolman_client_result
spoolman_client_get(struct spoolman_client *sc, const char *path, json_t **out, char *err)
{
	enum spoolman_client_result	 res;
	CURLcode			 rc;
	json_error_t			 je;
	char				 url[SPOOLMAN_URL_MAX + 1024], what[128], *shown;

	*out = NULL;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", sc->api, path) >= sizeof(url)) {
		errbuf_set(err, "the Spoolman URL is too long");
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	shown = spoolman_url_redact(url);
	snprintf(what, sizeof(what), "Spoolman GET %.100s", shown);
	free(shown);
	spoolman_body_reset(&sc->resp);
	sc->status = 0;
	sc->total = -1;
	sc->curlerr[0] = '\0';
	if ((rc = curl_easy_setopt(sc->curl, CURLOPT_URL, url)) == CURLE_OK)
		rc = curl_easy_perform(sc->curl);
	curl_easy_getinfo(sc->curl, CURLINFO_RESPONSE_CODE, &sc->status);
	if ((res = classify(sc, what, rc, err)) != SPOOLMAN_CLIENT_OK)
		return res;
	if ((*out = json_loadb(sc->resp.data != NULL ? sc->resp.data : "", sc->resp.len, 0, &je)) == NULL) {
		errbuf_set(err, "%s: the answer is not JSON (%s)", what, je.text);
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	return SPOOLMAN_CLIENT_OK;
}

/* Back to the GET every other call makes: headers, no body, the connection kept. */
static void
back_to_get(struct spoolman_client *sc)
{
	curl_easy_setopt(sc->curl, CURLOPT_HTTPHEADER, sc->headers);
	curl_easy_setopt(sc->curl, CURLOPT_POSTFIELDS, (char *)NULL);
	curl_easy_setopt(sc->curl, CURLOPT_CUSTOMREQUEST, (char *)NULL);
	curl_easy_setopt(sc->curl, CURLOPT_FRESH_CONNECT, 0L);
	curl_easy_setopt(sc->curl, CURLOPT_FORBID_REUSE, 0L);
	curl_easy_setopt(sc->curl, CURLOPT_HTTPGET, 1L);
}

enum spoolman_client_result
spoolman_client_send(struct spoolman_client *sc, const char *method, const char *path, json_t *body, json_t **out,
    char *err)
{
	enum spoolman_client_result	 res;
	struct curl_slist		*h;
	CURLcode			 rc = CURLE_OK;
	json_error_t			 je;
	char				 url[SPOOLMAN_URL_MAX + 1024], what[128], *shown, *text;

	*out = NULL;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", sc->api, path) >= sizeof(url)) {
		errbuf_set(err, "the Spoolman URL is too long");
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		errbuf_set(err, "cannot encode the request to Spoolman");
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	shown = spoolman_url_redact(url);
	snprintf(what, sizeof(what), "Spoolman %s %.100s", method, shown);
	free(shown);
	h = curl_slist_append(NULL, "Accept: application/json");
	h = h != NULL ? curl_slist_append(h, "Content-Type: application/json") : NULL;
	h = h != NULL ? curl_slist_append(h, "Expect:") : NULL;
	spoolman_body_reset(&sc->resp);
	sc->status = 0;
	sc->total = -1;
	sc->curlerr[0] = '\0';
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(sc->curl, opt, val); } while (0)
	if (h == NULL)
		rc = CURLE_OUT_OF_MEMORY;
	SET(CURLOPT_URL, url);
	SET(CURLOPT_HTTPHEADER, h);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	SET(CURLOPT_POSTFIELDS, text);
	SET(CURLOPT_CUSTOMREQUEST, method);
	/* A write on a connection of its own: libcurl never re-sends it silently (reliability.md E4). */
	SET(CURLOPT_FRESH_CONNECT, 1L);
	SET(CURLOPT_FORBID_REUSE, 1L);
#undef SET
	if (rc == CURLE_OK)
		rc = curl_easy_perform(sc->curl);
	curl_easy_getinfo(sc->curl, CURLINFO_RESPONSE_CODE, &sc->status);
	back_to_get(sc);
	curl_slist_free_all(h);
	free(text);
	if ((res = classify(sc, what, rc, err)) != SPOOLMAN_CLIENT_OK)
		return res;
	if ((*out = json_loadb(sc->resp.data != NULL ? sc->resp.data : "", sc->resp.len, JSON_DECODE_ANY,
	    &je)) == NULL) {
		errbuf_set(err, "%s: the answer is not JSON (%s)", what, je.text);
		return SPOOLMAN_CLIENT_BAD_ANSWER;
	}
	return SPOOLMAN_CLIENT_OK;
}
