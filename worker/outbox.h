/* outbox.h: the Spoolman outbox drain: claim a spool's due uses, send their sum once, settle unknown outcomes by read-back. */
#ifndef WORKER_OUTBOX_H
#define WORKER_OUTBOX_H

#include <stdatomic.h>

struct db;
struct secret_key;
struct spoolman;

/* Tunables (docs/outbox.md).  Every time that is stored uses the database's now(). */
#define OUTBOX_LEASE_S		30	/* a claim's lease; renewed right before the PUT (> 2 x the request timeout) */
#define OUTBOX_SETTLE_S		30	/* after a timeout: wait this long before reading the spool back */
#define OUTBOX_BACKOFF_BASE_S	1.0	/* first retry after ~1 s, then 2, 4, 8... */
#define OUTBOX_BACKOFF_CAP_S	300.0	/* never more than 5 min between tries */
#define OUTBOX_POLL_MS		5000	/* the thread polls this often even without a NOTIFY */
#define OUTBOX_BATCH_ROWS	500	/* at most this many rows coalesce into one request */
#define OUTBOX_MAX_BATCHES	64	/* requests per outbox_drain_once() call */

/* What a read-back says about a use whose outcome was unknown (outbox_judge()). */
enum outbox_verdict {
	OUTBOX_APPLIED,		/* used_weight moved by the amount sent (or by Spoolman's clamp at 0) */
	OUTBOX_NOT_APPLIED,	/* used_weight has not moved: safe to send again */
	OUTBOX_AMBIGUOUS	/* it moved by something else: someone else used the spool meanwhile */
};

/*
 * The drain thread's settings.  conninfo, worker_id, stop and key are borrowed and must outlive the thread.
 * worker_id must be unique to this thread (host:pid:start time, say); it is stored in claimed_by.
 */
struct outbox_ctx {
	const char	*conninfo;		/* libpq conninfo of the database (conf_database()) */
	const char	*worker_id;
	atomic_int	*stop;			/* the thread returns soon after it becomes non-zero */
	int		 poll_ms;		/* 0: OUTBOX_POLL_MS */
	long		 spoolman_timeout_ms;	/* 0: the client's default (15 s); for tests */
	const struct secret_key *key;		/* decrypts an encrypted spoolman_password (NULL: none) */
};

/*
 * One pass of the drain on db (a connection not inside a transaction; no transaction is left open):
 *  1. every inflight claim whose lease has expired (a crash, a timeout that has settled) is taken over and
 *     settled: never sent (no pre_used_weight) -> pending at once; else the spool is read back and judged;
 *  2. then, up to OUTBOX_MAX_BATCHES times, the due pending rows of one spool (of one kind: grams, or length
 *     only) are claimed under one claim_token, the spool's used_weight is read and committed as
 *     pre_used_weight, their sum is sent in one PUT /use, and the rows are finished, fenced by the token.
 * Each time rows become done, the spool's used_weight Spoolman reported goes into the spool's spool_cache row,
 * if there is one (best effort: a failure is only logged).
 * sm NULL (Spoolman not configured) does only what needs no Spoolman.  *sent is the number of rows that became
 * done.  Returns 0, or -1 with err set on a database error (the rows involved are left to the lease rules).
 * Logs one line per event on stderr.
 */
int	 outbox_drain_once(struct db *, struct spoolman *, const char *worker_id, int *sent, char *err)
	    __attribute__((warn_unused_result));

/*
 * The drain thread (pthread_create(..., outbox_thread_main, ctx)): its own database connection, LISTEN
 * spoolkeeper_outbox and spoolkeeper_settings, drains when notified, when a retry or a lease falls due, and every
 * poll_ms; re-reads the Spoolman settings when notified and on every poll.  Reconnects (with backoff) when the
 * database goes away.  Returns NULL once *ctx->stop is set.
 */
void	*outbox_thread_main(void *ctx);

/*
 * The read-back rule: pre is used_weight before the request, now the value read back, sent_g the grams the
 * request asked for.  Spoolman applies max(pre + sent_g, 0).  With tol = 1e-6 g + 1e-9 x (|pre| + |sent_g|):
 * APPLIED when now is within tol of max(pre + sent_g, 0) (also when that equals pre: the use changes nothing
 * either way), NOT_APPLIED when now is within tol of pre, else AMBIGUOUS.
 */
enum outbox_verdict outbox_judge(double pre, double now, double sent_g);

/*
 * Seconds to wait before try number attempts + 1: min(cap, base x 2^(attempts - 1)) x (0.8 + 0.4 u), at most the
 * cap, where u in [0, 1) is the jitter draw.
 */
double	 outbox_backoff_s(int attempts, double u);

#endif
