/* bambu_status.c: the printer status the worker and the web app use, read out of a merged report state. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "bambu_json.h"
#include "bambu_status.h"
#include "bambu_tray.h"

#define LAYER_MAX	1000000
#define MINUTES_MAX	(60 * 24 * 365)
#define TEMP_MIN	(-100.0)
#define TEMP_MAX	1000.0
#define U32_MAX		4294967295LL
#define U16_MAX		65535
#define ID_MAX		255
#define NO_EXTRUDER	0xE		/* info bits 8-11 of a unit bound to no extruder */
#define HT_EXIST_BIT	16		/* tray_exist_bits: AMS HT 128 is bit 16 */

/* What the units and their tray_exist_bits say, for the trays and tray_now. */
struct ams_view {
	unsigned long long	 exist;		/* tray_exist_bits */
	int			 use_exist;	/* exist is known and the AMS is powered */
	int			 a2l_only;	/* the only unit is the A2L's (id 16) */
};

/* Returns obj[key] as an integer in [min, max], or -1. */
static long long
get_int(const json_t *obj, const char *key, long long min, long long max)
{
	long long	 v;

	if (bambu_json_int(json_object_get(obj, key), min, max, &v) == -1)
		return -1;
	return v;
}

/* Returns obj[key] as a number in [min, max], or NAN. */
static double
get_num(const json_t *obj, const char *key, double min, double max)
{
	double	 v;

	if (bambu_json_num(json_object_get(obj, key), min, max, &v) == -1)
		return NAN;
	return v;
}

/* Copies obj[key], a string or integer, into dst ("" otherwise). */
static void
get_text(const json_t *obj, const char *key, char *dst, size_t size)
{
	(void)bambu_json_text(json_object_get(obj, key), dst, size);
}

/* Copies obj[key] into dst if it is exactly `digits` hex digits, else "". */
static void
get_hex(const json_t *obj, const char *key, char *dst, size_t digits)
{
	const json_t	*v = json_object_get(obj, key);
	const char	*s;
	size_t		 i;

	dst[0] = '\0';
	if (!json_is_string(v) || strlen(s = json_string_value(v)) != digits)
		return;
	for (i = 0; i < digits; i++)
		if (!isxdigit((unsigned char)s[i]))
			return;
	memcpy(dst, s, digits + 1);
}

/* Reads the top-level scalars of print. */
static void
read_scalars(const json_t *p, struct bambu_status *s)
{
	get_text(p, "gcode_state", s->gcode_state, sizeof(s->gcode_state));
	get_text(p, "print_type", s->print_type, sizeof(s->print_type));
	get_text(p, "task_id", s->task_id, sizeof(s->task_id));
	get_text(p, "subtask_id", s->subtask_id, sizeof(s->subtask_id));
	get_text(p, "subtask_name", s->subtask_name, sizeof(s->subtask_name));
	get_text(p, "gcode_file", s->gcode_file, sizeof(s->gcode_file));
	s->layer_num = (int)get_int(p, "layer_num", 0, LAYER_MAX);
	s->total_layer_num = (int)get_int(p, "total_layer_num", 0, LAYER_MAX);
	s->mc_percent = (int)get_int(p, "mc_percent", 0, 100);
	s->mc_remaining_time = (int)get_int(p, "mc_remaining_time", 0,
	    MINUTES_MAX);
	s->nozzle_temper = get_num(p, "nozzle_temper", TEMP_MIN, TEMP_MAX);
	s->nozzle_target_temper = get_num(p, "nozzle_target_temper", TEMP_MIN,
	    TEMP_MAX);
	s->bed_temper = get_num(p, "bed_temper", TEMP_MIN, TEMP_MAX);
	s->bed_target_temper = get_num(p, "bed_target_temper", TEMP_MIN,
	    TEMP_MAX);
	s->print_error = get_int(p, "print_error", 0, U32_MAX);
}

/* Returns the tray_exist_bits bit of a tray id, or -1 if it has none. */
static int
exist_bit(int tray)
{
	if (tray >= 0 && tray < BAMBU_TRAY_A2L_FIRST + 4)
		return tray;
	if (tray >= BAMBU_UNIT_HT_FIRST && tray <= BAMBU_UNIT_HT_LAST)
		return HT_EXIST_BIT + tray - BAMBU_UNIT_HT_FIRST;
	return -1;
}

