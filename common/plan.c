/* plan.c: the filament plan of one plate: construction, grams, and its JSON form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "xmalloc.h"

#define PLAN_PI 3.14159265358979323846	/* Python's math.pi, as Spoolman uses */

struct plan *
plan_new(void)
{
	struct plan	*p = xcalloc(1, sizeof(*p));
	int		 i;

	p->header_layer_count = -1;
	p->layer_source = PLAN_LAYERS_NONE;
	for (i = 0; i < PLAN_MAX_FILAMENTS; i++) {
		struct plan_filament *f = &p->filaments[i];

		f->index = i;
		f->header_mm = NAN;
		f->density = NAN;
		f->diameter = NAN;
		f->slice_info_m = NAN;
		f->slice_info_g = NAN;
	}
	return p;
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	free(p->cells);
	free(p->marks);
	free(p->mark_amounts);
	free(p);
}

double
plan_mm_to_grams(double mm, double diameter, double density)
{
	double r;

	if (!isfinite(mm) || !isfinite(diameter) || !isfinite(density) ||
	    diameter <= 0 || density <= 0)
		return NAN;
	r = diameter / 2;
	return density * (mm * PLAN_PI * r * r) / 1000;
}

/* Rounds to 2 decimals for display: the JSON keeps what a person reads. */
static json_t *
real2(double v)
{
	if (!isfinite(v))
		return json_null();
	return json_real(round(v * 100) / 100);
}

/* Rounds to 4 decimals (0.1 micrometre of filament) for per-layer figures. */
static json_t *
real4(double v)
{
	return json_real(round(v * 10000) / 10000);
}

static json_t *
text_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
filament_json(const struct plan_filament *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer(f->index));
	json_object_set_new(o, "mm", real2(f->mm));
	json_object_set_new(o, "grams",
	    real2(plan_mm_to_grams(f->mm, f->diameter, f->density)));
	json_object_set_new(o, "type", text_or_null(f->type));
	json_object_set_new(o, "color", text_or_null(f->color));
	json_object_set_new(o, "tray_info_idx", text_or_null(f->tray_info_idx));
	json_object_set_new(o, "slicer_mm", real2(f->slicer_mm));
	json_object_set_new(o, "slicer_g",
	    real2(plan_mm_to_grams(f->slicer_mm, f->diameter, f->density)));
	json_object_set_new(o, "header_mm", real2(f->header_mm));
	json_object_set_new(o, "slice_info_m", real2(f->slice_info_m));
	json_object_set_new(o, "slice_info_g", real2(f->slice_info_g));
	json_object_set_new(o, "density", real2(f->density));
	json_object_set_new(o, "diameter", real2(f->diameter));
	return o;
}

/* Writes filament index f (0 to PLAN_MAX_FILAMENTS - 1) in decimal to key (4 bytes) and returns key. */
static const char *
filament_key(char key[4], int f)
{
	if (f >= 10) {
		key[0] = (char)('0' + f / 10 % 10);
		key[1] = (char)('0' + f % 10);
		key[2] = '\0';
	} else {
		key[0] = (char)('0' + f);
		key[1] = '\0';
	}
	return key;
}

/* Returns the object of the layer whose cells start at *i, and advances *i past them. */
static json_t *
layer_json(const struct plan *p, size_t *i)
{
	json_t	*o = json_object(), *mm = json_object();
	int	 layer = p->cells[*i].layer;
	char	 key[4];

	for (; *i < p->ncells && p->cells[*i].layer == layer; (*i)++) {
		json_object_set_new(mm, filament_key(key,
		    p->cells[*i].filament), real4(p->cells[*i].mm));
	}
	json_object_set_new(o, "layer", json_integer(layer));
	json_object_set_new(o, "mm", mm);
	return o;
}

static json_t *
mark_json(const struct plan *p, const struct plan_mark *m)
{
	json_t	*o = json_object(), *mm = json_object();
	size_t	 j;
	char	 key[4];

	for (j = m->first; j < m->first + m->count; j++) {
		json_object_set_new(mm, filament_key(key,
		    p->mark_amounts[j].filament), real4(p->mark_amounts[j].mm));
	}
	json_object_set_new(o, "percent", json_integer(m->percent));
	json_object_set_new(o, "layer", json_integer(m->layer));
	json_object_set_new(o, "mm", mm);
	return o;
}

static const char *
layer_source_name(int source)
{
	switch (source) {
	case PLAN_LAYERS_M73:
		return "M73 L";
	case PLAN_LAYERS_CHANGE_LAYER:
		return "; CHANGE_LAYER";
	default:
		return "none";
	}
}

