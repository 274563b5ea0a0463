/* notify.c: the worker's notification thread: preflight and runout forecasts, then webhook deliveries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "errbuf.h"
#include "forecast.h"
#include "log.h"
#include "notify.h"
#include "spoolman.h"
#include "webhook.h"

struct notifier {
	const struct notify_ctx	*ctx;
	struct db		*db;
	struct spoolman		*sm;
	struct webhook		*wh;
	time_t			 reloaded_at;
	int			 reload;
	int			 db_down;	/* the database failed and has not worked since */
	char			 trouble[ERRBUF_LEN];	/* the failure logged last */
};

/* A number from the environment within [lo, hi], else 0 (with a warning when set but bad). */
static double
env_num(const char *name, double lo, double hi)
{
	const char	*v = getenv(name);
	char		*end;
	double		 d;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !(d >= lo && d <= hi)) {
		log_msg(LOGL_WARN, 0, 0, "%s=%s is not a number in [%g, %g]; ignored", name, v, lo, hi);
		return 0;
	}
	return d;
}

void
notify_ctx_init(struct notify_ctx *c)
{
	c->max_attempts = (int)env_num("SPOOLKEEPER_WEBHOOK_MAX_ATTEMPTS", 1, 100);
	c->backoff_s = env_num("SPOOLKEEPER_WEBHOOK_BACKOFF_S", 0.01, 3600);
}

/* A repeated failure is logged once, while its text stays the same. */
static void
trouble(struct notifier *n, const char *what, const char *err)
{
	if (strcmp(what, "database") == 0)
		n->db_down = 1;
	if (strcmp(n->trouble, err) != 0)
		log_msg(LOGL_ERROR, 0, 0, "notify: %s: %s (not logged again while it lasts)", what, err);
	snprintf(n->trouble, sizeof(n->trouble), "%s", err);
}

static void
drop_db(struct notifier *n)
{
	db_close(n->db);
	n->db = NULL;
}

static void
reload(struct notifier *n)
{
	char	err[ERRBUF_LEN];
	int	rc;

	n->reload = 0;
	n->reloaded_at = time(NULL);
	if (spoolman_reload(n->db, n->ctx->key, &n->sm, err) == -1)
		trouble(n, "Spoolman settings", err);
	if ((rc = webhook_reload(n->db, n->ctx->key, &n->wh, err)) == -1)
		trouble(n, "webhook settings", err);
	else if (rc == 1)
		log_msg(LOGL_INFO, 0, 0, "notify: webhooks %s%s", n->wh != NULL ? "go to " : "are off (no "
		    "webhook_url)", n->wh != NULL ? webhook_url(n->wh) : "");
}

/* Takes the notifications that arrived; settings changes ask for a reload.  0 or -1 (connection lost). */
static int
take_notifications(struct notifier *n, char *err)
{
	struct db_notify	*m;

	for (;;) {
		if (db_notify_next(n->db, &m, err) == -1)
			return -1;
		if (m == NULL)
			return 0;
		if (strcmp(m->channel, "spoolkeeper_settings") == 0)
			n->reload = 1;
		db_notify_free(m);
	}
}

/* One pass: forecasts, then the due webhook events.  0 or -1 with err (a database failure). */
static int
pass(struct notifier *n, char *err)
{
	struct webhook_policy	pol = { n->ctx->max_attempts, n->ctx->backoff_s };
	time_t			start = time(NULL);
	int			i, rc;

	if (forecast_run_once(n->db, n->sm, n->ctx->worker_id, err) == -1)
		return -1;
	/* Deliveries get about a second per pass, so a slow receiver delays the forecasts by one request at most. */
	for (i = 0; i < NOTIFY_MAX_DELIVERIES && !atomic_load(n->ctx->stop) && time(NULL) - start < 1; i++) {
		if ((rc = webhook_deliver_once(n->db, n->wh, n->ctx->worker_id, &pol, err)) == -1)
			return -1;
		if (rc == 0)
			break;
	}
	return 0;
}

static void
round_once(struct notifier *n)
{
	char	err[ERRBUF_LEN];

	if (n->db == NULL && (db_open(n->ctx->conninfo, &n->db, err) == -1 ||
	    db_listen(n->db, "spoolkeeper_settings", err) == -1)) {
		trouble(n, "database", err);
		drop_db(n);
		return;
	}
	if (n->reload || time(NULL) - n->reloaded_at >= NOTIFY_RELOAD_S)
		reload(n);
	if (pass(n, err) == -1 || db_wait(n->db, NOTIFY_POLL_MS, err) == -1 || take_notifications(n, err) == -1) {
		trouble(n, "database", err);
		drop_db(n);
		return;
	}
	if (n->db_down) {
		n->db_down = 0;
		n->trouble[0] = '\0';
		log_msg(LOGL_INFO, 0, 0, "notify: database: working again");
	}
}

void *
notify_thread_main(void *arg)
{
	struct notifier		n;
	struct timespec		ts = { 1, 0 };

	memset(&n, 0, sizeof(n));
	n.ctx = arg;
	n.reload = 1;
	while (!atomic_load(n.ctx->stop)) {
		round_once(&n);
		if (n.db == NULL && !atomic_load(n.ctx->stop))
			nanosleep(&ts, NULL);
	}
	spoolman_free(n.sm);
	webhook_free(n.wh);
	db_close(n.db);
	return NULL;
}
