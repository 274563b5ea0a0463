/* spoolman.c: the Spoolman REST client: PUT /spool/{id}/use on a fresh connection, GET /spool/{id}, outcome classes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "counters.h"
#include "db.h"
#include "errbuf.h"
#include "log.h"
#include "secret.h"
#include "spoolman.h"
#include "spoolman_http.h"
#include "spoolman_url.h"
#include "str.h"
#include "xmalloc.h"

#define SM_PI		3.14159265358979323846	/* Python's math.pi, as spoolman/math.py uses */
#define BODY_MAX	(1024 * 1024)	/* a spool is a few KB; more is not Spoolman */
#define MSG_MAX		160		/* of Spoolman's message quoted in err */

struct spoolman {
	CURL			*curl;
	struct curl_slist	*headers;
	char			*url;		/* as configured */
	char			*user;		/* NULL: no basic auth */
	char			*password;
	char			*api;		/* base + "/api/v1", no trailing slash */
	char			*redacted;	/* url without the password, for logs */
	long			 connect_ms;
	long			 total_ms;
	long			 status;	/* HTTP status of the last request, 0 if none */
	int			 timed_out;	/* the last request ended in CURLE_OPERATION_TIMEDOUT */
	int			 down;		/* failing since the last logged transition */
	int			 known;		/* a request has told whether Spoolman answers */
	char			 why[ERRBUF_LEN];	/* the error that began the failing period */
	char			 curlerr[CURL_ERROR_SIZE];
	struct spoolman_body	 resp;		/* the answer to the last request */
};

static const char *const result_names[SPOOLMAN__MAX] = {
	"ok", "not sent", "unknown", "not found", "rejected", "refused"
};

int
spoolman_global_init(char *err)
{
	CURLcode	rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		return errbuf_set(err, "curl_global_init: %s",
		    curl_easy_strerror(rc));
	return 0;
}

void
spoolman_global_cleanup(void)
{
	curl_global_cleanup();
}

const char *
spoolman_result_name(enum spoolman_result r)
{
	return r >= 0 && r < SPOOLMAN__MAX ? result_names[r] : "?";
}

double
spoolman_weight_from_length(double mm, double diameter, double density)
{
	double	r2 = (diameter / 2) * (diameter / 2);
	double	volume_mm3 = mm * SM_PI * r2;
	double	volume_cm3 = volume_mm3 / 1000;

	return density * volume_cm3;
}

/* The options that never change for this client.  0 or -1 (CURLE_* as text in err). */
static int
setup_handle(struct spoolman *sm, char *err)
{
	CURLcode	 rc;

	sm->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (sm->headers != NULL)
		sm->headers = curl_slist_append(sm->headers,
		    "Accept: application/json");
	if (sm->headers != NULL)
		sm->headers = curl_slist_append(sm->headers, "Expect:");
	if (sm->headers == NULL)
		return errbuf_set(err, "out of memory for the HTTP headers");
	rc = spoolman_http_setup(sm->curl, &sm->resp, sm->headers, "spoolkeeper", sm->curlerr, sm->user, sm->password);
	if (rc != CURLE_OK)
		return errbuf_set(err, "libcurl setup: %s", curl_easy_strerror(rc));
	return 0;
}

int
spoolman_new(const char *base_url, const char *user, const char *password,
    struct spoolman **smp, char *err)
{
	struct spoolman	*sm;

	*smp = NULL;
	if (base_url == NULL || (strncmp(base_url, "http://", 7) != 0 &&
	    strncmp(base_url, "https://", 8) != 0) ||
	    strcspn(base_url, " \t\r\n") != strlen(base_url))
		return errbuf_set(err, "the Spoolman URL must start with "
		    "http:// or https:// and hold no spaces");
	sm = xcalloc(1, sizeof(*sm));
	sm->resp.max = BODY_MAX;
	sm->url = xstrdup(base_url);
	sm->user = user != NULL ? xstrdup(user) : NULL;
	sm->password = password != NULL ? xstrdup(password) : NULL;
	sm->api = spoolman_url_api(base_url);
	sm->redacted = spoolman_url_redact(base_url);
	sm->connect_ms = SPOOLMAN_CONNECT_TIMEOUT_MS;
	sm->total_ms = SPOOLMAN_TIMEOUT_MS;
	sm->curl = curl_easy_init();
	if (sm->curl == NULL) {
		spoolman_free(sm);
		return errbuf_set(err, "curl_easy_init failed");
	}
	if (setup_handle(sm, err) == -1) {
		spoolman_free(sm);
		return -1;
	}
	*smp = sm;
	return 0;
}

