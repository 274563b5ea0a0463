/* gcode_plan.c: from the interpreter's chunks and progress marks to a finished plan. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "gcode_int.h"
#include "xmalloc.h"

/*
 * Ends the current segment: writes one chunk per filament that moved since
 * the last boundary.  Called at every layer marker and progress change.
 * Returns 0, or -1 with err set when the file has absurdly many of them.
 */
int
gcode_boundary(struct gcode *g, char *err)
{
	int i;

	if (g->nchunks + (size_t)g->nseg > GCODE_MAX_CHUNKS)
		return errbuf_set(err, "line %zu: more than %zu layer and "
		    "progress changes", g->lineno, GCODE_MAX_CHUNKS);
	if (g->nchunks + (size_t)g->nseg > g->capchunks) {
		g->capchunks = g->capchunks ? g->capchunks * 2 : 1024;
		g->chunks = xreallocarray(g->chunks, g->capchunks,
		    sizeof(*g->chunks));
	}
	for (i = 0; i < g->nseg; i++) {
		int			 f = g->seg_list[i];
		struct gcode_chunk	*c = &g->chunks[g->nchunks++];

		c->m73_layer = g->m73_layer;
		c->cl_layer = g->cl_layer;
		c->filament = f;
		c->mm = (double)g->seg_mm[f] / GCODE_UNIT;
		c->slicer_mm = g->seg_slicer[f];
		g->seg_mm[f] = g->seg_slicer[f] = 0;
		g->seg_touched[f] = 0;
	}
	g->nseg = 0;
	return 0;
}

/* Records that M73 P changed to percent at this point of the file. */
int
gcode_mark(struct gcode *g, int percent, char *err)
{
	struct gcode_mark *m;

	if (gcode_boundary(g, err) == -1)
		return -1;
	if (g->nmarks == GCODE_MAX_MARKS)
		return errbuf_set(err, "line %zu: more than %d progress "
		    "changes", g->lineno, GCODE_MAX_MARKS);
	if (g->nmarks == g->capmarks) {
		g->capmarks = g->capmarks ? g->capmarks * 2 : 128;
		g->marks = xreallocarray(g->marks, g->capmarks,
		    sizeof(*g->marks));
	}
	m = &g->marks[g->nmarks++];
	m->percent = percent;
	m->m73_layer = g->m73_layer;
	m->cl_layer = g->cl_layer;
	m->nchunks = g->nchunks;
	return 0;
}

static int
chunk_layer(const struct plan *p, const struct gcode_chunk *c)
{
	return p->layer_source == PLAN_LAYERS_CHANGE_LAYER ? c->cl_layer :
	    p->layer_source == PLAN_LAYERS_M73 ? c->m73_layer : 0;
}

/* Sort key of a chunk: layer, then filament, then position in the file. */
struct order {
	int	 layer;
	int	 filament;
	size_t	 seq;
};

static int
order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	if (x->filament != y->filament)
		return x->filament < y->filament ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * fill_cells() when the layers never go down in file order (every sliced
 * file): each layer's chunks are summed per filament as they come, in the
 * same order as after the sort, and the layer's cells written in filament
 * order.  Returns 0, or -1 (nothing done) when a layer goes down.
 */
