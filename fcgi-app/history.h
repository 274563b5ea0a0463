/* history.h: SQL fragments shared by the history (h_history.c) and outbox (h_outbox.c) handlers. */
#ifndef WEB_HISTORY_H
#define WEB_HISTORY_H

/*
 * The display name of a spool from its spool_cache row (alias a): "<vendor> <filament name>", else the material;
 * NULL when the spool is not in the cache.
 */
#define HISTORY_SPOOL_NAME(a) \
	"coalesce(nullif(btrim(concat_ws(' ', " a ".spool->'filament'->'vendor'->>'name', " \
	a ".spool->'filament'->>'name')), ''), " a ".spool->'filament'->>'material')"

#endif
