/* threemf.h: reading a Bambu .gcode.3mf: plate choice, metadata, and streaming the gcode. */
#ifndef COMMON_THREEMF_H
#define COMMON_THREEMF_H

#include <stddef.h>

#include "plan.h"

#define THREEMF_MEMBER_LEN	128

/* Largest gcode member we stream, and the compression ratio past which a member is a zip bomb. */
#define THREEMF_MAX_GCODE	((unsigned long long)4 << 30)
#define THREEMF_MAX_RATIO	200
/* Largest XML/JSON metadata member read whole into memory. */
#define THREEMF_MAX_META	((size_t)32 << 20)

struct threemf;

/*
 * Opens the archive at path, or len bytes at data (borrowed: they must
 * outlive the handle).  Returns 0 and a new handle in *out (close with
 * threemf_close()), or -1 with err set for a missing file, a file that is not
 * a zip, or a corrupt archive.
 */
int	 threemf_open_file(const char *path, struct threemf **out, char *err);
int	 threemf_open_buffer(const void *data, size_t len, struct threemf **out,
	    char *err);
void	 threemf_close(struct threemf *);

/*
 * Chooses the gcode member: `member` when not NULL (e.g. the printer's
 * "Metadata/plate_2.gcode"), else plate `plate` when > 0, else the first
 * plate listed in Metadata/model_settings.config, else the lowest
 * Metadata/plate_N.gcode.  Writes the member name (THREEMF_MEMBER_LEN bytes)
 * and its plate number.  Returns 0, or -1 with err set when there is no such
 * member.
 */
int	 threemf_pick_plate(struct threemf *, int plate, const char *member,
	    char *name, int *plate_out, char *err);

/*
 * Streams the member through sink in pieces of at most 64 KiB from one fixed
 * buffer.  Refuses members larger than THREEMF_MAX_GCODE or compressed more
 * than THREEMF_MAX_RATIO times, and stops at a read or CRC error.  Returns 0,
 * the sink's -1 (its err kept), or -1 with err set.
 */
int	 threemf_stream(struct threemf *, const char *member,
	    int (*sink)(void *ctx, const char *buf, size_t len, char *err),
	    void *ctx, char *err);

/*
 * Fills plan's filaments from Metadata/slice_info.config (plate `plate`:
 * type, color, tray_info_idx, slice_info_m, slice_info_g) and
 * Metadata/project_settings.config (density, diameter, and type/color where
 * slice_info has none; only where the plan has no value yet).  Missing
 * members are not an error; malformed ones are (-1, err set).
 */
int	 threemf_apply_metadata(struct threemf *, int plate, struct plan *plan,
	    char *err);

#endif
