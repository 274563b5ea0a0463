/* bambu_state.h: one printer's full `print` document, kept from its MQTT reports (full replaces, deltas merge). */
#ifndef COMMON_BAMBU_STATE_H
#define COMMON_BAMBU_STATE_H

#include <stddef.h>

#include <jansson.h>

#include "bambu_project.h"

#define BAMBU_REPORT_MAX	(1024 * 1024)	/* longest payload accepted */
#define BAMBU_DEPTH_MAX		32	/* deepest nesting of a print object */
#define BAMBU_ARRAY_MAX		64	/* AMS units, trays per unit, extruders */
#define BAMBU_WORD_LEN		32

struct bambu_state;

/* What one report was. */
enum bambu_kind {
	BAMBU_KIND_FULL,	/* a full push_status: replaced the state */
	BAMBU_KIND_DELTA,	/* a push_status delta: merged into the state */
	BAMBU_KIND_PROJECT,	/* print.command "project_file": ev->project */
	BAMBU_KIND_COMMAND,	/* another print.command (gcode_line, stop, ...) */
	BAMBU_KIND_OTHER,	/* another module (info, system, mc_print, ...) */
	BAMBU_KIND__MAX
};

/* A report's kind and names; nothing in it points into the payload or the state. */
struct bambu_event {
	enum bambu_kind	 kind;
	char		 module[BAMBU_WORD_LEN];	/* "print", "info", ... or "" */
	char		 command[BAMBU_WORD_LEN];	/* module.command, "" if none */
	char		 result[BAMBU_WORD_LEN];	/* module.result, "" if none */
	char		 sequence_id[BAMBU_WORD_LEN];
	struct bambu_project project;	/* BAMBU_KIND_PROJECT only */
};

/* Returns a new, empty state (free with bambu_state_free()); never NULL. */
struct bambu_state *bambu_state_new(void);

/* Frees st and the document it holds; NULL is allowed. */
void	 bambu_state_free(struct bambu_state *st);

/* Forgets the document (after a reconnect, before the next pushall). */
void	 bambu_state_reset(struct bambu_state *st);

/*
 * Reads one report, `len` bytes of JSON at payload (not NUL-terminated, at
 * most BAMBU_REPORT_MAX), as the printer's report topic carries it, and fills
 * *ev.  A push_status report (print.command "push_status", or print without
 * a command) with "msg": 0, or with no msg and command "push_status",
 * replaces the state; any other push_status is a delta and is merged
 * (docs/bambu-mqtt.md, "Merge rules").  Other commands and modules leave the
 * state as it is.  Returns 0, or -1 with err set for a payload that is not
 * JSON, not an object, nested too deep, or has a known field of the wrong
 * type; the state is then unchanged.
 */
int	 bambu_state_feed(struct bambu_state *st, const void *payload,
	    size_t len, struct bambu_event *ev, char *err)
	    __attribute__((warn_unused_result));

/* Returns the merged print object (borrowed: valid until the next feed, reset or free). */
const json_t *bambu_state_print(const struct bambu_state *st);

/* Returns 1 once a full report has been merged since new or reset, else 0. */
int	 bambu_state_complete(const struct bambu_state *st);

/* Returns a static name for kind ("full", "delta", ...). */
const char *bambu_state_kind_name(enum bambu_kind kind);

#endif