static int
fill_cells_in_order(struct gcode *g, struct plan *p)
{
	struct plan_cell	 sum[PLAN_MAX_FILAMENTS + 1];
	char			 seen[PLAN_MAX_FILAMENTS + 1] = { 0 };
	int			 used[PLAN_MAX_FILAMENTS + 1], nused, layer, k, f;
	size_t			 i, j;

	for (i = 1; i < g->nchunks; i++)
		if (chunk_layer(p, &g->chunks[i]) <
		    chunk_layer(p, &g->chunks[i - 1]))
			return -1;
	p->cells = xcalloc(g->nchunks, sizeof(*p->cells));
	p->ncells = 0;
	for (i = 0; i < g->nchunks; i = j) {
		layer = chunk_layer(p, &g->chunks[i]);
		nused = 0;
		for (j = i; j < g->nchunks &&
		    chunk_layer(p, &g->chunks[j]) == layer; j++) {
			const struct gcode_chunk *c = &g->chunks[j];

			if (!seen[f = c->filament]) {
				/* Keeps used sorted: a layer has few filaments. */
				for (k = nused++; k > 0 && used[k - 1] > f; k--)
					used[k] = used[k - 1];
				used[k] = f;
				seen[f] = 1;
				sum[f] = (struct plan_cell){ layer, f, 0, 0 };
			}
			sum[f].mm += c->mm;
			sum[f].slicer_mm += c->slicer_mm;
		}
		for (k = 0; k < nused; k++) {
			p->cells[p->ncells++] = sum[used[k]];
			seen[used[k]] = 0;
		}
	}
	return 0;
}

/* Merges the chunks into one cell per (layer, filament), in layer order. */
static void
fill_cells(struct gcode *g, struct plan *p)
{
	struct order	*o;
	size_t		 i;

	if (fill_cells_in_order(g, p) == 0)
		return;
	o = xcalloc(g->nchunks, sizeof(*o));

	for (i = 0; i < g->nchunks; i++) {
		o[i].layer = chunk_layer(p, &g->chunks[i]);
		o[i].filament = g->chunks[i].filament;
		o[i].seq = i;
	}
	qsort(o, g->nchunks, sizeof(*o), order_cmp);
	p->cells = xcalloc(g->nchunks, sizeof(*p->cells));
	p->ncells = 0;
	for (i = 0; i < g->nchunks; i++) {
		const struct gcode_chunk	*c = &g->chunks[o[i].seq];
		struct plan_cell		*cell = NULL;

		if (p->ncells > 0)
			cell = &p->cells[p->ncells - 1];
		if (cell == NULL || cell->layer != o[i].layer ||
		    cell->filament != o[i].filament) {
			cell = &p->cells[p->ncells++];
			cell->layer = o[i].layer;
			cell->filament = o[i].filament;
		}
		cell->mm += c->mm;
		cell->slicer_mm += c->slicer_mm;
	}
	free(o);
}

/*
 * Turns each progress mark into the physical mm per filament extruded in its
 * layer up to that point: a running total per filament, reset whenever the
 * layer changes in file order.
 */
static void
fill_marks(struct gcode *g, struct plan *p)
{
	double	 run[PLAN_MAX_FILAMENTS] = { 0 };
	size_t	 ci = 0, mi, cap = g->nmarks * 4 + 1;
	int	 layer = 0, f;

	p->marks = xcalloc(g->nmarks ? g->nmarks : 1, sizeof(*p->marks));
	p->mark_amounts = xcalloc(cap, sizeof(*p->mark_amounts));

	for (mi = 0; mi < g->nmarks; mi++) {
		const struct gcode_mark	*gm = &g->marks[mi];
		struct plan_mark	*pm = &p->marks[p->nmarks++];
		struct gcode_chunk	 at = { gm->m73_layer, gm->cl_layer, 0, 0, 0 };

		for (; ci < gm->nchunks; ci++) {
			const struct gcode_chunk *c = &g->chunks[ci];

			if (chunk_layer(p, c) != layer) {
				memset(run, 0, sizeof(run));
				layer = chunk_layer(p, c);
			}
			run[c->filament] += c->mm;
		}
		if (chunk_layer(p, &at) != layer) {
			memset(run, 0, sizeof(run));
			layer = chunk_layer(p, &at);
		}
		pm->percent = gm->percent;
		pm->layer = layer;
		pm->first = p->nmark_amounts;
		for (f = 0; f < PLAN_MAX_FILAMENTS; f++) {
			if (run[f] == 0)
				continue;
			if (p->nmark_amounts == cap) {
				cap *= 2;
				p->mark_amounts = xreallocarray(p->mark_amounts,
				    cap, sizeof(*p->mark_amounts));
			}
			p->mark_amounts[p->nmark_amounts].filament = f;
			p->mark_amounts[p->nmark_amounts++].mm = run[f];
		}
		pm->count = p->nmark_amounts - pm->first;
	}
}