void
spoolman_free(struct spoolman *sm)
{
	if (sm == NULL)
		return;
	if (sm->curl != NULL)
		curl_easy_cleanup(sm->curl);
	curl_slist_free_all(sm->headers);
	free(sm->url);
	free(sm->user);
	secret_wipe_free(sm->password);
	free(sm->api);
	free(sm->redacted);
	spoolman_body_free(&sm->resp);
	free(sm);
}

/* Replaces an encrypted *password ("v1:...") with its plain text.  0, or -1 with err set and *password freed. */
static int
decrypt_password(const struct secret_key *key, char **password, char *err)
{
	char	*plain, e[ERRBUF_LEN];

	if (!secret_is_encrypted(*password))
		return 0;
	if (secret_decrypt(key, SECRET_SPOOLMAN_PASSWORD, *password, &plain, e) == -1) {
		free(*password);
		*password = NULL;
		return errbuf_set(err, "the setting spoolman_password: %s", e);
	}
	free(*password);
	*password = plain;
	return 0;
}

/*
 * Reads the three settings into new strings (NULL when not set), the password decrypted.  0 or -1 with err.
 */
static int
read_settings(struct db *db, const struct secret_key *key, char **url,
    char **user, char **password, char *err)
{
	struct db_result	*r;
	int			 i;

	*url = *user = *password = NULL;
	if (db_exec_prepared(db, "SELECT key, value FROM settings WHERE key IN "
	    "('spoolman_url', 'spoolman_user', 'spoolman_password')", 0, NULL,
	    &r, err) == -1)
		return -1;
	for (i = 0; i < db_result_rows(r); i++) {
		const char	*k = db_result_get(r, i, 0);
		const char	*v = db_result_get(r, i, 1);
		char		**dst = strcmp(k, "spoolman_url") == 0 ? url :
				    strcmp(k, "spoolman_user") == 0 ? user : password;

		*dst = xstrdup(v);
	}
	db_result_free(r);
	/* An empty user means no login; a user without a password has an empty one. */
	if (*user != NULL && **user == '\0') {
		free(*user);
		*user = NULL;
	}
	if (*user == NULL) {
		free(*password);
		*password = NULL;
	}
	if (decrypt_password(key, password, err) == -1) {
		free(*url);
		free(*user);
		*url = *user = NULL;
		return -1;
	}
	return 0;
}

int
spoolman_reload(struct db *db, const struct secret_key *key,
    struct spoolman **smp, char *err)
{
	char	*url, *user, *password;
	int	 rc;

	if (read_settings(db, key, &url, &user, &password, err) == -1)
		return -1;
	if (url == NULL) {
		rc = *smp != NULL;
		spoolman_free(*smp);
		*smp = NULL;
	} else if (*smp != NULL && str_eq((*smp)->url, url) &&
	    str_eq((*smp)->user, user) && str_eq((*smp)->password, password)) {
		rc = 0;
	} else {
		struct spoolman	*sm;

		rc = spoolman_new(url, user, password, &sm, err);
		if (rc == 0) {
			spoolman_free(*smp);
			*smp = sm;
			rc = 1;
		}
	}
	free(url);
	free(user);
	secret_wipe_free(password);
	return rc;
}

void
spoolman_set_timeouts(struct spoolman *sm, long connect_ms, long total_ms)
{
	if (connect_ms > 0)
		sm->connect_ms = connect_ms;
	if (total_ms > 0)
		sm->total_ms = total_ms;
}

long
spoolman_timeout_ms(const struct spoolman *sm)
{
	return sm->total_ms;
}

long
spoolman_last_status(const struct spoolman *sm)
{
	return sm->status;
}

int
spoolman_last_timed_out(const struct spoolman *sm)
{
	return sm->timed_out;
}

int
spoolman_is_down(const struct spoolman *sm)
{
	return sm->down;
}

int
spoolman_health(const struct spoolman *sm, const char **why)
{
	*why = sm->down ? sm->why : NULL;
	return sm->known ? !sm->down : -1;
}

const char *
spoolman_url_redacted(const struct spoolman *sm)
{
	return sm->redacted;
}

/* Logs the start of a failing period once, and its end once. */
static void
note_health(struct spoolman *sm, int failing, const char *why)
{
	sm->known = 1;
	if (failing && !sm->down) {
		snprintf(sm->why, sizeof(sm->why), "%s", why);
		log_msg(LOGL_WARN, 0, 0, "spoolman %s: failing: %s (not logged again until it answers)",
		    sm->redacted, why);
		sm->down = 1;
	} else if (!failing && sm->down) {
		log_msg(LOGL_INFO, 0, 0, "spoolman %s: answers again", sm->redacted);
		sm->down = 0;
	}
}

/*
 * The class of a finished transfer: rc from curl_easy_perform, sent = CURLINFO_REQUEST_SIZE, the status in
 * sm->status.  Fills err for everything but SPOOLMAN_OK (for a 2xx the caller parses the body).
 */
