/* plan.h: the result of analysing one plate: filament per layer per slicer filament. */
#ifndef COMMON_PLAN_H
#define COMMON_PLAN_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define PLAN_MAX_FILAMENTS	64	/* slicer filament indices 0..63 */
#define PLAN_TEXT_LEN		32

/* One slicer filament (0-based index, the T<n> / M620 S<n>A number). */
struct plan_filament {
	int	 index;
	int	 extrudes;		/* 1 when any physical or slicer E was seen */
	double	 mm;			/* physical rule set (gcode-semantics.md §3.1) */
	double	 slicer_mm;		/* replica of the slicer's counting (§3.2) */
	double	 header_mm;		/* gcode header / Orca footer figure, NAN if absent */
	double	 density;		/* g/cm3, NAN if unknown */
	double	 diameter;		/* mm, NAN if unknown */
	double	 slice_info_m;		/* slice_info.config used_m, NAN if absent */
	double	 slice_info_g;		/* slice_info.config used_g, NAN if absent */
	char	 type[PLAN_TEXT_LEN];	/* "PLA", "" if unknown */
	char	 color[PLAN_TEXT_LEN];	/* "#RRGGBB", "" if unknown */
	char	 tray_info_idx[PLAN_TEXT_LEN];	/* Bambu filament preset, e.g. "GFL99" */
};

/* Physical and slicer-replica mm of one filament in one layer. */
struct plan_cell {
	int	 layer;
	int	 filament;
	double	 mm;
	double	 slicer_mm;
};

/*
 * A progress point: the printer reported `percent` (M73 P) while printing
 * `layer`; the amounts at [first, first + count) of plan->mark_amounts are the
 * physical mm each filament had extruded in that layer up to that point.
 */
struct plan_mark {
	int	 percent;
	int	 layer;
	size_t	 first;
	size_t	 count;
};

struct plan_amount {
	int	 filament;
	double	 mm;
};

struct plan {
	int			 plate;		/* 1-based plate, 0 for plain gcode */
	char			 member[128];	/* zip member analysed, "" for plain gcode */
	char			 slicer[64];	/* "BambuStudio 02.05.00.66", "" if unknown */
	int			 layer_count;	/* highest layer number seen */
	int			 header_layer_count;	/* "; total layer number", -1 */
	int			 layer_source;	/* PLAN_LAYERS_* */
	struct plan_filament	 filaments[PLAN_MAX_FILAMENTS];	/* by index */
	struct plan_cell	*cells;		/* sorted by layer, then filament */
	size_t			 ncells;
	struct plan_mark	*marks;		/* in file order */
	size_t			 nmarks;
	struct plan_amount	*mark_amounts;
	size_t			 nmark_amounts;
};

enum plan_layers {
	PLAN_LAYERS_M73,		/* M73 L<n> */
	PLAN_LAYERS_CHANGE_LAYER,	/* counted "; CHANGE_LAYER" comments */
	PLAN_LAYERS_NONE		/* the file has no layer markers */
};

/* Returns a new, empty plan (all figures NAN or 0); free with plan_free(). */
struct plan	*plan_new(void);
void		 plan_free(struct plan *);

/*
 * Grams of `mm` of filament with the given diameter (mm) and density (g/cm3),
 * exactly as Spoolman converts use_length: density * mm * pi * (d/2)^2 / 1000.
 * Returns NAN when an input is not a finite positive number (mm may be any
 * finite value).
 */
double		 plan_mm_to_grams(double mm, double diameter, double density);

/*
 * Builds the JSON document of `spoolkeeper analyze --json` (see docs/gcode.md).
 * `file` is the name shown in "file".  Returns a new reference.
 */
json_t		*plan_to_json(const struct plan *, const char *file);

/*
 * Writes the same document as plan_to_json(), compact, and a newline to
 * out, one layer at a time so that memory stays flat however many layers
 * there are.  flags are extra json_dumpf() flags (e.g. JSON_REAL_PRECISION);
 * with exactly JSON_REAL_PRECISION(12) the layer and progress objects are
 * formatted here, to the same bytes, much faster than by Jansson.
 * Returns 0, or -1 on a write error.
 */
int		 plan_dump_json(const struct plan *, const char *file, FILE *out,
		    size_t flags);

#endif
