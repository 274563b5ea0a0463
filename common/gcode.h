/* gcode.h: streaming interpreter of Bambu/Orca gcode into filament per layer per filament. */
#ifndef COMMON_GCODE_H
#define COMMON_GCODE_H

#include <stdatomic.h>
#include <stddef.h>

#include "plan.h"

/* Firmware judge flags (M1002 judge_flag <name>, M622 J<v>) the job decides. */
enum gcode_flag {
	GCODE_FLAG_EXTRUDE_CALI,	/* extrude_cali_flag (project_file flow_cali) */
	GCODE_FLAG_TIMELAPSE,		/* timelapse_record_flag (timelapse) */
	GCODE_FLAG_BED_LEVELING,	/* g29_before_print_flag (bed_leveling) */
	GCODE_FLAG__MAX
};

struct gcode_opts {
	int	 use_ams;			/* 0: the job skips M620 S<n>A blocks */
	int	 flags[GCODE_FLAG__MAX];	/* 0, 1, or -1 for unknown (taken as 0) */
	int	 reference;			/* 1: the byte-wise parser only (tests) */
};

struct gcode;

/* Fills opts with the defaults: AMS in use, every flag unknown. */
void		 gcode_opts_default(struct gcode_opts *opts);

/* Returns a new interpreter (free with gcode_free()); opts is copied, NULL means defaults. */
struct gcode	*gcode_new(const struct gcode_opts *opts);
void		 gcode_free(struct gcode *);

/*
 * Feeds the next len bytes of the file (any split, lines may span calls).
 * Returns 0, or -1 with a one-line message in err (ERRBUF_LEN bytes) for
 * input that is not gcode (NUL bytes, over-long command lines) or carries
 * absurd numbers (non-finite or out-of-range E, X, Y, Z, layer).  After -1
 * the interpreter must only be freed.
 */
int		 gcode_feed(struct gcode *, const char *buf, size_t len, char *err)
		    __attribute__((warn_unused_result));

/*
 * Ends the input and fills plan: cells, marks, layer_count, layer_source,
 * header_layer_count, slicer, and per filament mm, slicer_mm, header_mm,
 * density and diameter (from the gcode header or config block).  Returns 0,
 * or -1 with err set when the input held no gcode at all.
 */
int		 gcode_finish(struct gcode *, struct plan *plan, char *err)
		    __attribute__((warn_unused_result));

/*
 * Moves parsed ahead: while gcode_feed_moves() interprets one piece in one
 * thread, gcode_premove() can parse the plain G0/G1 moves of the next in
 * another, which halves the interpreter's work on a typical file.
 */
struct gcode_moves;

/* Returns room for the moves of a piece of up to len bytes (free with gcode_moves_free()). */
struct gcode_moves *gcode_moves_new(size_t len);
void		 gcode_moves_free(struct gcode_moves *);

/*
 * Parses the plain moves of the whole lines of buf (len bytes, at most the
 * len given to gcode_moves_new()) into mv, replacing what it held, and
 * notes where the other lines are.  With mid_line set, buf continues a line
 * of the piece before it (which did not end in a newline) and its first
 * line is left alone; gcode_feed_moves() uses mv only if that was so.
 * Stops early, keeping what it has parsed, once *stop is set or mv is full,
 * and before the first 64-byte block or line holding a NUL byte:
 * gcode_feed_moves() skips the bytes of the moves it is given, and those of
 * the lines between them need no look for NUL either.  Touches nothing but
 * mv, so it may run beside a gcode_feed_moves() on another piece; moves it
 * cannot parse are left to gcode_feed_moves().
 */
void		 gcode_premove(struct gcode_moves *mv, const char *buf,
		    size_t len, int mid_line, const atomic_int *stop);

/* The number of moves the last gcode_premove() parsed. */
size_t		 gcode_moves_count(const struct gcode_moves *);

/*
 * gcode_feed() with the moves gcode_premove() parsed from the same buf (or
 * NULL): the same result, error and line numbers in any case.
 */
int		 gcode_feed_moves(struct gcode *, const char *buf, size_t len,
		    const struct gcode_moves *mv, char *err)
		    __attribute__((warn_unused_result));

/* The number of lines read so far (for messages). */
size_t		 gcode_line(const struct gcode *);

#endif
