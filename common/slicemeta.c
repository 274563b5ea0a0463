/* slicemeta.c: parsers for the 3MF metadata members (slice_info, model_settings, project_settings). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <jansson.h>

#include "errbuf.h"
#include "slicemeta.h"
#include "threemf.h"
#include "xmalloc.h"

#define PLATE_MAX	10000	/* highest plate number believed */
#define USED_MAX	1e7	/* used_m / used_g must stay below this */
#define DENSITY_MAX	30.0	/* g/cm3, exclusive */
#define DIAMETER_MAX	10.0	/* mm, exclusive */

/* State shared by both XML parsers. */
struct xml {
	XML_Parser	 parser;
	char		*err;
	int		 failed;
	int		 depth;		/* 1 inside the root element */
};

/* One <filament> of a slice_info plate, kept until the plate is known. */
struct si_filament {
	int	 seen;
	double	 used_m;		/* NAN if absent */
	double	 used_g;		/* NAN if absent */
	char	 type[PLAN_TEXT_LEN];
	char	 color[PLAN_TEXT_LEN];
	char	 tray_info_idx[PLAN_TEXT_LEN];
};

struct si_ctx {
	struct xml		 x;
	int			 want;		/* the plate asked for */
	int			 in_plate;
	int			 index;		/* this plate's index, 0 if none yet */
	int			 found;		/* keep holds the wanted plate */
	struct si_filament	 fil[PLAN_MAX_FILAMENTS];	/* this plate */
	struct si_filament	 keep[PLAN_MAX_FILAMENTS];	/* the wanted one */
};

struct ms_ctx {
	struct xml	 x;
	int		 nplates;
	int		 in_first;
	int		 plate;		/* plater_id of the first plate, 0 if none */
	char		 member[THREEMF_MEMBER_LEN];
};

/*
 * Records the first failure of a parse as "line N: message" and stops the
 * parser; later calls are ignored.
 */
static void __attribute__((format(printf, 2, 3)))
xml_fail(struct xml *x, const char *fmt, ...)
{
	char	 msg[ERRBUF_LEN];
	va_list	 ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errbuf_set(x->err, "line %lu: %s",
	    (unsigned long)XML_GetCurrentLineNumber(x->parser), msg);
	XML_StopParser(x->parser, XML_FALSE);
}

static void
reject_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	xml_fail(ud, "DOCTYPE declarations are not allowed");
}

static void
reject_entity(void *ud, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	xml_fail(ud, "entity declarations are not allowed");
}

/*
 * Runs expat over the whole document with the given element handlers and x
 * as user data (x must be the first member of the handlers' context).
 * Returns 0, or -1 with x->err set.
 */
static int
xml_run(struct xml *x, XML_StartElementHandler start,
    XML_EndElementHandler end, const char *doc, size_t len)
{
	XML_Parser	 p;
	enum XML_Status	 st;

	if (len > INT_MAX)
		return errbuf_set(x->err, "document too large (%zu bytes)", len);
	if ((p = XML_ParserCreate(NULL)) == NULL)
		return errbuf_set(x->err, "out of memory creating XML parser");
	x->parser = p;
	XML_SetUserData(p, x);
	XML_SetElementHandler(p, start, end);
	XML_SetStartDoctypeDeclHandler(p, reject_doctype);
	XML_SetEntityDeclHandler(p, reject_entity);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(p, doc, (int)len, 1);
	if (st != XML_STATUS_OK && !x->failed) {
		x->failed = 1;
		errbuf_set(x->err, "line %lu: %s",
		    (unsigned long)XML_GetCurrentLineNumber(p),
		    XML_ErrorString(XML_GetErrorCode(p)));
	}
	XML_ParserFree(p);
	x->parser = NULL;
	return x->failed ? -1 : 0;
}

/* Returns the value of attribute name, or NULL. */
static const char *
attr(const XML_Char **atts, const char *name)
{
	for (; atts[0] != NULL; atts += 2)
		if (strcmp(atts[0], name) == 0)
			return atts[1];
	return NULL;
}