static enum spoolman_result
classify(struct spoolman *sm, const char *what, CURLcode rc, long sent,
    char *err)
{
	char	msg[MSG_MAX];
	long	st = sm->status;

	if (rc != CURLE_OK) {
		const char *why = sm->curlerr[0] != '\0' ? sm->curlerr :
		    curl_easy_strerror(rc);

		errbuf_set(err, "%s: %s (curl %d, %ld bytes sent)", what, why,
		    (int)rc, sent);
		/*
		 * Nothing of the request left the process: it cannot have been applied.  Resolve and connect failures
		 * never send; a connect timeout or a TLS handshake failure has sent no HTTP byte either.
		 */
		if (sent == 0 || rc == CURLE_COULDNT_RESOLVE_HOST ||
		    rc == CURLE_COULDNT_RESOLVE_PROXY ||
		    rc == CURLE_COULDNT_CONNECT)
			return SPOOLMAN_NOT_SENT;
		return SPOOLMAN_UNKNOWN;
	}
	if (st >= 200 && st < 300)
		return SPOOLMAN_OK;
	spoolman_error_detail(sm->resp.data, sm->resp.len, msg, sizeof(msg));
	errbuf_set(err, "%s: HTTP %ld%s", what, st, msg);
	if (st >= 300 && st < 400) {
		errbuf_set(err, "%s: HTTP %ld redirect not followed (check "
		    "spoolman_url)", what, st);
		return SPOOLMAN_NOT_SENT;
	}
	if (st == 401 || st == 407 || st == 408 || st == 429)
		return SPOOLMAN_NOT_SENT;
	if (st == 404)
		return SPOOLMAN_NOT_FOUND;
	if (st >= 400 && st < 500)
		return SPOOLMAN_REJECTED;
	return SPOOLMAN_UNKNOWN;	/* 5xx, 1xx or anything odd */
}

/*
 * Runs one request, "GET" (body NULL) or "PUT", "PATCH", "POST" (with body), on a fresh connection closed after it.  Returns the class;
 * the response body is in sm->resp.
 */
static enum spoolman_result
perform(struct spoolman *sm, const char *method, const char *path,
    const char *body, char *err)
{
	CURL		*c = sm->curl;
	CURLcode	 rc = CURLE_OK;
	char		 url[2048], what[128];
	long		 sent = 0;
	int		 put = body != NULL, failing;	/* PUT, PATCH, POST */
	enum spoolman_result res;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", sm->api, path) >=
	    sizeof(url)) {
		errbuf_set(err, "the Spoolman URL is too long");
		return SPOOLMAN_REFUSED;
	}
	snprintf(what, sizeof(what), "%s %s", method, path);
	spoolman_body_reset(&sm->resp);
	sm->curlerr[0] = '\0';
	sm->status = 0;
	sm->timed_out = 0;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_CONNECTTIMEOUT_MS, sm->connect_ms);
	SET(CURLOPT_TIMEOUT_MS, sm->total_ms);
	/*
	 * Every request on a new connection, closed after.  For the PUT this is what makes it safe: libcurl re-sends
	 * a request silently only on a reused connection (reliability.md E4).  The GET would be safe on a reused one,
	 * but keep-alive buys little at one or two requests per batch and costs a 40 ms Nagle/delayed-ACK stall per
	 * request against servers that do not set TCP_NODELAY (the stand-in measures 48 ms instead of 3).
	 */
	SET(CURLOPT_FRESH_CONNECT, 1L);
	SET(CURLOPT_FORBID_REUSE, 1L);
	if (put) {
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		SET(CURLOPT_POSTFIELDS, body);
		SET(CURLOPT_CUSTOMREQUEST, method);
	} else {
		/* Forget the last PUT's body (freed since), then back to GET. */
		SET(CURLOPT_POSTFIELDS, (char *)NULL);
		SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
		SET(CURLOPT_HTTPGET, 1L);
	}
#undef SET
	if (rc != CURLE_OK) {
		errbuf_set(err, "%s: libcurl: %s", what, curl_easy_strerror(rc));
		return SPOOLMAN_REFUSED;
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &sm->status);
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
	sm->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	res = classify(sm, what, rc, sent, err);
	/* Failing: no answer, a server error, or a login the proxy refuses (a setting to fix, not a row's fault). */
	failing = rc != CURLE_OK || sm->status >= 500 || sm->status == 401 || sm->status == 407;
	counters_add(COUNTER_SPOOLMAN_REQUESTS, 1);
	if (failing)
		counters_add(COUNTER_SPOOLMAN_ERRORS, 1);
	note_health(sm, failing, err);
	return res;
}

