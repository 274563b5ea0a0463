/* spool_patch.h: sends the queued spool location changes (table spool_patches) to Spoolman, retried until they land. */
#ifndef WORKER_SPOOL_PATCH_H
#define WORKER_SPOOL_PATCH_H

#include "db.h"
#include "spoolman.h"

/*
 * One pass (the outbox thread): for each spool with a due pending row, the newest row wins (older pending rows of
 * that spool become 'superseded'), and PATCH /api/v1/spool/{id} {"location": ...} is sent on a connection of its
 * own; nothing else of the spool is ever written (never a weight).  A PATCH of a location is idempotent, so a row
 * whose outcome is unknown, or that was not sent (Spoolman down), is simply sent again after a backoff; a 404 or
 * another 4xx puts it in 'needs_review'.  *sent counts the rows done.  0, or -1 with err on a database failure.
 */
int	 spool_patch_drain_once(struct db *, struct spoolman *, int *sent, char *err);

#endif