/* Appends tray t (unit, slot, tray id) read from object o. */
static void
add_tray(struct bambu_status *s, const json_t *o, int unit, int slot,
    int tray, const struct ams_view *av)
{
	struct bambu_tray	*t;
	int			 bit;

	if (s->ntrays >= BAMBU_TRAYS_MAX) {
		s->trays_dropped++;
		return;
	}
	t = &s->trays[s->ntrays++];
	t->tray = tray;
	t->unit = unit;
	t->slot = slot;
	get_text(o, "tray_type", t->type, sizeof(t->type));
	get_hex(o, "tray_color", t->color, sizeof(t->color) - 1);
	get_text(o, "tray_info_idx", t->info_idx, sizeof(t->info_idx));
	get_text(o, "tray_sub_brands", t->sub_brands, sizeof(t->sub_brands));
	get_hex(o, "tag_uid", t->tag_uid, sizeof(t->tag_uid) - 1);
	get_hex(o, "tray_uuid", t->uuid, sizeof(t->uuid) - 1);
	t->remain = (int)get_int(o, "remain", -1, 100);
	t->weight = (int)get_int(o, "tray_weight", 1, 100000);
	t->loaded = t->type[0] != '\0';
	bit = exist_bit(tray);
	if (av != NULL && av->use_exist && bit >= 0 &&
	    (av->exist >> bit & 1) == 0)
		t->loaded = 0;
}

/* Records unit u (id) and returns its id, or -1 to skip it. */
static int
add_unit(struct bambu_status *s, const json_t *u)
{
	struct bambu_unit	*un;
	unsigned long long	 info;
	long long		 id;

	if ((id = get_int(u, "id", 0, ID_MAX)) == -1)
		return -1;
	if (s->nunits < BAMBU_UNITS_MAX) {
		un = &s->units[s->nunits++];
		un->id = (int)id;
		un->type = un->extruder = -1;
		if (bambu_json_hex(json_object_get(u, "info"), &info) == 0) {
			un->type = (int)(info & 0xF);
			if ((info >> 8 & 0xF) != NO_EXTRUDER)
				un->extruder = (int)(info >> 8 & 0xF);
		}
	}
	return (int)id;
}

/* Reads print.ams.ams[] into units and trays. */
static void
read_units(const json_t *ams, struct bambu_status *s, struct ams_view *av)
{
	const json_t	*units = json_object_get(ams, "ams"), *u, *t;
	long long	 slot;
	size_t		 i, j;
	int		 unit, tray, others = 0, a2l = 0;

	json_array_foreach(units, i, u) {
		if (!json_is_object(u) || (unit = add_unit(s, u)) == -1)
			continue;
		if (unit == BAMBU_UNIT_A2L)
			a2l++;
		else
			others++;
		json_array_foreach(json_object_get(u, "tray"), j, t) {
			if (!json_is_object(t) ||
			    (slot = get_int(t, "id", 0, ID_MAX)) == -1)
				continue;
			tray = unit >= BAMBU_TRAY_EXT_DEPUTY ?
			    BAMBU_TRAY_INVALID : bambu_tray_of(unit, slot);
			add_tray(s, t, unit, (int)slot, tray, av);
		}
	}
	av->a2l_only = a2l == 1 && others == 0;
}

/* Reads the external holders: print.vir_slot[] if any, else print.vt_tray. */
static void
read_external(const json_t *p, struct bambu_status *s)
{
	const json_t	*vir = json_object_get(p, "vir_slot"), *e;
	long long	 id;
	size_t		 i;

	if (json_array_size(vir) > 0) {
		json_array_foreach(vir, i, e) {
			id = get_int(e, "id", 0, ID_MAX);
			if (json_is_object(e) && bambu_tray_external((int)id))
				add_tray(s, e, (int)id, 0, (int)id, NULL);
		}
		return;
	}
	if (!json_is_object(e = json_object_get(p, "vt_tray")))
		return;
	/* The old protocol's only external spool is 254 when unnumbered. */
	if (json_object_get(e, "id") == NULL)
		id = BAMBU_TRAY_EXT_DEPUTY;
	else
		id = get_int(e, "id", 0, ID_MAX);
	if (bambu_tray_external((int)id))
		add_tray(s, e, (int)id, 0, (int)id, NULL);
}