/* A finite number >= 0 from obj[key] (an integer or a real), else NAN. */
static double
get_weight(json_t *obj, const char *key)
{
	json_t	*v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	double	 d;

	if (!json_is_number(v))
		return NAN;
	d = json_number_value(v);
	return isfinite(d) && d >= 0 ? d : NAN;
}

/* Parses sm->resp as a spool.  0, or -1 with err set when it is not one. */
static int
parse_spool(struct spoolman *sm, int spool_id, struct spoolman_spool *out,
    char *err)
{
	json_error_t	 je;
	json_t		*j, *f;

	j = json_loadb(sm->resp.data != NULL ? sm->resp.data : "", sm->resp.len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return errbuf_set(err, "spool %d: the response is not a JSON "
		    "object (%s)", spool_id, j == NULL ? je.text : "wrong type");
	}
	out->used_weight = get_weight(j, "used_weight");
	out->remaining_weight = get_weight(j, "remaining_weight");
	f = json_object_get(j, "filament");
	out->density = get_weight(f, "density");
	out->diameter = get_weight(f, "diameter");
	json_decref(j);
	if (isnan(out->used_weight))
		return errbuf_set(err, "spool %d: the response has no finite "
		    "used_weight >= 0", spool_id);
	return 0;
}

enum spoolman_result
spoolman_use(struct spoolman *sm, int spool_id, enum spoolman_unit unit,
    double amount, double *used_after, char *err)
{
	struct spoolman_spool	 sp;
	enum spoolman_result	 res;
	const char		*key = unit == SPOOLMAN_GRAMS ? "use_weight" :
				    "use_length";
	double			 max = unit == SPOOLMAN_GRAMS ?
				    SPOOLMAN_MAX_USE_G : SPOOLMAN_MAX_USE_MM;
	char			 path[64], *body;
	json_t			*j;

	*used_after = NAN;
	if (spool_id <= 0) {
		errbuf_set(err, "bad spool id %d", spool_id);
		return SPOOLMAN_REFUSED;
	}
	if (!isfinite(amount) || fabs(amount) > max) {
		errbuf_set(err, "spool %d: refusing to send %s %g: not a finite "
		    "amount within +-%g", spool_id, key, amount, max);
		return SPOOLMAN_REFUSED;
	}
	j = json_object();
	/* json_real() refuses NaN and infinities; the bound above keeps the rest sane. */
	if (j == NULL || json_object_set_new(j, key, json_real(amount)) == -1 ||
	    (body = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		errbuf_set(err, "spool %d: cannot encode the request", spool_id);
		return SPOOLMAN_REFUSED;
	}
	json_decref(j);
	snprintf(path, sizeof(path), "/spool/%d/use", spool_id);
	res = perform(sm, "PUT", path, body, err);
	free(body);
	if (res != SPOOLMAN_OK)
		return res;
	/* A 2xx means Spoolman committed; without the spool in the body the caller reads it back. */
	if (parse_spool(sm, spool_id, &sp, err) == -1)
		return SPOOLMAN_UNKNOWN;
	*used_after = sp.used_weight;
	return SPOOLMAN_OK;
}

enum spoolman_result
spoolman_get_spool(struct spoolman *sm, int spool_id, struct spoolman_spool *out,
    char *err)
{
	enum spoolman_result	res;
	char			path[64];

	out->used_weight = out->density = out->diameter = NAN;
	out->remaining_weight = NAN;
	if (spool_id <= 0) {
		errbuf_set(err, "bad spool id %d", spool_id);
		return SPOOLMAN_REFUSED;
	}
	snprintf(path, sizeof(path), "/spool/%d", spool_id);
	res = perform(sm, "GET", path, NULL, err);
	if (res != SPOOLMAN_OK)
		return res;
	if (parse_spool(sm, spool_id, out, err) == -1)
		return SPOOLMAN_UNKNOWN;
	return SPOOLMAN_OK;
}

enum spoolman_result
spoolman_request(struct spoolman *sm, const char *method, const char *path,
    json_t *body, json_t **out, char *err)
{
	enum spoolman_result	 res;
	json_error_t		 je;
	char			*text = NULL;

	*out = NULL;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		errbuf_set(err, "%s %s: cannot encode the request", method, path);
		return SPOOLMAN_REFUSED;
	}
	res = perform(sm, method, path, text, err);
	free(text);
	if (res != SPOOLMAN_OK)
		return res;
	*out = json_loadb(sm->resp.data != NULL ? sm->resp.data : "",
	    sm->resp.len, JSON_DECODE_ANY, &je);
	if (*out == NULL) {
		errbuf_set(err, "%s %s: the answer is not JSON (%s)", method,
		    path, je.text);
		return SPOOLMAN_UNKNOWN;
	}
	return SPOOLMAN_OK;
}
