/* routes.c: the table of every API route: method, path under /api/v1, handler and what it requires. */
#include <stddef.h>

#include "app.h"
#include "routes.h"

const struct route routes[] = {
	/* Session and first setup */
	{ "POST",	"/session",			h_session_create,	ROUTE_PUBLIC | ROUTE_NO_CSRF },
	{ "DELETE",	"/session",			h_session_delete,	0 },
	{ "GET",	"/me",				h_me,			0 },
	{ "POST",	"/me/password",			h_me_password,		0 },
	{ "GET",	"/setup",			h_setup_get,		ROUTE_PUBLIC },
	{ "POST",	"/setup",			h_setup_post,		ROUTE_PUBLIC | ROUTE_NO_CSRF },

	/* Users (admin) */
	{ "GET",	"/users",			h_users_list,		ROUTE_ADMIN },
	{ "POST",	"/users",			h_users_create,		ROUTE_ADMIN },
	{ "GET",	"/users/{}",			h_users_get,		ROUTE_ADMIN },
	{ "PATCH",	"/users/{}",			h_users_update,		ROUTE_ADMIN },
	{ "POST",	"/users/{}/password",		h_users_password,	ROUTE_ADMIN },
	{ "PUT",	"/users/{}/printers/{}",	h_users_access_put,	ROUTE_ADMIN },
	{ "DELETE",	"/users/{}/printers/{}",	h_users_access_delete,	ROUTE_ADMIN },

	/* History and usage (h_history.c) */
	{ "GET",	"/prints",			h_prints_list,		0 },
	{ "GET",	"/prints/{}",			h_prints_get,		0 },
	{ "PATCH",	"/prints/{}",			h_prints_update,	0 },
	{ "GET",	"/usage",			h_usage,		0 },

	/* Outbox (admin; h_outbox.c) */
	{ "GET",	"/outbox",			h_outbox_list,		ROUTE_ADMIN },
	{ "POST",	"/outbox/{}/retry",		h_outbox_retry,		ROUTE_ADMIN },
	{ "POST",	"/outbox/{}/discard",		h_outbox_discard,	ROUTE_ADMIN },
	/* Location updates (admin; h_location_updates.c) */
	{ "GET",	"/location-updates",		h_location_list,	ROUTE_ADMIN },
	{ "POST",	"/location-updates/{}/retry",	h_location_retry,	ROUTE_ADMIN },
	{ "POST",	"/location-updates/{}/discard",	h_location_discard,	ROUTE_ADMIN },

	/* Printers, their live status and trays */
	{ "GET",	"/printers",			h_printers_list,	0 },
	{ "POST",	"/printers",			h_printers_create,	ROUTE_ADMIN },
	{ "GET",	"/printers/{}",			h_printers_get,		0 },
	{ "PATCH",	"/printers/{}",			h_printers_update,	ROUTE_ADMIN },
	{ "DELETE",	"/printers/{}",			h_printers_delete,	ROUTE_ADMIN },
	{ "GET",	"/printers/{}/status",		h_status_get,		0 },
	{ "GET",	"/status",			h_status_all,		0 },
	{ "GET",	"/printers/{}/trays",		h_trays_list,		0 },
	{ "PUT",	"/printers/{}/trays/{0}",	h_trays_put,		0 },
	{ "DELETE",	"/printers/{}/trays/{0}",	h_trays_delete,		0 },
	{ "POST",	"/printers/{}/trays/{0}/link-tag", h_tray_tags_link,	0 },

	/* Spools (Spoolman through the server) */
	{ "GET",	"/spools",			h_spools_search,	0 },
	{ "GET",	"/spools/lookup",		h_spools_lookup,	0 },
	{ "GET",	"/spools/{}",			h_spools_get,		0 },

	/* Settings (admin) */
	{ "GET",	"/settings",			h_settings_get,		ROUTE_ADMIN },
	{ "PUT",	"/settings",			h_settings_put,		ROUTE_ADMIN },
	{ "POST",	"/settings/check",		h_settings_check,	ROUTE_ADMIN },

	/* Health */
	{ "GET",	"/health",			h_health,		ROUTE_PUBLIC | ROUTE_NO_SESSION },
	/* Prometheus metrics: the whole path is /metrics (ROUTE_ROOT), not one under /api/v1 (h_metrics.c) */
	{ "GET",	"/metrics",			h_metrics,		ROUTE_PUBLIC | ROUTE_NO_SESSION | ROUTE_ROOT },

	{ NULL, NULL, NULL, 0 }
};
