/* h_location_updates.c: the spool location updates for admins: those Spoolman refused, sent again or given up. */

#include "app.h"
#include "history.h"
#include "review.h"
#include "routes.h"

/* A spool_patches row p with its spool's name (spool_cache sc), and whether a later change of the spool exists. */
#define LOCATION_FIELDS \
	"'id', p.id, 'spool_id', p.spool_id, 'spool_name', " HISTORY_SPOOL_NAME("sc") ", 'location', p.location, " \
	"'reason', p.reason, 'state', p.state, 'attempts', p.attempts, 'next_attempt_at', p.next_attempt_at, " \
	"'last_error', p.last_error, 'created_at', p.created_at, 'done_at', p.done_at, " \
	"'later', EXISTS (SELECT 1 FROM spool_patches n WHERE n.spool_id = p.spool_id AND n.id > p.id)"

#define LOCATION_FROM(src)	" FROM " src " p LEFT JOIN spool_cache sc ON sc.spool_id = p.spool_id "

static const char location_list_sql[] = REVIEW_LIST_SQL("spool_patches", "p", LOCATION_FIELDS,
    LOCATION_FROM("page"),
    "(SELECT json_build_object('pending', count(*) FILTER (WHERE state = 'pending'), "
    "    'needs_review', count(*) FILTER (WHERE state = 'needs_review')) "
    "  FROM spool_patches WHERE state IN ('pending', 'needs_review'))");

static const char location_row_sql[] =
    "SELECT json_build_object(" LOCATION_FIELDS ")" LOCATION_FROM("spool_patches") "WHERE p.id = $1::bigint";

static const char *const location_states[] = { "pending", "needs_review", "done", "superseded", "discarded", NULL };

void
h_location_list(struct ctx *c)
{
	review_list(c, location_states, "pending,needs_review", location_list_sql);
}

static const char *const location_takes[] = { "needs_review", NULL };

/* Retry only takes the latest row of a spool (spool_patch_retry()); why not, when a later one exists. */
static const struct review_kind location_kind = {
	"location update", "needs_review rows", location_takes, "location", location_row_sql,
	"SELECT p.state, spool_patch_retry(p.id), CASE WHEN p.state = 'needs_review' AND EXISTS (SELECT 1 "
	"    FROM spool_patches n WHERE n.spool_id = p.spool_id AND n.id > p.id) THEN 'spool ' || p.spool_id || "
	"    ' has changed place since; only its latest location update can be sent again' END "
	"  FROM spool_patches p WHERE p.id = $1::bigint",
	"SELECT p.state, spool_patch_discard(p.id, 'discarded by ' || $3::text || ': ' || $2::text || "
	"    coalesce(' (last error: ' || p.last_error || ')', '')), NULL FROM spool_patches p WHERE p.id = $1::bigint"
};

void
h_location_retry(struct ctx *c)
{
	review_retry(c, &location_kind);
}

void
h_location_discard(struct ctx *c)
{
	review_discard(c, &location_kind);
}
