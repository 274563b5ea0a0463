/* webhook.c: delivers the queued webhook events (webhook_events) to the admin's URL, signed, with retries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "db.h"
#include "errbuf.h"
#include "log.h"
#include "secret.h"
#include "spoolman_http.h"
#include "str.h"
#include "webhook.h"
#include "xmalloc.h"

#define ANSWER_MAX	(64 * 1024)	/* bytes of a receiver's answer kept (and then ignored) */

struct webhook {
	char	*url;
	char	*shown;		/* scheme://host[:port] only: a path or query may hold a token (chat webhooks) */
	char	*secret;	/* NULL: no signature */
};

/* The oldest due event, claimed: the lease is committed before the POST (no transaction is held across it). */
static const char CLAIM_SQL[] =
    "UPDATE webhook_events SET state = 'inflight', claimed_by = $1,"
    "  lease_until = now() + $2::int * interval '1 second', attempts = attempts + 1"
    " WHERE id = (SELECT id FROM webhook_events"
    "   WHERE (state = 'pending' AND next_attempt_at <= now()) OR (state = 'inflight' AND lease_until <= now())"
    "   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, event, body::text, attempts";

static const char DELIVERED_SQL[] =
    "UPDATE webhook_events SET state = 'delivered', delivered_at = now(), lease_until = NULL,"
    "  last_status = $3::int, last_error = NULL"
    " WHERE id = $1::bigint AND claimed_by = $2 AND state = 'inflight'";

static const char RETRY_SQL[] =
    "UPDATE webhook_events SET state = CASE WHEN $5::boolean THEN 'failed' ELSE 'pending' END,"
    "  lease_until = NULL, next_attempt_at = now() + $3::float8 * interval '1 second',"
    "  last_status = $4::int, last_error = left($6, 4096)"
    " WHERE id = $1::bigint AND claimed_by = $2 AND state = 'inflight'";

void
webhook_free(struct webhook *wh)
{
	if (wh == NULL)
		return;
	free(wh->url);
	free(wh->shown);
	secret_wipe_free(wh->secret);
	free(wh);
}

const char *
webhook_url(const struct webhook *wh)
{
	return wh->shown;
}

/* url cut after its host and port, with "/..." when something followed (new string). */
static char *
shown_url(const char *url)
{
	const char	*host = strstr(url, "://");
	size_t		 n;
	char		*s;

	host = host != NULL ? host + 3 : url;
	n = (size_t)(host - url) + strcspn(host, "/?#");
	s = xmalloc(n + 5);
	memcpy(s, url, n);
	strcpy(s + n, url[n] != '\0' ? "/..." : "");
	return s;
}

/* Reads the two settings into new strings (NULL: not set), the secret decrypted.  0 or -1 with err. */
static int
read_settings(struct db *db, const struct secret_key *key, char **url, char **secret, char *err)
{
	struct db_result	*r;
	char			 e[ERRBUF_LEN];
	int			 i, rc = 0;

	*url = *secret = NULL;
	if (db_exec_prepared(db, "SELECT key, value FROM settings WHERE key IN ('webhook_url', 'webhook_secret')", 0,
	    NULL, &r, err) == -1)
		return -1;
	for (i = 0; i < db_result_rows(r); i++) {
		const char	*k = db_result_get(r, i, 0), *v = db_result_get(r, i, 1);

		if (strcmp(k, "webhook_url") == 0)
			*url = xstrdup(v);
		else if (!secret_is_encrypted(v))
			*secret = xstrdup(v);
		else if (secret_decrypt(key, SECRET_WEBHOOK_SECRET, v, secret, e) == -1)
			rc = errbuf_set(err, "the setting webhook_secret: %s", e);
	}
	db_result_free(r);
	if (rc == -1) {
		free(*url);
		*url = NULL;
	}
	return rc;
}

int
webhook_reload(struct db *db, const struct secret_key *key, struct webhook **whp, char *err)
{
	struct webhook	*wh;
	char		*url, *secret;

	if (read_settings(db, key, &url, &secret, err) == -1)
		return -1;
	if (*whp != NULL && url != NULL && str_eq((*whp)->url, url) && str_eq((*whp)->secret, secret)) {
		free(url);
		secret_wipe_free(secret);
		return 0;
	}
	if (*whp == NULL && url == NULL) {
		secret_wipe_free(secret);
		return 0;
	}
	webhook_free(*whp);
	*whp = NULL;
	if (url != NULL) {
		wh = xcalloc(1, sizeof(*wh));
		wh->url = url;
		wh->shown = shown_url(url);
		wh->secret = secret;
		*whp = wh;
	} else
		secret_wipe_free(secret);
	return 1;
}

void
webhook_sign(const char *secret, const char *body, size_t len, char *hex)
{
	crypto_auth_hmacsha256_state	st;
	unsigned char			mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
}

double
webhook_backoff_s(int attempts, double backoff_s)
{
	double	s = backoff_s * pow(2, attempts > 1 ? attempts - 1 : 0);

	return s < WEBHOOK_BACKOFF_CAP_S ? s : WEBHOOK_BACKOFF_CAP_S;
}

