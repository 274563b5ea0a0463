/* spools.h: Spoolman for the handlers: a client from the settings, spools fetched and cached, their JSON shapes. */
#ifndef WEB_SPOOLS_H
#define WEB_SPOOLS_H

#include <jansson.h>

#include "spoolman_client.h"

struct ctx;

#define SPOOL_ID_MAX	2147483647LL	/* spool ids are integer columns */

/*
 * The spool as the API shows it, built in SQL from x, a jsonb holding Spoolman's spool object as returned
 * (spool_cache.spool): SPOOL_INFO_PAIRS are the json_build_object pairs of the short form in trays and the
 * dashboard (with the id and since added there), SPOOL_FULL_PAIRS those of the spool routes.  Keys Spoolman
 * left out (it omits nulls) come back as null.
 */
#define SPOOL_INFO_PAIRS(x) \
	"'name', " x "#>'{filament,name}', 'vendor', " x "#>'{filament,vendor,name}', " \
	"'material', " x "#>'{filament,material}', 'color_hex', " x "#>'{filament,color_hex}', " \
	"'remaining_weight', " x "->'remaining_weight'"
#define SPOOL_FULL_PAIRS(x) \
	"'id', (" x "->>'id')::integer, " SPOOL_INFO_PAIRS(x) ", " \
	"'multi_color_hexes', " x "#>'{filament,multi_color_hexes}', 'filament_id', " x "#>'{filament,id}', " \
	"'used_weight', " x "->'used_weight', 'initial_weight', " x "->'initial_weight', " \
	"'location', " x "->'location', 'lot_nr', " x "->'lot_nr', 'comment', " x "->'comment', " \
	"'archived', coalesce(" x "->'archived', 'false'::jsonb), 'last_used', " x "->'last_used'"

/* What a request could learn from Spoolman about one spool (the "spoolman" of a tray change). */
enum spools_check {
	SPOOLS_CHECK_OK,		/* Spoolman has the spool */
	SPOOLS_CHECK_NOT_CONFIGURED,	/* no spoolman_url */
	SPOOLS_CHECK_UNREACHABLE,	/* no connection or no answer in time */
	SPOOLS_CHECK_ERROR,		/* a bad answer, or settings that cannot be used */
	SPOOLS_CHECK_NOT_FOUND		/* Spoolman says there is no such spool */
};

/*
 * A Spoolman client from the settings spoolman_url, spoolman_user and spoolman_password (an encrypted "v1:..."
 * password is decrypted with app->key, purpose SECRET_SPOOLMAN_PASSWORD), timing out after
 * app->spoolman_timeout_ms.  Returns 1 with *out new (spoolman_client_free() it); 0 when no URL is set; -2 when
 * the settings cannot be used (the password does not decrypt: c->err says why); nothing answered for these.
 * Returns -1 after answering (a database error).
 */
int	 spools_client(struct ctx *, struct spoolman_client **out) __attribute__((warn_unused_result));

/*
 * Answers for spools_client() results 0 and -2: 503 "spoolman_not_configured" with a sentence.  Returns -1.
 */
int	 spools_fail_config(struct ctx *, int client_rc);

/*
 * Answers a failed Spoolman call: 504 "spoolman_unreachable" after a timeout, 502 "spoolman_unreachable" when no
 * connection could be made, 502 "spoolman_error" for a bad answer, 404 "not_found" for NOT_FOUND (detail
 * not_found, or err).  err goes to the detail (it holds no password).  Returns -1.
 */
int	 spools_fail(struct ctx *, enum spoolman_client_result, const char *err, const char *not_found);

/*
 * GET /spool/{id}: on SPOOLMAN_CLIENT_OK *out is Spoolman's spool object (new), checked to be an object whose
 * "id" is id; an answer of another shape is SPOOLMAN_CLIENT_BAD_ANSWER.  err as spoolman_client_get().
 */
enum spoolman_client_result spools_fetch(struct spoolman_client *, long long id, json_t **out, char *err);

/*
 * Looks spool id up in Spoolman for a tray change: *spool becomes its object (new) on SPOOLS_CHECK_OK, else NULL.
 * Returns the outcome, or -1 after answering (a database error).
 */
int	 spools_check(struct ctx *, long long id, json_t **spool) __attribute__((warn_unused_result));

/* The word of a check for the answer: "ok", "not_configured", "unreachable", "error", "not_found". */
const char *spools_check_name(int);

/* 1 if spool is a Spoolman spool object the app can use: an object whose "id" is from 1 to SPOOL_ID_MAX. */
int	 spools_valid(const json_t *spool);

/*
 * Stores spools (a JSON array of Spoolman spool objects that spools_valid() accepts, borrowed) in spool_cache
 * and returns them in order as the API shows them: SPOOL_FULL_PAIRS plus "in_tray" (the spool has an open tray
 * assignment) and "tray" (that printer_id, printer name, tray, label and since when the user may see the
 * printer, else null).  A new JSON array, or NULL after answering.
 */
json_t	*spools_store(struct ctx *, json_t *spools);

/*
 * Parses a scanned or typed spool code into its id: "web+spoolman:s-<id>" (any case; a space for the + as an
 * undecoded query string gives it), a URL ".../spool/show/<id>" (http or https, any base path, a trailing /),
 * or the id itself ("12" or "#12").  Returns 0 with *id set, or -1 with err (ERRBUF_LEN) set (a filament code
 * says so).
 */
int	 spools_parse_code(const char *code, long long *id, char *err) __attribute__((warn_unused_result));

#endif