/* Everything but the per-layer and progress arrays. */
static json_t *
head_json(const struct plan *p, const char *file)
{
	json_t	*o = json_object(), *fils = json_array();
	int	 i;

	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "plate", json_integer(p->plate));
	if (p->member[0] != '\0')
		json_object_set_new(o, "member", json_string(p->member));
	json_object_set_new(o, "slicer", text_or_null(p->slicer));
	json_object_set_new(o, "layer_count", json_integer(p->layer_count));
	if (p->header_layer_count >= 0)
		json_object_set_new(o, "header_layer_count",
		    json_integer(p->header_layer_count));
	json_object_set_new(o, "layer_source",
	    json_string(layer_source_name(p->layer_source)));
	for (i = 0; i < PLAN_MAX_FILAMENTS; i++)
		if (p->filaments[i].extrudes)
			json_array_append_new(fils,
			    filament_json(&p->filaments[i]));
	json_object_set_new(o, "filaments", fils);
	return o;
}

json_t *
plan_to_json(const struct plan *p, const char *file)
{
	json_t	*o = head_json(p, file), *layers = json_array();
	json_t	*marks = json_array();
	size_t	 i;

	for (i = 0; i < p->ncells;)
		json_array_append_new(layers, layer_json(p, &i));
	for (i = 0; i < p->nmarks; i++)
		json_array_append_new(marks, mark_json(p, &p->marks[i]));
	json_object_set_new(o, "layers", layers);
	json_object_set_new(o, "progress", marks);
	return o;
}

#define DUMP_BUF	(64 * 1024)	/* plan_dump_json() writes this much at a time */

/* Where plan_dump_json() gathers its output before each fwrite(). */
struct dump {
	FILE	*out;
	size_t	 flags;
	size_t	 len;
	int	 rc;		/* 0, or -1 after a write error */
	char	 buf[DUMP_BUF];
};

/* Writes what the buffer holds. */
static void
dump_flush(struct dump *d)
{
	if (d->len > 0 && d->rc == 0 && fwrite(d->buf, 1, d->len, d->out) !=
	    d->len)
		d->rc = -1;
	d->len = 0;
}

/* Appends len bytes of text. */
static void
dump_text(struct dump *d, const char *text, size_t len)
{
	if (d->len + len > sizeof(d->buf))
		dump_flush(d);
	if (len > sizeof(d->buf)) {
		if (d->rc == 0 && fwrite(text, 1, len, d->out) != len)
			d->rc = -1;
		return;
	}
	memcpy(d->buf + d->len, text, len);
	d->len += len;
}

/* Appends the encoding of v (written directly when the buffer cannot hold it) and releases v. */
static void
dump_value(struct dump *d, json_t *v)
{
	size_t	flags = d->flags | JSON_COMPACT | JSON_ENCODE_ANY;
	size_t	room = sizeof(d->buf) - d->len;
	size_t	n = json_dumpb(v, d->buf + d->len, room, flags);

	if (n == 0)
		d->rc = -1;
	else if (n <= room)
		d->len += n;
	else {
		dump_flush(d);
		if (d->rc == 0 && json_dumpf(v, d->out, flags) == -1)
			d->rc = -1;
	}
	json_decref(v);
}

#define DUMP_LIT(d, s)	dump_text((d), (s), sizeof(s) - 1)

/*
 * The per-layer and progress arrays of a long plan hold tens of thousands
 * of numbers, and Jansson formats each real with snprintf("%.12g"), most
 * of plan_dump_json()'s time.  Their objects (digit keys, integers and
 * reals of 4 decimals) are simple enough to write here as Jansson would:
 * check_plan_json and fuzz_gcode compare the bytes with json_dumps() of
 * plan_to_json().  Anything else goes through Jansson.
 */
#define FAST_KEYS	(PLAN_MAX_FILAMENTS + 1)	/* keys 0 to PLAN_MAX_FILAMENTS */
#define FAST_OBJ_MAX	(64 + FAST_KEYS * 32)	/* an object of them, each as ,"64":-12345678.1234 */
#define FAST_FLAGS	JSON_REAL_PRECISION(12)		/* the only flags written here */
#define FAST_REAL_LIM	1e12	/* real4() units below which %.12g keeps all four decimals */
#define PUT_LIT(w, s)	((char *)memcpy((w), (s), sizeof(s) - 1) + sizeof(s) - 1)

/* Writes the decimal digits of v at w and returns the end. */
static char *
put_uint(char *w, unsigned long long v)
{
	char	 tmp[24];
	int	 n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*w++ = tmp[--n];
	return w;
}

/* Writes v in decimal at w and returns the end. */
static char *
put_int(char *w, int v)
{
	if (v < 0) {
		*w++ = '-';
		return put_uint(w, 0ULL - (unsigned long long)v);
	}
	return put_uint(w, (unsigned long long)v);
}

/*
 * Writes real4(v) as Jansson does with FAST_FLAGS and returns the end, or
 * NULL (nothing written) when twelve significant digits would round it
 * (1e8 mm or more) or it is not finite.  v rounds to k units of 0.0001;
 * %.12g of k / 10000 is k's digits with the point put back and trailing
 * zeros dropped, and Jansson adds ".0" to a whole number.
 */
