/* conn_error.c: a printer's last connection problem in plain words, in printer_status.connection_error. */
#include <stdio.h>

#include "conn_error.h"

#define STORE_SQL \
	"INSERT INTO printer_status (printer_id, worker_id, connected, connection_error) " \
	"VALUES ($1::bigint, $2, false, CASE WHEN $3::text IS NULL THEN NULL " \
	"    ELSE jsonb_build_object('kind', $3::text, 'message', $4::text, 'since', now()) END) " \
	"ON CONFLICT (printer_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, updated_at = now(), " \
	"    connection_error = CASE WHEN printer_status.connection_error->>'kind' IS NOT DISTINCT FROM $3::text " \
	"        AND printer_status.connection_error->>'message' IS NOT DISTINCT FROM $4::text " \
	"        THEN printer_status.connection_error ELSE EXCLUDED.connection_error END"

int
conn_error_store(struct db *db, long long printer_id, const char *worker_id, const char *kind,
    const char *message, char *err)
{
	char		 pid[32];
	const char	*p[4] = { pid, worker_id, kind, kind != NULL ? message : NULL };

	snprintf(pid, sizeof(pid), "%lld", printer_id);
	return db_exec_prepared(db, STORE_SQL, 4, p, NULL, err);
}
