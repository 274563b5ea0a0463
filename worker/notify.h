/* notify.h: the worker's notification thread: preflight and runout forecasts, then webhook deliveries. */
#ifndef WORKER_NOTIFY_H
#define WORKER_NOTIFY_H

#include <stdatomic.h>

struct secret_key;

#define NOTIFY_POLL_MS		1000	/* a pass at least this often */
#define NOTIFY_RELOAD_S		10	/* settings re-read this often even without a NOTIFY */
#define NOTIFY_MAX_DELIVERIES	20	/* webhook events per pass */

/*
 * The thread's settings; conninfo, worker_id, stop and key are borrowed and must outlive the thread.  The
 * environment may change the webhook retry policy (tests): SPOOLKEEPER_WEBHOOK_MAX_ATTEMPTS (1..100) and
 * SPOOLKEEPER_WEBHOOK_BACKOFF_S (0.01..3600), read by notify_ctx_init().
 */
struct notify_ctx {
	const char		*conninfo;
	const char		*worker_id;
	atomic_int		*stop;
	const struct secret_key	*key;
	int			 max_attempts;
	double			 backoff_s;
};

/* Fills in the retry policy from the environment (0: the defaults of webhook.h); a bad value is warned about. */
void	 notify_ctx_init(struct notify_ctx *);

/* pthread entry point: arg is a struct notify_ctx *.  Returns NULL once *stop is set. */
void	*notify_thread_main(void *arg);

#endif
