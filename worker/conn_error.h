/* conn_error.h: a printer's last connection problem in plain words, in printer_status.connection_error. */
#ifndef WORKER_CONN_ERROR_H
#define WORKER_CONN_ERROR_H

#include "db.h"

/*
 * Stores printer_id's problem: kind "auth", "tls" or "unreachable" and message, "since" now unless the same
 * problem is already stored (then it is kept); kind NULL clears it.  Makes the printer_status row when the
 * printer never answered.  0, or -1 with err set.
 */
int	 conn_error_store(struct db *, long long printer_id, const char *worker_id, const char *kind,
	    const char *message, char *err);

#endif