/* The headers of one delivery (new list), or NULL when memory runs out. */
static struct curl_slist *
headers_for(const struct webhook *wh, const char *event, const char *id, const char *body)
{
	struct curl_slist	*h = NULL, *n;
	char			 line[160], hex[65];
	int			 i;

	for (i = 0; i < 5; i++) {
		line[0] = '\0';
		if (i == 0)
			snprintf(line, sizeof(line), "Content-Type: application/json");
		else if (i == 1)
			snprintf(line, sizeof(line), "Expect:");
		else if (i == 2)
			snprintf(line, sizeof(line), "X-Spoolkeeper-Event: %s", event);
		else if (i == 3)
			snprintf(line, sizeof(line), "X-Spoolkeeper-Delivery: %s", id);
		else if (wh->secret != NULL) {
			webhook_sign(wh->secret, body, strlen(body), hex);
			snprintf(line, sizeof(line), WEBHOOK_SIG_HEADER ": sha256=%s", hex);
		}
		if (line[0] == '\0')
			continue;
		if ((n = curl_slist_append(h, line)) == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = n;
	}
	return h;
}

/*
 * POSTs body once on a fresh connection that is closed afterwards (libcurl never re-sends it by itself,
 * reliability.md finding 1).  0 with *status the HTTP status on a 2xx, else -1 with err set (*status 0 without
 * an answer).
 */
static int
post(const struct webhook *wh, const char *event, const char *id, const char *body, long *status, char *err)
{
	struct spoolman_body	 ans = { .max = ANSWER_MAX };
	struct curl_slist	*h = headers_for(wh, event, id, body);
	char			 cerr[CURL_ERROR_SIZE] = "";
	CURL			*c = curl_easy_init();
	CURLcode		 rc = c == NULL || h == NULL ? CURLE_OUT_OF_MEMORY :
				    spoolman_http_setup(c, &ans, h, "spoolkeeper-webhook", cerr, NULL, NULL);

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_URL, wh->url);
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	SET(CURLOPT_FRESH_CONNECT, 1L);
	SET(CURLOPT_FORBID_REUSE, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	SET(CURLOPT_TIMEOUT_MS, WEBHOOK_TIMEOUT_MS);
#undef SET
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	*status = 0;
	if (c != NULL)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(h);
	spoolman_body_free(&ans);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && ans.too_large))
		return errbuf_set(err, "POST %s: %s", wh->shown, cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
	if (*status >= 300 && *status < 400)
		return errbuf_set(err, "POST %s: HTTP %ld (a redirect: not followed)", wh->shown, *status);
	if (*status < 200 || *status >= 300)
		return errbuf_set(err, "POST %s: HTTP %ld", wh->shown, *status);
	return 0;
}

/* The body to send: the stored one with "id" first.  New string. */
static char *
delivery_body(const char *stored, const char *id)
{
	json_t	*j = json_loads(stored, 0, NULL), *o = json_object();
	char	*text;

	json_object_set_new(o, "id", json_integer(strtoll(id, NULL, 10)));
	if (json_is_object(j))
		json_object_update(o, j);
	json_decref(j);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text != NULL ? text : xstrdup("{}");
}

int
webhook_deliver_once(struct db *db, struct webhook *wh, const char *worker_id,
    const struct webhook_policy *pol, char *err)
{
	struct db_result	*r;
	const char		*id, *event;
	char			 lease[16], st[24], delay[32], e[ERRBUF_LEN], *body;
	long			 status;
	long long		 attempts = 0;
	int			 max = pol->max_attempts > 0 ? pol->max_attempts : WEBHOOK_MAX_ATTEMPTS, rc, last;

	if (wh == NULL)
		return 0;
	snprintf(lease, sizeof(lease), "%d", WEBHOOK_LEASE_S);
	if (db_exec_prepared(db, CLAIM_SQL, 2, (const char *[]){ worker_id, lease }, &r, err) == -1)
		return -1;
	if (db_result_rows(r) == 0) {
		db_result_free(r);
		return 0;
	}
	id = db_result_get(r, 0, 0);
	event = db_result_get(r, 0, 1);
	(void)db_result_int64(r, 0, 3, &attempts);
	body = delivery_body(db_result_get(r, 0, 2), id);
	rc = post(wh, event, id, body, &status, e);
	free(body);
	snprintf(st, sizeof(st), "%ld", status);
	if (rc == 0) {
		if (attempts > 1)
			log_msg(LOGL_INFO, 0, 0, "webhook: event %s (%s) delivered at attempt %lld", id, event,
			    attempts);
		rc = db_exec_prepared(db, DELIVERED_SQL, 3, (const char *[]){ id, worker_id, st }, NULL, err);
	} else {
		last = attempts >= max;
		snprintf(delay, sizeof(delay), "%.3f", webhook_backoff_s((int)attempts, pol->backoff_s > 0 ?
		    pol->backoff_s : WEBHOOK_BACKOFF_S));
		if (last)
			log_msg(LOGL_ERROR, 0, 0, "webhook: event %s (%s) given up after %lld attempts: %s", id,
			    event, attempts, e);
		else if (attempts == 1)
			log_msg(LOGL_WARN, 0, 0, "webhook: event %s (%s) not delivered, retrying: %s", id, event, e);
		rc = db_exec_prepared(db, RETRY_SQL, 6, (const char *[]){ id, worker_id, delay, status > 0 ? st : NULL,
		    last ? "true" : "false", e }, NULL, err);
	}
	db_result_free(r);
	return rc == -1 ? -1 : 1;
}
