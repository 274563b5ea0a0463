/* h_health.c: GET /health (no login): database reachable, freshest worker heartbeat, outbox backlog, Spoolman. */
#include "app.h"
#include "db.h"
#include "routes.h"

void
h_health(struct ctx *c)
{
	json_t	*j;

	if (c->app->db == NULL || db_check(c->app->db, c->err) == -1) {
		j = json_pack("{s:s,s:s}", "status", "error", "database", "unreachable");
		http_reply_json(c->res, 503, j);
		return;
	}
	j = ctx_query_json(c,
	    "SELECT json_build_object('status', 'ok', 'database', 'ok', "
	    "  'worker_heartbeat_age_s', (SELECT round(extract(epoch FROM now() - max(seen_at)))::bigint "
	    "      FROM worker_heartbeats), "
	    "  'workers', (SELECT count(*) FROM worker_heartbeats WHERE seen_at > now() - interval '1 minute'), "
	    "  'outbox_pending', (SELECT count(*) FROM spoolman_outbox WHERE state IN ('pending', 'inflight')), "
	    "  'outbox_oldest_age_s', (SELECT round(extract(epoch FROM now() - min(created_at)))::bigint "
	    "      FROM spoolman_outbox WHERE state IN ('pending', 'inflight')), "
	    "  'outbox_needs_review', (SELECT count(*) FROM spoolman_outbox WHERE state = 'needs_review'), "
	    "  'spoolman_ok', (SELECT ok FROM spoolman_health), "
	    "  'spoolman_since', (SELECT since FROM spoolman_health))",
	    0, NULL, NULL);
	if (j != NULL)
		http_reply_json(c->res, 200, j);
}
