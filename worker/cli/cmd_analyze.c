/* cmd_analyze.c: `spoolkeeper analyze`: filament per layer of a sliced file, as a table or JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "cli.h"
#include "errbuf.h"

#define USAGE "usage: spoolkeeper analyze FILE [--plate N] [--member NAME] " \
	"[--json] [--no-ams] [--flow-cali 0|1]"

struct args {
	const char		*file;
	int			 json;
	struct analyze_opts	 opts;
};

/* Parses a whole decimal integer in [lo, hi]; returns 0 or -1. */
static int
int_arg(const char *s, long lo, long hi, long *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char *argv[], struct args *a)
{
	long	v;
	int	i;

	memset(a, 0, sizeof(*a));
	analyze_opts_default(&a->opts);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--json") == 0)
			a->json = 1;
		else if (strcmp(arg, "--no-ams") == 0)
			a->opts.gcode.use_ams = 0;
		else if (strcmp(arg, "--plate") == 0 && val != NULL &&
		    int_arg(val, 1, 1000, &v) == 0) {
			a->opts.plate = (int)v;
			i++;
		} else if (strcmp(arg, "--member") == 0 && val != NULL) {
			a->opts.member = val;
			i++;
		} else if (strcmp(arg, "--flow-cali") == 0 && val != NULL &&
		    int_arg(val, 0, 1, &v) == 0) {
			a->opts.gcode.flags[GCODE_FLAG_EXTRUDE_CALI] = (int)v;
			i++;
		} else if (arg[0] != '-' && a->file == NULL)
			a->file = arg;
		else {
			fprintf(stderr, "spoolkeeper: analyze: bad argument "
			    "'%s' (%s)\n", arg, USAGE);
			return -1;
		}
	}
	if (a->file == NULL) {
		fprintf(stderr, "spoolkeeper: analyze: no FILE given (%s)\n",
		    USAGE);
		return -1;
	}
	return 0;
}

static void
print_num(double v, int width)
{
	if (isfinite(v))
		printf(" %*.2f", width, v);
	else
		printf(" %*s", width, "-");
}

static void
print_table(const struct plan *p, const char *file)
{
	size_t	i;
	int	f, layer = -1;

	printf("file:    %s\n", file);
	if (p->member[0] != '\0')
		printf("plate:   %d (%s)\n", p->plate, p->member);
	printf("slicer:  %s\n", p->slicer[0] ? p->slicer : "unknown");
	printf("layers:  %d", p->layer_count);
	if (p->header_layer_count >= 0)
		printf(" (header says %d)", p->header_layer_count);
	printf("\n\nfilament type       color         mm  grams  slicer_mm "
	    " header_mm  slice_info_g\n");
	for (f = 0; f < PLAN_MAX_FILAMENTS; f++) {
		const struct plan_filament *pf = &p->filaments[f];

		if (!pf->extrudes)
			continue;
		printf("T%-7d %-10.10s %-8.8s", f, pf->type[0] ? pf->type : "-",
		    pf->color[0] ? pf->color : "-");
		print_num(pf->mm, 10);
		print_num(plan_mm_to_grams(pf->mm, pf->diameter, pf->density), 6);
		print_num(pf->slicer_mm, 10);
		print_num(pf->header_mm, 10);
		print_num(pf->slice_info_g, 13);
		printf("\n");
	}
	printf("\nlayer  mm per filament");
	for (i = 0; i < p->ncells; i++) {
		if (p->cells[i].layer != layer) {
			layer = p->cells[i].layer;
			printf("\n%5d ", layer);
		}
		printf("  T%d %.2f", p->cells[i].filament, p->cells[i].mm);
	}
	printf("\n");
}

int
cmd_analyze(int argc, char *argv[])
{
	struct args	 a;
	struct plan	*p;
	char		 err[ERRBUF_LEN];

	if (parse_args(argc, argv, &a) == -1)
		return 2;
	if (analyze_path(a.file, &a.opts, &p, err) == -1) {
		fprintf(stderr, "spoolkeeper: %s: %s\n", a.file, err);
		return 1;
	}
	if (a.json)
		plan_dump_json(p, a.file, stdout, JSON_REAL_PRECISION(12));
	else
		print_table(p, a.file);
	plan_free(p);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "spoolkeeper: write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