/* Parses a whole decimal integer in [min, max] into *out; returns 0 or -1. */
static int
parse_int(const char *s, long min, long max, int *out)
{
	char	*end;
	long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Parses a whole finite number into *out; returns 0 or -1 (range is the caller's). */
static int
parse_num(const char *s, double *out)
{
	char	*end;
	double	 v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/*
 * Copies src into dst (size bytes), truncating at a UTF-8 character
 * boundary so a cut never leaves half a character.
 */
static void
copy_text(char *dst, size_t size, const char *src)
{
	size_t	 n = strlen(src);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Parses used_m / used_g of a filament: absent is NAN, else [0, USED_MAX). */
static int
si_used(struct si_ctx *c, const XML_Char **atts, const char *name,
    double *out)
{
	const char	*s = attr(atts, name);

	*out = NAN;
	if (s == NULL)
		return 0;
	if (parse_num(s, out) == -1 || !(*out >= 0 && *out < USED_MAX)) {
		xml_fail(&c->x, "filament %s \"%.32s\" is not a sane number",
		    name, s);
		return -1;
	}
	return 0;
}

static void
si_filament(struct si_ctx *c, const XML_Char **atts)
{
	struct si_filament	*f;
	const char		*s;
	int			 id;

	s = attr(atts, "id");
	if (parse_int(s, 1, PLAN_MAX_FILAMENTS, &id) == -1) {
		xml_fail(&c->x, "filament id \"%.32s\" is not in 1..%d",
		    s == NULL ? "" : s, PLAN_MAX_FILAMENTS);
		return;
	}
	f = &c->fil[id - 1];
	memset(f, 0, sizeof(*f));
	if (si_used(c, atts, "used_m", &f->used_m) == -1 ||
	    si_used(c, atts, "used_g", &f->used_g) == -1)
		return;
	if ((s = attr(atts, "type")) != NULL)
		copy_text(f->type, sizeof(f->type), s);
	if ((s = attr(atts, "color")) != NULL)
		copy_text(f->color, sizeof(f->color), s);
	if ((s = attr(atts, "tray_info_idx")) != NULL)
		copy_text(f->tray_info_idx, sizeof(f->tray_info_idx), s);
	f->seen = 1;
}

static void
si_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct si_ctx	*c = ud;
	const char	*key, *value;

	if (c->x.failed)
		return;
	c->x.depth++;
	if (c->x.depth == 2 && strcmp(name, "plate") == 0) {
		c->in_plate = 1;
		c->index = 0;
		memset(c->fil, 0, sizeof(c->fil));
		return;
	}
	if (!c->in_plate || c->x.depth != 3)
		return;
	if (strcmp(name, "filament") == 0) {
		si_filament(c, atts);
		return;
	}
	key = attr(atts, "key");
	if (strcmp(name, "metadata") != 0 || key == NULL ||
	    strcmp(key, "index") != 0)
		return;
	value = attr(atts, "value");
	if (parse_int(value, 1, PLATE_MAX, &c->index) == -1)
		xml_fail(&c->x, "plate index \"%.32s\" is not in 1..%d",
		    value == NULL ? "" : value, PLATE_MAX);
}

/* Copies the filaments of the wanted plate into the plan. */
static void
si_commit(const struct si_ctx *c, struct plan *plan)
{
	const struct si_filament	*f;
	struct plan_filament		*pf;
	int				 i;

	for (i = 0; i < PLAN_MAX_FILAMENTS; i++) {
		f = &c->keep[i];
		if (!f->seen)
			continue;
		pf = &plan->filaments[i];
		if (f->type[0] != '\0')
			memcpy(pf->type, f->type, sizeof(pf->type));
		if (f->color[0] != '\0')
			memcpy(pf->color, f->color, sizeof(pf->color));
		if (f->tray_info_idx[0] != '\0')
			memcpy(pf->tray_info_idx, f->tray_info_idx,
			    sizeof(pf->tray_info_idx));
		if (!isnan(f->used_m))
			pf->slice_info_m = f->used_m;
		if (!isnan(f->used_g))
			pf->slice_info_g = f->used_g;
	}
}

static void
si_end(void *ud, const XML_Char *name)
{
	struct si_ctx	*c = ud;

	(void)name;
	if (c->x.failed)
		return;
	if (c->x.depth == 2 && c->in_plate) {
		if (c->index == c->want) {
			memcpy(c->keep, c->fil, sizeof(c->keep));
			c->found = 1;
		}
		c->in_plate = 0;
	}
	c->x.depth--;
}

int
slicemeta_slice_info(const char *xml, size_t len, int plate,
    struct plan *plan, char *err)
{
	struct si_ctx	*c;
	int		 rc;

	/* The plan changes only after the whole document parsed. */
	c = xcalloc(1, sizeof(*c));
	c->x.err = err;
	c->want = plate;
	rc = xml_run(&c->x, si_start, si_end, xml, len);
	if (rc == 0 && c->found)
		si_commit(c, plan);
	free(c);
	return rc;
}

static void
ms_metadata(struct ms_ctx *c, const XML_Char **atts)
{
	const char	*key = attr(atts, "key");
	const char	*value = attr(atts, "value");

	if (key == NULL)
		return;
	if (strcmp(key, "plater_id") == 0) {
		if (parse_int(value, 1, PLATE_MAX, &c->plate) == -1)
			xml_fail(&c->x, "plater_id \"%.32s\" is not in 1..%d",
			    value == NULL ? "" : value, PLATE_MAX);
	} else if (strcmp(key, "gcode_file") == 0 && value != NULL) {
		if (strlen(value) >= sizeof(c->member))
			xml_fail(&c->x, "gcode_file name longer than %zu bytes",
			    sizeof(c->member) - 1);
		else
			memcpy(c->member, value, strlen(value) + 1);
	}
}

static void
ms_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct ms_ctx	*c = ud;

	if (c->x.failed)
		return;
	c->x.depth++;
	if (c->x.depth == 2 && strcmp(name, "plate") == 0) {
		c->nplates++;
		c->in_first = c->nplates == 1;
	} else if (c->x.depth == 3 && c->in_first &&
	    strcmp(name, "metadata") == 0)
		ms_metadata(c, atts);
}

static void
ms_end(void *ud, const XML_Char *name)
{
	struct ms_ctx	*c = ud;

	(void)name;
	if (c->x.failed)
		return;
	if (c->x.depth == 2)
		c->in_first = 0;
	c->x.depth--;
}

int
slicemeta_first_plate(const char *xml, size_t len, int *plate,
    char *member, char *err)
{
	struct ms_ctx	 c;

	*plate = 0;
	member[0] = '\0';
	memset(&c, 0, sizeof(c));
	c.x.err = err;
	if (xml_run(&c.x, ms_start, ms_end, xml, len) == -1)
		return -1;
	if (c.nplates == 0)
		return 1;
	if (c.plate == 0)
		return errbuf_set(err, "first <plate> has no plater_id");
	*plate = c.plate;
	memcpy(member, c.member, sizeof(c.member));
	return 0;
}

/*
 * Looks up root[key]: *arr is the array, or NULL when the key is absent.
 * Returns 0, or -1 with err set when the value is not an array.
 */
static int
get_array(json_t *root, const char *key, json_t **arr, char *err)
{
	*arr = json_object_get(root, key);
	if (*arr != NULL && !json_is_array(*arr))
		return errbuf_set(err, "%s is not an array", key);
	return 0;
}

/*
 * Reads element i of a number array (strings, as slicers write them, or JSON
 * numbers).  Returns 0 with *out in (0, max), 1 for an empty string, or -1
 * with err set.
 */
static int
elem_number(json_t *v, const char *key, size_t i, double max, double *out,
    char *err)
{
	const char	*s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (*s == '\0')
			return 1;
		if (parse_num(s, out) == -1)
			return errbuf_set(err, "%s[%zu] \"%.32s\" is not a number",
			    key, i, s);
	} else if (json_is_number(v))
		*out = json_number_value(v);
	else
		return errbuf_set(err, "%s[%zu] is not a number", key, i);
	if (!(*out > 0 && *out < max))
		return errbuf_set(err, "%s[%zu] %g is outside (0, %g)", key, i,
		    *out, max);
	return 0;
}

/* Fills the double at offset off of each filament that is still NAN. */
static int
fill_numbers(json_t *root, const char *key, double max, size_t off,
    struct plan_filament *fil, char *err)
{
	json_t	*arr;
	double	*dst, v = NAN;
	size_t	 i, n;
	int	 r;

	if (get_array(root, key, &arr, err) == -1)
		return -1;
	if (arr == NULL)
		return 0;
	n = json_array_size(arr);
	for (i = 0; i < n && i < PLAN_MAX_FILAMENTS; i++) {
		r = elem_number(json_array_get(arr, i), key, i, max, &v, err);
		if (r == -1)
			return -1;
		dst = (double *)(void *)((char *)&fil[i] + off);
		if (r == 0 && isnan(*dst))
			*dst = v;
	}
	return 0;
}

/* Fills the PLAN_TEXT_LEN string at offset off of each filament that is still "". */
static int
fill_texts(json_t *root, const char *key, size_t off,
    struct plan_filament *fil, char *err)
{
	json_t	*arr, *v;
	char	*dst;
	size_t	 i, n;

	if (get_array(root, key, &arr, err) == -1)
		return -1;
	if (arr == NULL)
		return 0;
	n = json_array_size(arr);
	for (i = 0; i < n && i < PLAN_MAX_FILAMENTS; i++) {
		v = json_array_get(arr, i);
		if (!json_is_string(v))
			return errbuf_set(err, "%s[%zu] is not a string", key,
			    i);
		dst = (char *)&fil[i] + off;
		if (dst[0] == '\0')
			copy_text(dst, PLAN_TEXT_LEN, json_string_value(v));
	}
	return 0;
}

int
slicemeta_project_settings(const char *json, size_t len, struct plan *plan,
    char *err)
{
	struct plan_filament	*fil = NULL;
	json_error_t		 jerr;
	json_t			*root;
	int			 rc = -1;

	if ((root = json_loadb(json, len, 0, &jerr)) == NULL)
		return errbuf_set(err, "line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(root)) {
		errbuf_set(err, "not a JSON object");
		goto out;
	}
	/* Filled on a copy so that a bad file changes nothing. */
	fil = xmalloc(sizeof(plan->filaments));
	memcpy(fil, plan->filaments, sizeof(plan->filaments));
	if (fill_numbers(root, "filament_density", DENSITY_MAX,
	    offsetof(struct plan_filament, density), fil, err) == -1 ||
	    fill_numbers(root, "filament_diameter", DIAMETER_MAX,
	    offsetof(struct plan_filament, diameter), fil, err) == -1 ||
	    fill_texts(root, "filament_type",
	    offsetof(struct plan_filament, type), fil, err) == -1 ||
	    fill_texts(root, "filament_colour",
	    offsetof(struct plan_filament, color), fil, err) == -1)
		goto out;
	memcpy(plan->filaments, fil, sizeof(plan->filaments));
	rc = 0;
out:
	free(fil);
	json_decref(root);
	return rc;
}
