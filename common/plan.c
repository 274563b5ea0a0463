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

/* Returns the object of the layer whose cells start at *i, and advances *i past them. */
static json_t *
layer_json(const struct plan *p, size_t *i)
{
	json_t	*o = json_object(), *mm = json_object();
	int	 layer = p->cells[*i].layer;
	char	 key[16];

	for (; *i < p->ncells && p->cells[*i].layer == layer; (*i)++) {
		snprintf(key, sizeof(key), "%d", p->cells[*i].filament);
		json_object_set_new(mm, key, real4(p->cells[*i].mm));
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
	char	 key[16];

	for (j = m->first; j < m->first + m->count; j++) {
		snprintf(key, sizeof(key), "%d", p->mark_amounts[j].filament);
		json_object_set_new(mm, key, real4(p->mark_amounts[j].mm));
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

/* Dumps one value and releases it; returns 0 or -1. */
static int
dump_value(json_t *v, FILE *out, size_t flags)
{
	int rc = json_dumpf(v, out, flags | JSON_ENCODE_ANY);

	json_decref(v);
	return rc;
}

int
plan_dump_json(const struct plan *p, const char *file, FILE *out,
    size_t flags)
{
	json_t	*head = head_json(p, file);
	char	*text = json_dumps(head, flags | JSON_COMPACT);
	size_t	 i, len;
	int	 rc = 0;

	json_decref(head);
	if (text == NULL)
		return -1;
	len = strlen(text);		/* ends in '}' */
	rc |= fwrite(text, 1, len - 1, out) != len - 1;
	free(text);
	rc |= fputs(",\"layers\":[", out) == EOF;
	for (i = 0; i < p->ncells && rc == 0;) {
		if (i > 0)
			rc |= fputc(',', out) == EOF;
		rc |= dump_value(layer_json(p, &i), out, flags | JSON_COMPACT);
	}
	rc |= fputs("],\"progress\":[", out) == EOF;
	for (i = 0; i < p->nmarks && rc == 0; i++) {
		if (i > 0)
			rc |= fputc(',', out) == EOF;
		rc |= dump_value(mark_json(p, &p->marks[i]), out,
		    flags | JSON_COMPACT);
	}
	rc |= fputs("]}\n", out) == EOF;
	return rc ? -1 : 0;
}
