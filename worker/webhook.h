/* webhook.h: delivers the queued webhook events (webhook_events) to the admin's URL, signed, with retries. */
#ifndef WORKER_WEBHOOK_H
#define WORKER_WEBHOOK_H

#include <stddef.h>

struct db;
struct secret_key;

#define WEBHOOK_MAX_ATTEMPTS	10	/* then the event is given up (state failed) with a log line */
#define WEBHOOK_BACKOFF_S	2.0	/* the first retry after 2 s, then 4, 8... */
#define WEBHOOK_BACKOFF_CAP_S	600.0	/* never more than 10 min between tries */
#define WEBHOOK_LEASE_S		60	/* a claim's lease (> the request timeout) */
#define WEBHOOK_TIMEOUT_MS	10000L	/* whole request; connect 5 s */
#define WEBHOOK_SIG_HEADER	"X-Spoolkeeper-Signature"

/* The delivery settings and client (opaque).  Not thread-safe: one per thread. */
struct webhook;

/* Retry policy; zeros take the defaults above. */
struct webhook_policy {
	int	 max_attempts;
	double	 backoff_s;
};

/*
 * Reads the settings webhook_url and webhook_secret (decrypted with key, purpose SECRET_WEBHOOK_SECRET; a plain
 * value is used as it is) into *whp, replacing what was there: NULL when no URL is set.  Returns 1 when *whp
 * changed, 0 when not, -1 with err set (a database error or a secret that cannot be decrypted: *whp untouched).
 */
int	 webhook_reload(struct db *, const struct secret_key *key, struct webhook **whp, char *err)
	    __attribute__((warn_unused_result));

void	 webhook_free(struct webhook *);

/* The URL as logs show it (borrowed): scheme, host and port only, "/..." for the rest (it may hold a token). */
const char *webhook_url(const struct webhook *);

/*
 * Claims the oldest due event (pending and due, or inflight with an expired lease), POSTs it once on a fresh
 * connection (its body plus "id"; headers X-Spoolkeeper-Event, X-Spoolkeeper-Delivery and, with a secret,
 * X-Spoolkeeper-Signature: sha256=<hex HMAC-SHA256 of the body>), and records the outcome: a 2xx delivers it,
 * anything else is retried after the policy's backoff, or given up (failed, logged) after max_attempts.
 * Redirects are not followed.  Returns 1 when an event was handled, 0 when none is due, -1 with err set (a
 * database error).
 */
int	 webhook_deliver_once(struct db *, struct webhook *, const char *worker_id,
	    const struct webhook_policy *, char *err) __attribute__((warn_unused_result));

/* hex (65 bytes) = lower-case hex HMAC-SHA256 of body under secret. */
void	 webhook_sign(const char *secret, const char *body, size_t len, char *hex);

/* Seconds before try attempts + 1: backoff_s * 2^(attempts - 1), at most WEBHOOK_BACKOFF_CAP_S. */
double	 webhook_backoff_s(int attempts, double backoff_s);

#endif
