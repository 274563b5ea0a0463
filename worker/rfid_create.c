/* rfid_create.c: the optional auto-create of a Spoolman spool from what an RFID tag says (vendor, filament reused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "errbuf.h"
#include "log.h"
#include "rfid_create.h"

/* Densities by material prefix (Bambu's own filament profiles); the first match wins. */
static const struct {
	const char	*prefix;
	double		 density;
} densities[] = {
	{ "PETG", 1.27 }, { "PET", 1.27 }, { "PLA", 1.24 }, { "ABS", 1.04 }, { "ASA", 1.07 }, { "TPU", 1.21 },
	{ "PAHT", 1.13 }, { "PA", 1.14 }, { "PC", 1.20 }, { "PVA", 1.23 }, { "HIPS", 1.04 }, { "PPS", 1.26 },
};

double
rfid_create_density(const char *material)
{
	size_t	i;

	for (i = 0; i < sizeof(densities) / sizeof(densities[0]); i++)
		if (strncasecmp(material, densities[i].prefix, strlen(densities[i].prefix)) == 0)
			return densities[i].density;
	return 1.24;
}

/* The integer "id" of o, or 0. */
static int
id_of(const json_t *o)
{
	json_t	*v = json_object_get(o, "id");

	return json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 2147483647 ?
	    (int)json_integer_value(v) : 0;
}

static int
text_eq(const json_t *v, const char *s)
{
	return json_is_string(v) && strcasecmp(json_string_value(v), s) == 0;
}

/* POSTs body (stolen) to path; *id from the answer.  The class. */
static enum spoolman_result
create(struct spoolman *sm, const char *path, json_t *body, int *id, char *err)
{
	enum spoolman_result	 res;
	json_t			*out;

	res = spoolman_request(sm, "POST", path, body, &out, err);
	json_decref(body);
	if (res != SPOOLMAN_OK)
		return res;
	*id = id_of(out);
	json_decref(out);
	if (*id == 0) {
		errbuf_set(err, "POST %s: the answer has no id", path);
		return SPOOLMAN_UNKNOWN;
	}
	return SPOOLMAN_OK;
}

/* The vendor's id (found by name, else created).  The class. */
static enum spoolman_result
vendor(struct spoolman *sm, int *id, char *err)
{
	enum spoolman_result	 res;
	json_t			*list, *v;
	size_t			 i;

	*id = 0;
	if ((res = spoolman_request(sm, "GET", "/vendor", NULL, &list, err)) != SPOOLMAN_OK)
		return res;
	json_array_foreach(list, i, v)
		if (*id == 0 && text_eq(json_object_get(v, "name"), RFID_CREATE_VENDOR))
			*id = id_of(v);
	json_decref(list);
	if (*id != 0)
		return SPOOLMAN_OK;
	return create(sm, "/vendor", json_pack("{s:s}", "name", RFID_CREATE_VENDOR), id, err);
}

/* The filament's id: one of the vendor with the material and colour (RRGGBB), else a new one.  The class. */
static enum spoolman_result
filament(struct spoolman *sm, int vid, const struct rfid_tag_data *d, const char *rgb, int *id, char *err)
{
	enum spoolman_result	 res;
	json_t			*list, *f, *body;
	size_t			 i;

	*id = 0;
	if ((res = spoolman_request(sm, "GET", "/filament", NULL, &list, err)) != SPOOLMAN_OK)
		return res;
	json_array_foreach(list, i, f)
		if (*id == 0 && id_of(json_object_get(f, "vendor")) == vid &&
		    text_eq(json_object_get(f, "material"), d->material) &&
		    text_eq(json_object_get(f, "color_hex"), rgb))
			*id = id_of(f);
	json_decref(list);
	if (*id != 0)
		return SPOOLMAN_OK;
	body = json_pack("{s:s, s:i, s:s, s:f, s:f, s:s}", "name", d->name != NULL && d->name[0] != '\0' ?
	    d->name : d->material, "vendor_id", vid, "material", d->material, "density",
	    rfid_create_density(d->material), "diameter", 1.75, "color_hex", rgb);
	if (d->weight > 0)
		json_object_set_new(body, "weight", json_real(d->weight));
	return create(sm, "/filament", body, id, err);
}

enum spoolman_result
rfid_create_spool(struct spoolman *sm, const char *field, const struct rfid_tag_data *d, int *spool_id,
    char *err)
{
	enum spoolman_result	 res;
	json_t			*body, *enc;
	char			 rgb[7], *val;
	int			 vid, fid;

	*spool_id = 0;
	if (d->material == NULL || d->material[0] == '\0' || d->color == NULL || strlen(d->color) < 6) {
		errbuf_set(err, "the tag gives no material or colour to create a spool from");
		return SPOOLMAN_REFUSED;
	}
	snprintf(rgb, sizeof(rgb), "%.6s", d->color);
	if ((res = vendor(sm, &vid, err)) != SPOOLMAN_OK ||
	    (res = filament(sm, vid, d, rgb, &fid, err)) != SPOOLMAN_OK)
		return res;
	enc = json_string(d->tag);
	val = json_dumps(enc, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(enc);
	body = json_pack("{s:i, s:{s:s}}", "filament_id", fid, "extra", field, val);
	free(val);
	if (d->weight > 0)
		json_object_set_new(body, "initial_weight", json_real(d->weight));
	res = create(sm, "/spool", body, spool_id, err);
	if (res == SPOOLMAN_OK)
		log_msg(LOGL_INFO, 0, 0, "rfid: created spool %d (filament %d, vendor %d) for tag %s",
		    *spool_id, fid, vid, d->tag);
	return res;
}
