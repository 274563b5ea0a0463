/* rfid_create.h: the optional auto-create of a Spoolman spool from what an RFID tag says (vendor, filament reused). */
#ifndef WORKER_RFID_CREATE_H
#define WORKER_RFID_CREATE_H

#include "spoolman.h"

#define RFID_CREATE_VENDOR	"Bambu Lab"	/* only Bambu spools carry tags the AMS reads */

/* What the tray reported about a tagged spool (borrowed strings; NULL when not reported). */
struct rfid_tag_data {
	const char	*tag;		/* the identity (rfid.h) */
	const char	*material;	/* tray_type "PLA" */
	const char	*name;		/* tray_sub_brands "PLA Basic" */
	const char	*color;		/* tray_color "RRGGBBAA" */
	double		 weight;	/* tray_weight, net grams; <= 0 unknown */
};

/*
 * Creates the spool of a tag nobody has in Spoolman, reusing what exists: the vendor RFID_CREATE_VENDOR (created
 * when missing) and a filament of that vendor with the same material and colour (case-insensitive; created when
 * none), then POST /spool {"filament_id", "initial_weight", "extra": {field: "\"TAG\""}}.  Every step reads before
 * it creates, and the spool carries the tag, so after an unknown outcome the next lookup by tag finds the spool if
 * it landed and nothing is created twice.  Needs material and color.  Returns SPOOLMAN_OK with *spool_id, or the
 * class of the failing request (SPOOLMAN_REFUSED when the tag data is not enough) with err set.
 */
enum spoolman_result rfid_create_spool(struct spoolman *, const char *field, const struct rfid_tag_data *,
	    int *spool_id, char *err);

/* The density (g/cm3) Spoolkeeper gives a new filament of material (PLA 1.24, PETG 1.27, ABS 1.04...). */
double	 rfid_create_density(const char *material);

#endif
