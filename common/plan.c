/* plan.c: the filament plan of one plate: construction, grams, and its JSON form. */
#include <math.h>
#include <pthread.h>
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

#define DUMP_SPLIT_MIN	4096	/* layer cells and marks below which one thread writes them all */

/*
 * What one thread of plan_dump_json() writes: the layers whose cells start in [cell0, cell1), and after them
 * (with the arrays' seam and the document's end) every progress mark when tail is set.
 */
struct part {
	const struct plan	*p;
	struct dump		*d;
	size_t			 cell0, cell1;
	int			 tail;
};

static void *
dump_part(void *arg)
{
	struct part		*t = arg;
	const struct plan	*p = t->p;
	struct dump		*d = t->d;
	size_t			 i;

	for (i = t->cell0; i < t->cell1 && d->rc == 0;) {
		if (i > 0)
			DUMP_LIT(d, ",");
		dump_value(d, layer_json(p, &i));
	}
	if (!t->tail)
		return NULL;
	DUMP_LIT(d, "],\"progress\":[");
	for (i = 0; i < p->nmarks && d->rc == 0; i++) {
		if (i > 0)
			DUMP_LIT(d, ",");
		dump_value(d, mark_json(p, &p->marks[i]));
	}
	DUMP_LIT(d, "]}\n");
	return NULL;
}

/*
 * The first cell of a layer near the middle of the work (cells and marks alike), where a second thread takes
 * over; p->ncells when the marks are half of it or more.
 */
static size_t
split_cell(const struct plan *p)
{
	size_t i = (p->ncells + p->nmarks) / 2;

	if (i >= p->ncells)
		return p->ncells;
	while (i > 0 && p->cells[i].layer == p->cells[i - 1].layer)
		i--;
	return i;
}

/*
 * Writes the second part (from cell split on) in a thread of its own into memory while the caller writes the
 * first, then appends it: the JSON formatting of a long plan (most of its cost) takes half the time on two
 * cores.  Falls back to one thread when none can be started.
 */
static void
dump_parts(struct dump *d, const struct plan *p, size_t split)
{
	struct dump	*d2 = xcalloc(1, sizeof(*d2));
	struct part	 first = { p, d, 0, split, 0 }, second = { p, d2, split, p->ncells, 1 };
	pthread_t	 tid;
	char		*text = NULL;
	size_t		 len = 0;

	d2->flags = d->flags;
	if ((d2->out = open_memstream(&text, &len)) == NULL ||
	    pthread_create(&tid, NULL, dump_part, &second) != 0) {
		if (d2->out != NULL)
			fclose(d2->out);
		free(text);
		free(d2);
		second.d = d;
		dump_part(&first);
		dump_part(&second);
		return;
	}
	dump_part(&first);
	pthread_join(tid, NULL);
	dump_flush(d2);
	if (fclose(d2->out) == EOF || d2->rc == -1)
		d->rc = -1;
	else
		dump_text(d, text, len);
	free(text);
	free(d2);
}

int
plan_dump_json(const struct plan *p, const char *file, FILE *out,
    size_t flags)
{
	struct dump	*d = xcalloc(1, sizeof(*d));
	json_t		*head = head_json(p, file);
	char		*text = json_dumps(head, flags | JSON_COMPACT);
	struct part	 all = { p, d, 0, p->ncells, 1 };
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
	if (p->ncells + p->nmarks >= DUMP_SPLIT_MIN)
		dump_parts(d, p, split_cell(p));
	else
		dump_part(&all);
	dump_flush(d);
	rc = d->rc;
	free(d);
	return rc;
}