/* Gives E seen before any T to the first filament the file selects (or 0). */
static void
assign_notool(struct gcode *g)
{
	int	 to = g->first_tool != GCODE_NOTOOL ? g->first_tool :
		    g->slic.tool != GCODE_NOTOOL ? g->slic.tool : 0;
	size_t	 i;

	for (i = 0; i < g->nchunks; i++)
		if (g->chunks[i].filament == GCODE_NOTOOL)
			g->chunks[i].filament = to;
}

/* Maps the header's or footer's length list to filament indices. */
static void
fill_header_mm(const struct gcode *g, struct plan *p)
{
	const struct gcode_header	*h = &g->hdr;
	int				 used[PLAN_MAX_FILAMENTS], nused = 0;
	int				 i;

	if (h->nlengths == 0)
		return;
	if (h->nids == h->nlengths) {
		for (i = 0; i < h->nids; i++)
			p->filaments[h->ids[i] - 1].header_mm = h->lengths[i];
		return;
	}
	for (i = 0; i < PLAN_MAX_FILAMENTS; i++)
		if (p->filaments[i].slicer_mm > 0)
			used[nused++] = i;
	if (h->nlengths == h->ndensity && h->nlengths != nused) {
		for (i = 0; i < h->nlengths; i++)
			p->filaments[i].header_mm = h->lengths[i];
	} else if (h->nlengths == nused) {
		for (i = 0; i < nused; i++)
			p->filaments[used[i]].header_mm = h->lengths[i];
	} else if (h->nlengths <= PLAN_MAX_FILAMENTS) {
		for (i = 0; i < h->nlengths; i++)
			p->filaments[i].header_mm = h->lengths[i];
	}
}

static void
fill_filaments(const struct gcode *g, struct plan *p)
{
	size_t	i;
	int	f;

	for (i = 0; i < p->ncells; i++) {
		struct plan_filament *pf = &p->filaments[p->cells[i].filament];

		pf->mm += p->cells[i].mm;
		pf->slicer_mm += p->cells[i].slicer_mm;
		if (p->cells[i].mm != 0 || p->cells[i].slicer_mm != 0)
			pf->extrudes = 1;
	}
	for (f = 0; f < PLAN_MAX_FILAMENTS; f++) {
		if (f < g->hdr.ndensity)
			p->filaments[f].density = g->hdr.density[f];
		if (f < g->hdr.ndiameter)
			p->filaments[f].diameter = g->hdr.diameter[f];
	}
	fill_header_mm(g, p);
}

/*
 * Fills the plan from everything the interpreter collected.  Returns 0, or
 * -1 with err set when the input held no gcode command at all.
 */
int
gcode_plan_fill(struct gcode *g, struct plan *p, char *err)
{
	if (!g->seen_command)
		return errbuf_set(err, "no gcode commands found in %zu lines",
		    g->lineno);
	if (gcode_boundary(g, err) == -1)
		return -1;
	assign_notool(g);
	p->layer_source = g->seen_m73 ? PLAN_LAYERS_M73 :
	    g->cl_layer > 0 ? PLAN_LAYERS_CHANGE_LAYER : PLAN_LAYERS_NONE;
	p->layer_count = p->layer_source == PLAN_LAYERS_M73 ? g->max_m73 :
	    g->cl_layer;
	p->header_layer_count = g->hdr.total_layers;
	memcpy(p->slicer, g->hdr.slicer, sizeof(p->slicer));
	fill_cells(g, p);
	fill_marks(g, p);
	fill_filaments(g, p);
	return 0;
}
