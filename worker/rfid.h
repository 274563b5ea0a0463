/* rfid.h: RFID trays: the tags a printer reports go to tray_tags; the outbox thread matches them to Spoolman spools. */
#ifndef WORKER_RFID_H
#define WORKER_RFID_H

#include "bambu_status.h"
#include "db.h"
#include "jobs.h"
#include "spoolman.h"

#define RFID_FIELD_DEFAULT	"tag"	/* the Spoolman spool extra field holding the tag (setting rfid_field) */
#define RFID_TAG_LEN		33	/* 32 hex digits and the NUL */

/*
 * The identity of the spool in a tray, as upper-case hex into tag (RFID_TAG_LEN bytes): tray_uuid when it is
 * set and not all zeros (the spool's own id, the same on both of its RFID chips), else tag_uid when set and not
 * all zeros.  Returns 1 with tag set, or 0 (no tag: tag "").
 */
int	 rfid_identity(const struct bambu_tray *, char *tag);

/*
 * The tagged trays of a status as the JSON text rfid_sync() takes: [{"tray", "tag", "tag_uid", "tray_uuid",
 * "material", "color"}, ...] in tray order; only loaded trays with a valid tray id and an identity.  New (free()).
 */
char	*rfid_tags_json(const struct bambu_status *);

/*
 * Writes the tagged trays of the status to tray_tags (SQL rfid_sync, under the printer's lease) when they differ
 * from *last (the text last written, new, owned by the caller; NULL: nothing written yet), and then replaces
 * *last.  Trays whose tag left lose their tag assignment in the same transaction.  0, or -1 with err set (*last
 * unchanged, so the next report tries again).
 */
int	 rfid_observe(struct db *, const struct jobs_lease *, const struct bambu_status *, char **last,
	    char *err);

/*
 * One pass of the resolver (the outbox thread): looks up in Spoolman the tags of tray_tags that are due (new,
 * changed, or unknown for a minute), with the extra.<field> filter where the server has it (0.25 and later), else
 * a cached listing of every spool, and applies the result (SQL rfid_apply: assign by tag, unknown, or conflict).
 * Creates the extra field (setting rfid_field) through the field API when it is missing.  *done counts the trays
 * resolved.  0, or -1 with err set on a database failure (Spoolman failures are kept in the rows and retried with
 * backoff).
 */
int	 rfid_drain_once(struct db *, struct spoolman *, int *done, char *err);

/* Frees what the resolver of this thread keeps (the cached listing); call when the outbox thread ends. */
void	 rfid_thread_done(void);

/* Compares a Spoolman extra value (a JSON-encoded string) with tag, case-insensitively.  1 when equal. */
int	 rfid_extra_matches(const char *raw, const char *tag);

#endif