static char *
put_real4(char *w, double v)
{
	double			 k = round(v * 10000);
	unsigned long long	 u, frac;
	int			 n, i;

	if (!(fabs(k) < FAST_REAL_LIM))
		return NULL;
	if (signbit(k))
		*w++ = '-';
	u = (unsigned long long)fabs(k);
	w = put_uint(w, u / 10000);
	*w++ = '.';
	if ((frac = u % 10000) == 0) {
		*w++ = '0';
		return w;
	}
	for (n = 4; frac % 10 == 0; n--)
		frac /= 10;
	for (i = n; i-- > 0; frac /= 10)
		w[i] = (char)('0' + frac % 10);
	return w + n;
}

/*
 * Writes "f":mm and returns the end, or NULL when mm is beyond put_real4()
 * or f does not follow *prev in order (as Jansson would keep only one of
 * the same key); *prev becomes f.
 */
static char *
put_amount(char *w, int f, double mm, int *prev)
{
	if (f <= *prev || f >= FAST_KEYS)
		return NULL;
	*prev = f;
	*w++ = '"';
	w = put_uint(w, (unsigned long long)f);
	*w++ = '"';
	*w++ = ':';
	return put_real4(w, mm);
}

/*
 * Appends the text of layer_json(p, i) and advances *i as it does.
 * Returns 0, or -1 with nothing appended and *i unchanged when put_amount()
 * refuses a cell.
 */
static int
dump_layer_fast(struct dump *d, const struct plan *p, size_t *i)
{
	char	 buf[FAST_OBJ_MAX], *w = buf;
	size_t	 j = *i;
	int	 layer = p->cells[j].layer, prev = -1;

	w = put_int(PUT_LIT(w, "{\"layer\":"), layer);
	w = PUT_LIT(w, ",\"mm\":{");
	for (; j < p->ncells && p->cells[j].layer == layer; j++) {
		if (j > *i)
			*w++ = ',';
		if ((w = put_amount(w, p->cells[j].filament,
		    p->cells[j].mm, &prev)) == NULL)
			return -1;
	}
	*w++ = '}';
	*w++ = '}';
	dump_text(d, buf, (size_t)(w - buf));
	*i = j;
	return 0;
}

/* Appends the text of mark_json(p, m); returns 0, or -1 with nothing appended (as dump_layer_fast()). */
static int
dump_mark_fast(struct dump *d, const struct plan *p, const struct plan_mark *m)
{
	char	 buf[FAST_OBJ_MAX], *w = buf;
	size_t	 j;
	int	 prev = -1;

	w = put_int(PUT_LIT(w, "{\"percent\":"), m->percent);
	w = put_int(PUT_LIT(w, ",\"layer\":"), m->layer);
	w = PUT_LIT(w, ",\"mm\":{");
	for (j = m->first; j < m->first + m->count; j++) {
		if (j > m->first)
			*w++ = ',';
		if ((w = put_amount(w, p->mark_amounts[j].filament,
		    p->mark_amounts[j].mm, &prev)) == NULL)
			return -1;
	}
	*w++ = '}';
	*w++ = '}';
	dump_text(d, buf, (size_t)(w - buf));
	return 0;
}

/*
 * Appends the per-layer and progress arrays, each object written here when
 * the flags are FAST_FLAGS and its values allow, else by Jansson.
 */
static void
dump_arrays(struct dump *d, const struct plan *p)
{
	size_t	 i;
	int	 fast = d->flags == FAST_FLAGS;

	for (i = 0; i < p->ncells && d->rc == 0;) {
		if (i > 0)
			DUMP_LIT(d, ",");
		if (!fast || dump_layer_fast(d, p, &i) == -1)
			dump_value(d, layer_json(p, &i));
	}
	DUMP_LIT(d, "],\"progress\":[");
	for (i = 0; i < p->nmarks && d->rc == 0; i++) {
		if (i > 0)
			DUMP_LIT(d, ",");
		if (!fast || dump_mark_fast(d, p, &p->marks[i]) == -1)
			dump_value(d, mark_json(p, &p->marks[i]));
	}
	DUMP_LIT(d, "]}\n");
}

int
plan_dump_json(const struct plan *p, const char *file, FILE *out,
    size_t flags)
{
	struct dump	*d = xcalloc(1, sizeof(*d));
	json_t		*head = head_json(p, file);
	char		*text = json_dumps(head, flags | JSON_COMPACT);
	int		 rc;

	json_decref(head);
	if (text == NULL) {
		free(d);
		return -1;
	}
	d->out = out;
	d->flags = flags;
	dump_text(d, text, strlen(text) - 1);	/* without its final '}' */
	free(text);
	DUMP_LIT(d, ",\"layers\":[");
	dump_arrays(d, p);
	dump_flush(d);
	rc = d->rc;
	free(d);
	return rc;
}
