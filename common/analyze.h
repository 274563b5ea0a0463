/* analyze.h: one call from a .gcode or .gcode.3mf path to a filament plan. */
#ifndef COMMON_ANALYZE_H
#define COMMON_ANALYZE_H

#include "gcode.h"
#include "plan.h"

struct analyze_opts {
	int			 plate;		/* 1-based, 0 = the file's first plate */
	const char		*member;	/* zip member, NULL = by plate */
	struct gcode_opts	 gcode;
};

/* Fills opts with the defaults: first plate, gcode defaults. */
void	 analyze_opts_default(struct analyze_opts *opts);

/*
 * Analyses the file at path: a zip (.gcode.3mf) is opened with libzip and
 * the chosen plate's gcode is streamed out of it together with its metadata;
 * anything else is streamed as plain gcode.  Memory stays bounded whatever
 * the file size.  Returns 0 and a new plan in *out (plan_free()), or -1 with
 * a one-line message in err (ERRBUF_LEN bytes).
 */
int	 analyze_path(const char *path, const struct analyze_opts *opts,
	    struct plan **out, char *err);

#endif
