/* slicemeta.h: parsers for the 3MF metadata members (slice_info, model_settings, project_settings). */
#ifndef COMMON_SLICEMETA_H
#define COMMON_SLICEMETA_H

#include <stddef.h>

#include "plan.h"

/*
 * Parses Metadata/slice_info.config (XML, expat) and copies, for the <plate>
 * whose index metadata equals `plate`, each <filament id="N"> (1-based) into
 * plan->filaments[N - 1]: type, color, tray_info_idx, slice_info_m (used_m),
 * slice_info_g (used_g).  Returns 0 (also when the plate is absent), or -1
 * with err set for malformed XML or out-of-range ids.
 */
int	 slicemeta_slice_info(const char *xml, size_t len, int plate,
	    struct plan *plan, char *err);

/*
 * Parses Metadata/model_settings.config (XML) and returns in *plate the index
 * of the first <plate> listed (its plater_id metadata) and in member
 * (THREEMF_MEMBER_LEN bytes) its gcode_file metadata, "" if none.  Returns 0,
 * 1 when no plate is listed, or -1 with err set for malformed XML.
 */
int	 slicemeta_first_plate(const char *xml, size_t len, int *plate,
	    char *member, char *err);

/*
 * Parses Metadata/project_settings.config (JSON, Jansson) and fills, for each
 * filament where the plan has no value yet, density (filament_density[]),
 * diameter (filament_diameter[]), type (filament_type[]) and color
 * (filament_colour[]).  Returns 0, or -1 with err set for malformed JSON.
 */
int	 slicemeta_project_settings(const char *json, size_t len,
	    struct plan *plan, char *err);

#endif