/* Reads print.device.extruder: count, active extruder, snow and temperatures. */
static void
read_extruders(const json_t *p, struct bambu_status *s)
{
	const json_t		*ext, *info, *e;
	struct bambu_extruder	*x;
	long long		 v;
	size_t			 i;

	ext = json_object_get(json_object_get(p, "device"), "extruder");
	info = json_object_get(ext, "info");
	json_array_foreach(info, i, e) {
		if (s->ninfo >= BAMBU_EXTRUDERS_MAX || !json_is_object(e))
			continue;
		x = &s->extruders[s->ninfo];
		v = get_int(e, "id", 0, BAMBU_EXTRUDERS_MAX - 1);
		x->id = v == -1 ? s->ninfo : (int)v;
		s->ninfo++;
		x->snow = (long)get_int(e, "snow", 0, U16_MAX);
		x->tray = x->snow == -1 ? BAMBU_TRAY_NONE :
		    bambu_tray_packed(x->snow);
		x->temp = x->target = NAN;
		if ((v = get_int(e, "temp", 0, U32_MAX)) != -1) {
			x->temp = (double)(v & 0xFFFF);
			x->target = (double)(v >> 16);
		}
	}
	s->nextruders = s->ninfo;
	if ((v = get_int(ext, "state", 0, U32_MAX)) != -1) {
		s->nextruders = (int)(v & 0xF);
		s->active_extruder = (int)(v >> 4 & 0xF);
	}
}

/* Decodes print.mapping, (unit << 8) | slot per slicer filament. */
static void
read_mapping(const json_t *p, struct bambu_status *s)
{
	const json_t	*e;
	long long	 v;
	size_t		 i;

	json_array_foreach(json_object_get(p, "mapping"), i, e) {
		if (s->nmapping >= BAMBU_FILAMENTS_MAX)
			break;
		s->mapping[s->nmapping++] = bambu_json_int(e, 0, U16_MAX,
		    &v) == -1 ? BAMBU_TRAY_INVALID : bambu_tray_packed(v);
	}
}

/*
 * Returns the tray loaded in the active extruder: its snow when it names a
 * tray; with one extruder, else ams.tray_now (a local slot of the A2L's AMS
 * Lite made 24 + slot).  Dual-nozzle tray_now is a local slot: not used.
 */
static int
active_tray(const struct bambu_status *s, const struct ams_view *av)
{
	int	 i, t;

	for (i = 0; i < s->ninfo; i++)
		if (s->extruders[i].id == s->active_extruder &&
		    s->extruders[i].tray >= 0)
			return bambu_status_canon(s, s->extruders[i].tray);
	if (s->nextruders >= 2)
		return BAMBU_TRAY_NONE;
	t = s->tray_now;
	if (t == -1 || t == BAMBU_TRAY_EXT_MAIN)
		return BAMBU_TRAY_NONE;		/* tray_now "255": nothing */
	if (t >= 0 && t <= BAMBU_UNIT_AMS_LAST && av->a2l_only)
		return BAMBU_TRAY_A2L_FIRST + t;
	t = bambu_tray_flat(t);
	return t < 0 ? BAMBU_TRAY_NONE : bambu_status_canon(s, t);
}

void
bambu_status_get(const struct bambu_state *st, struct bambu_status *s)
{
	const json_t	*p = bambu_state_print(st), *ams;
	struct ams_view	 av;

	memset(s, 0, sizeof(*s));
	memset(&av, 0, sizeof(av));
	s->complete = bambu_state_complete(st);
	read_scalars(p, s);
	ams = json_object_get(p, "ams");
	s->tray_now = (int)get_int(ams, "tray_now", 0, U16_MAX);
	s->tray_tar = (int)get_int(ams, "tray_tar", 0, U16_MAX);
	s->tray_pre = (int)get_int(ams, "tray_pre", 0, U16_MAX);
	av.use_exist = bambu_json_hex(json_object_get(ams, "tray_exist_bits"),
	    &av.exist) == 0 && !json_is_false(json_object_get(ams,
	    "power_on_flag"));
	read_units(ams, s, &av);
	read_external(p, s);
	read_extruders(p, s);
	read_mapping(p, s);
	s->tray_active = active_tray(s, &av);
}

int
bambu_status_canon(const struct bambu_status *s, int tray)
{
	int	 i, n = 0, only = tray;

	if (!bambu_tray_external(tray))
		return tray;
	for (i = 0; i < s->ntrays; i++)
		if (bambu_tray_external(s->trays[i].tray)) {
			only = s->trays[i].tray;
			n++;
		}
	return n == 1 ? only : tray;
}

const struct bambu_tray *
bambu_status_tray(const struct bambu_status *s, int tray)
{
	int	 i;

	for (i = 0; i < s->ntrays; i++)
		if (s->trays[i].tray == tray)
			return &s->trays[i];
	return NULL;
}
