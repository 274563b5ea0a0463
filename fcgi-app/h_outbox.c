/* h_outbox.c: the Spoolman outbox for admins: its rows, and sending one again or giving it up. */

#include "app.h"
#include "history.h"
#include "review.h"
#include "routes.h"

/* An outbox row o with its spool's name (spool_cache sc) and the print and printer of its ledger row. */
#define OUTBOX_FIELDS \
	"'id', o.id, 'spool_id', o.spool_id, 'spool_name', " HISTORY_SPOOL_NAME("sc") ", 'use_g', o.use_g, " \
	"'use_mm', o.use_mm, 'state', o.state, 'attempts', o.attempts, 'next_attempt_at', o.next_attempt_at, " \
	"'last_error', o.last_error, 'resolution', o.resolution, 'created_at', o.created_at, " \
	"'updated_at', o.updated_at, 'done_at', o.done_at, 'ledger_id', o.ledger_id, 'job_id', l.job_id, " \
	"'layer', l.layer, 'printer_id', j.printer_id, 'printer', p.name, 'print_name', j.subtask_name"

#define OUTBOX_FROM(src) \
	" FROM " src " o LEFT JOIN usage_ledger l ON l.id = o.ledger_id " \
	"LEFT JOIN print_jobs j ON j.id = l.job_id LEFT JOIN printers p ON p.id = j.printer_id " \
	"LEFT JOIN spool_cache sc ON sc.spool_id = o.spool_id "

static const char outbox_list_sql[] = REVIEW_LIST_SQL("spoolman_outbox", "o", OUTBOX_FIELDS, OUTBOX_FROM("page"),
    "(SELECT json_build_object('pending', count(*) FILTER (WHERE state = 'pending'), "
    "    'inflight', count(*) FILTER (WHERE state = 'inflight'), "
    "    'needs_review', count(*) FILTER (WHERE state = 'needs_review')) "
    "  FROM spoolman_outbox WHERE state IN ('pending', 'inflight', 'needs_review'))");

static const char outbox_row_sql[] =
    "SELECT json_build_object(" OUTBOX_FIELDS ")" OUTBOX_FROM("spoolman_outbox") "WHERE o.id = $1::bigint";

static const char *const outbox_states[] = { "pending", "inflight", "needs_review", "done", "discarded", NULL };

void
h_outbox_list(struct ctx *c)
{
	review_list(c, outbox_states, "pending,inflight,needs_review", outbox_list_sql);
}

static const char *const outbox_takes[] = { "pending", "needs_review", NULL };

static const struct review_kind outbox_kind = {
	"outbox row", "pending and needs_review rows", outbox_takes, "use", outbox_row_sql,
	"SELECT o.state, outbox_retry(o.id), NULL FROM spoolman_outbox o WHERE o.id = $1::bigint",
	"SELECT o.state, outbox_discard(o.id, 'discarded by ' || $3::text || ': ' || $2::text || "
	"    coalesce(' (last error: ' || o.last_error || ')', '')), NULL FROM spoolman_outbox o WHERE o.id = $1::bigint"
};

void
h_outbox_retry(struct ctx *c)
{
	review_retry(c, &outbox_kind);
}

void
h_outbox_discard(struct ctx *c)
{
	review_discard(c, &outbox_kind);
}
