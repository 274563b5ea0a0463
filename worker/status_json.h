/* status_json.h: the live printer status the web app reads, as JSON in printer_status. */
#ifndef WORKER_STATUS_JSON_H
#define WORKER_STATUS_JSON_H

#include <time.h>

#include "bambu_status.h"
#include "db.h"

/* Returns the status document (new text, free() it): state, layers, temperatures, trays, job. */
char	*status_json(const struct bambu_status *s, long long job_id);

/* Upserts the printer's row of printer_status.  0 or -1 with err set. */
int	 status_json_store(struct db *, long long printer_id, const char *doc,
	    int connected, const char *worker_id, time_t last_msg, char *err);

#endif
