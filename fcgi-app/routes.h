/* routes.h: the API's route table and the handlers it names (one handler file per group of routes). */
#ifndef WEB_ROUTES_H
#define WEB_ROUTES_H

struct ctx;

/*
 * One route: a method and a path pattern under /api/v1 (the whole path with ROUTE_ROOT) where each "{}" segment matches a whole number (1 to
 * 2^53, or 0 to 2^53 for a segment written "{0}"), stored in ctx.id[] in order.
 */
struct route {
	const char	*method;
	const char	*pattern;
	void		(*handler)(struct ctx *);
	int		 flags;		/* ROUTE_* of app.h */
};

/* The table, ended by a row of NULLs. */
extern const struct route routes[];

/* h_session.c: log in and out, who am I, first setup. */
void	h_session_create(struct ctx *);
void	h_session_delete(struct ctx *);
void	h_me(struct ctx *);
void	h_me_password(struct ctx *);
void	h_setup_get(struct ctx *);
void	h_setup_post(struct ctx *);

/* h_users.c: user administration (admin). */
void	h_users_list(struct ctx *);
void	h_users_create(struct ctx *);
void	h_users_get(struct ctx *);
void	h_users_update(struct ctx *);
void	h_users_password(struct ctx *);
void	h_users_access_put(struct ctx *);
void	h_users_access_delete(struct ctx *);

/* h_history.c: prints (list, one, whose it is) and usage totals; visible printers only. */
void	h_prints_list(struct ctx *);
void	h_prints_get(struct ctx *);
void	h_prints_update(struct ctx *);
void	h_usage(struct ctx *);

/* h_outbox.c: the Spoolman outbox (admin). */
void	h_outbox_list(struct ctx *);
void	h_outbox_retry(struct ctx *);
void	h_outbox_discard(struct ctx *);

/* h_location_updates.c: spool location updates, those Spoolman refused (admin). */
void	h_location_list(struct ctx *);
void	h_location_retry(struct ctx *);
void	h_location_discard(struct ctx *);

/* h_printers.c: printers (list and read: what the user may see; changes: admin). */
void	h_printers_list(struct ctx *);
void	h_printers_create(struct ctx *);
void	h_printers_get(struct ctx *);
void	h_printers_update(struct ctx *);
void	h_printers_delete(struct ctx *);

/* h_status.c: live status of one printer and the dashboard of all the user may see. */
void	h_status_get(struct ctx *);
void	h_status_all(struct ctx *);

/* h_trays.c: the trays of a printer and which spool is in each (changes: operator or admin). */
void	h_trays_list(struct ctx *);
void	h_trays_put(struct ctx *);
void	h_trays_delete(struct ctx *);

/* h_tray_tags.c: POST .../trays/{tray}/link-tag: writes a tray's RFID tag onto a Spoolman spool (operator, admin). */
void	h_tray_tags_link(struct ctx *);

/* h_spools.c: Spoolman's spools through the server: search, one spool, a scanned code. */
void	h_spools_search(struct ctx *);
void	h_spools_get(struct ctx *);
void	h_spools_lookup(struct ctx *);

/* h_settings.c: the Spoolman settings (admin). */
void	h_settings_get(struct ctx *);
void	h_settings_put(struct ctx *);
void	h_settings_check(struct ctx *);

/* h_health.c: liveness without login. */
void	h_health(struct ctx *);

/* h_metrics.c: GET /metrics, Prometheus text format (no login; nginx admits this host only). */
void	h_metrics(struct ctx *);

#endif
