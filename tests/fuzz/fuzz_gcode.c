/*
 * fuzz_gcode.c: libFuzzer target for the gcode interpreter: fast, parsed-ahead and byte-wise paths must agree,
 * and plan_dump_json() must write what Jansson writes.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "gcode.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How one run feeds the input. */
struct way {
	int	 reference;	/* the byte-wise parser only */
	int	 premove;	/* moves parsed ahead by gcode_premove() */
	int	 mid_line;	/* what gcode_premove() is told of the second piece (may be wrong) */
};

/* Aborts unless plan_dump_json() writes json_dumps() of plan_to_json() and a newline. */
static void
dump_agrees(const struct plan *p)
{
	json_t	*j = plan_to_json(p, "fuzz");
	char	*want = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
	char	*got = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&got, &len);

	if (want == NULL || f == NULL ||
	    plan_dump_json(p, "fuzz", f, JSON_REAL_PRECISION(12)) == -1 ||
	    fclose(f) == EOF || len != strlen(want) + 1 ||
	    memcmp(want, got, len - 1) != 0 || got[len - 1] != '\n') {
		fprintf(stderr, "plan_dump_json() differs:\n%s\n%s\n", want,
		    got);
		abort();
	}
	json_decref(j);
	free(want);
	free(got);
}

/*
 * Feeds data in two pieces (cut at split) and returns the plan as compact
 * JSON, or "error: " and the message, both as the caller's to free.
 */
static char *
run(const uint8_t *data, size_t size, size_t split, int use_ams,
    const struct way *w)
{
	struct gcode_opts	 o;
	struct gcode_moves	*mv = NULL;
	struct gcode		*g;
	struct plan		*p = plan_new();
	atomic_int		 stop;
	const char		*piece[2] = { (const char *)data,
				    (const char *)data + split };
	size_t			 len[2] = { split, size - split };
	char			 err[ERRBUF_LEN], *out = NULL;
	int			 i, rc = 0;
	json_t			*j;

	atomic_init(&stop, 0);
	gcode_opts_default(&o);
	o.use_ams = use_ams;
	o.flags[GCODE_FLAG_EXTRUDE_CALI] = use_ams;
	o.reference = w->reference;
	g = gcode_new(&o);
	if (w->premove)
		mv = gcode_moves_new(size);
	for (i = 0; i < 2 && rc == 0; i++) {
		if (mv != NULL)
			gcode_premove(mv, piece[i], len[i], i == 1 ?
			    w->mid_line : 0, &stop);
		rc = gcode_feed_moves(g, piece[i], len[i], mv, err);
	}
	if (rc == 0)
		rc = gcode_finish(g, p, err);
	if (rc == 0 && w->reference)
		dump_agrees(p);
	if (rc == 0) {
		j = plan_to_json(p, "fuzz");
		out = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	} else if ((out = malloc(ERRBUF_LEN + 8)) != NULL)
		snprintf(out, ERRBUF_LEN + 8, "error: %s", err);
	gcode_moves_free(mv);
	gcode_free(g);
	plan_free(p);
	if (out == NULL)
		abort();
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct way ways[] = {
		{ 1, 0, 0 }, { 0, 0, 0 }, { 0, 1, 0 }, { 0, 1, 1 }
	};
	size_t	 splits[2] = { size, size / 2 };
	char	*want, *got;
	size_t	 s, w;

	for (s = 0; s < 2; s++) {
		want = run(data, size, splits[s], s == 0, &ways[0]);
		for (w = 1; w < sizeof(ways) / sizeof(ways[0]); w++) {
			got = run(data, size, splits[s], s == 0, &ways[w]);
			if (strcmp(want, got) != 0) {
				fprintf(stderr, "way %zu differs from the "
				    "byte-wise parser:\n%s\n%s\n", w, want,
				    got);
				abort();
			}
			free(got);
		}
		free(want);
	}
	return 0;
}
