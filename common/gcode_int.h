/* gcode_int.h: state shared by the gcode interpreter's files (not for use outside common/gcode*.c). */
#ifndef COMMON_GCODE_INT_H
#define COMMON_GCODE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gcode.h"
#include "plan.h"

#define GCODE_LINE_MAX		(64 * 1024)	/* longer comment lines are skipped */
#define GCODE_LINE_PAD		64		/* zeroed bytes after the line buffer */
#define GCODE_COND_MAX		32		/* nesting of M622 ... M623 */
#define GCODE_MAX_LAYER		1000000
#define GCODE_MAX_CHUNKS	((size_t)4 << 20)
#define GCODE_MAX_MARKS		100000
#define GCODE_MAX_POS		1e7		/* mm, any axis position */
#define GCODE_MAX_MOVE_E	1e5		/* mm of filament in one move */
#define GCODE_UNIT		1000000	/* fixed-point units per mm */
#define GCODE_PREMOVE_BYTES	16		/* piece bytes per move gcode_premove() can hold */
#define GCODE_NOTOOL		PLAN_MAX_FILAMENTS	/* bucket for E before any T */

/* Position and modes of one view of the machine (physical or slicer replica). */
struct gcode_axes {
	int64_t	 pos[4];		/* X Y Z E, in GCODE_UNIT */
	int	 rel_xyz;		/* G91 */
	int	 rel_e;			/* M83 */
	int	 tool;			/* active filament, GCODE_NOTOOL before any T */
};

/* E accumulated between two boundaries, attributed to (layers, filament). */
struct gcode_chunk {
	int	 m73_layer;
	int	 cl_layer;
	int	 filament;
	double	 mm;
	double	 slicer_mm;
};

/* A change of M73 P, recorded as the number of chunks written before it. */
struct gcode_mark {
	int	 percent;
	int	 m73_layer;
	int	 cl_layer;
	size_t	 nchunks;
};

/* What the header, config block and footer state. */
struct gcode_header {
	char	 slicer[64];
	int	 bs_major;			/* BambuStudio major version, -1 */
	int	 total_layers;			/* -1 if absent */
	double	 lengths[PLAN_MAX_FILAMENTS];	/* header or footer, in list order */
	int	 nlengths;
	int	 ids[PLAN_MAX_FILAMENTS];	/* "; filament: 1,4", 1-based */
	int	 nids;
	double	 density[PLAN_MAX_FILAMENTS];
	int	 ndensity;
	double	 diameter[PLAN_MAX_FILAMENTS];
	int	 ndiameter;
	double	 nozzle_volume;			/* mm3, NAN if absent */
};

enum gcode_block {
	GCODE_BLOCK_NONE,
	GCODE_BLOCK_HEADER,
	GCODE_BLOCK_CONFIG,
	GCODE_BLOCK_EXEC,
	GCODE_BLOCK_FOOTER
};

struct gcode {
	struct gcode_opts	 opts;
	size_t			 lineno;
	char			*line;		/* GCODE_LINE_MAX + GCODE_LINE_PAD bytes */
	size_t			 linelen;
	const char		*lim;		/* readable memory ends here: the buffer of the line being interpreted */
	int			 overlong;	/* dropping the rest of a long line */
	int			 seen_command;	/* any G, M or T line */

	struct gcode_axes	 phys;		/* executed moves only */
	struct gcode_axes	 slic;		/* every move, as the slicer counts */
	int			 diverged;	/* phys and slic may differ */
	int			 first_tool;	/* first executed T, GCODE_NOTOOL */

	enum gcode_block	 block;
	int			 in_wipe, in_flush, in_vflush;
	int			 judge_flag;	/* last M1002 judge_flag, -1 unknown */
	int			 cond_depth;
	uint32_t		 cond_false;	/* bit d: level d is not taken */
	int			 ams_depth;	/* M620 S<n> blocks skipped (no AMS) */

	int			 split_prev;	/* BS 2.x flush split: previous filament */
	double			 split_left;	/* mm3 still charged to split_prev */

	int			 m73_layer, cl_layer, seen_m73, max_m73;
	int			 percent;
	int64_t			 seg_mm[PLAN_MAX_FILAMENTS + 1];	/* GCODE_UNIT */
	double			 seg_slicer[PLAN_MAX_FILAMENTS + 1];
	uint8_t			 seg_touched[PLAN_MAX_FILAMENTS + 1];
	int			 seg_list[PLAN_MAX_FILAMENTS + 1];
	int			 nseg;

	struct gcode_chunk	*chunks;
	size_t			 nchunks, capchunks;
	struct gcode_mark	*marks;
	size_t			 nmarks, capmarks;

	struct gcode_header	 hdr;
};

/* gcode_num.c */
int	 gcode_num(const char **p, const char *end, double *out);
int	 gcode_uint(const char **p, const char *end, long *out);

/* gcode_header.c: parses one comment line of the header, config block or footer. */
int	 gcode_header_line(struct gcode *, const char *s, const char *end,
	    char *err);
double	 gcode_header_diameter(const struct gcode *, int filament);

/* gcode_plan.c */
int	 gcode_boundary(struct gcode *, char *err);
int	 gcode_mark(struct gcode *, int percent, char *err);
int	 gcode_plan_fill(struct gcode *, struct plan *, char *err);

#endif
