/* check_plan_json.c: plan_dump_json() writes exactly plan_to_json()'s document, however long, and reports write errors. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "gcode.h"
#include "plan.h"
#include "../harness/ckrun.h"

/* A plan of nlayers layers, two filaments and a progress mark per 1%, from generated gcode. */
static struct plan *
long_plan(int nlayers)
{
	struct gcode	*g = gcode_new(NULL);
	struct plan	*p = plan_new();
	char		 line[128], err[ERRBUF_LEN];
	int		 i, n;

	for (i = 0; i <= nlayers; i++) {
		n = snprintf(line, sizeof(line), "M73 P%d\nM73 L%d\nT%d\n"
		    "G1 X%d Y1 E%d.%04d\n", nlayers ? i * 100 / nlayers : 100, i,
		    i % 2, i, i % 7, i % 10000);
		ck_assert_msg(gcode_feed(g, line, (size_t)n, err) == 0, "%s",
		    err);
	}
	ck_assert_msg(gcode_finish(g, p, err) == 0, "%s", err);
	gcode_free(g);
	return p;
}

/* A plan of one layer and n progress marks (the percent goes back and forth). */
static struct plan *
many_marks(int n)
{
	struct gcode	*g = gcode_new(NULL);
	struct plan	*p = plan_new();
	char		 line[64], err[ERRBUF_LEN];
	int		 i, len;

	for (i = 0; i < n; i++) {
		len = snprintf(line, sizeof(line), "M73 P%d\nT0\nG1 X%d E0.5\n", i % 2, i);
		ck_assert_msg(gcode_feed(g, line, (size_t)len, err) == 0, "%s", err);
	}
	ck_assert_msg(gcode_finish(g, p, err) == 0, "%s", err);
	gcode_free(g);
	return p;
}

/* Checks that plan_dump_json() writes json_dumps() of plan_to_json() and a newline; returns the length. */
static size_t
same_as_jansson(const struct plan *p, const char *what)
{
	json_t	*j = plan_to_json(p, "long \"name\".gcode");
	char	*want, *got;
	size_t	 gotlen;
	FILE	*f;

	ck_assert_ptr_nonnull(want = json_dumps(j, JSON_COMPACT |
	    JSON_REAL_PRECISION(12)));
	json_decref(j);
	ck_assert_ptr_nonnull(f = open_memstream(&got, &gotlen));
	ck_assert_int_eq(plan_dump_json(p, "long \"name\".gcode", f,
	    JSON_REAL_PRECISION(12)), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_eq(gotlen, strlen(want) + 1);
	ck_assert_int_eq(got[gotlen - 1], '\n');
	ck_assert_msg(memcmp(want, got, gotlen - 1) == 0,
	    "%s: the documents differ:\n%s\n%.*s", what, want, (int)gotlen,
	    got);
	free(want);
	free(got);
	return gotlen;
}

/*
 * A plan holding the n values v as layer cells (four a layer, filaments 0
 * to 31 so that keys have one and two digits) and as progress amounts
 * (three a mark).
 */
static struct plan *
valued_plan(const double *v, size_t n)
{
	struct plan	*p = plan_new();
	size_t		 i;

	ck_assert_ptr_nonnull(p->cells = calloc(n, sizeof(*p->cells)));
	ck_assert_ptr_nonnull(p->marks = calloc(n / 3 + 1, sizeof(*p->marks)));
	ck_assert_ptr_nonnull(p->mark_amounts = calloc(n,
	    sizeof(*p->mark_amounts)));
	for (i = 0; i < n; i++) {
		p->cells[i].layer = (int)(i / 4);
		p->cells[i].filament = (int)(i % 4 * 10 + i / 4 % 2);
		p->cells[i].mm = v[i];
		p->mark_amounts[i].filament = (int)(i % 3 * 10 + i % 2);
		p->mark_amounts[i].mm = v[i];
	}
	p->ncells = p->nmark_amounts = n;
	for (i = 0; i < n / 3; i++) {
		p->marks[i].percent = (int)(i % 101);
		p->marks[i].layer = (int)(i / 4);
		p->marks[i].first = 3 * i;
		p->marks[i].count = 3;
	}
	p->nmarks = n / 3;
	return p;
}

/*
 * plan.c writes the layer and progress objects itself: every kind of value
 * comes out as Jansson writes it, and those it cannot write exactly (1e8 mm
 * and more, non-finite) are left to Jansson.
 */
START_TEST(numbers_as_jansson_writes_them)
{
	static const double edges[] = {
		0, -0.0, 1e-5, -1e-5, 4.999e-5, 5e-5, -5e-5, 1.5e-4, 0.1, 0.2,
		0.1 + 0.2, 0.3, 2.5, -2.5, 1.00005, 123.45675, 136.8, 12345.6789,
		-13.2901, 1000, 99999999.99994, -99999999.99994, 99999999.99995,
		1e8, 1e12, 1e15, 1e300, -1e300, DBL_MIN, DBL_TRUE_MIN, DBL_MAX,
		NAN, INFINITY, -INFINITY
	};
	enum { NRANDOM = 30000 };
	double		*v = calloc(NRANDOM, sizeof(*v));
	struct plan	*p;
	size_t		 i;
	unsigned	 seed = 12345;

	ck_assert_ptr_nonnull(v);
	p = valued_plan(edges, sizeof(edges) / sizeof(edges[0]));
	same_as_jansson(p, "edges");
	plan_free(p);
	/* Every magnitude from 1e-6 to 1e12, either sign, and halves at the 4th decimal. */
	for (i = 0; i < NRANDOM; i++) {
		seed = seed * 1103515245 + 12345;
		v[i] = pow(10, (double)(seed >> 8 & 0xffff) / 0xffff * 18 - 6);
		if (i % 3 == 1)
			v[i] = (floor(v[i] * 10000) + 0.5) / 10000;
		if (seed >> 30)
			v[i] = -v[i];
	}
	p = valued_plan(v, NRANDOM);
	same_as_jansson(p, "random");
	/* Filaments out of order or twice in a layer or mark (Jansson keeps one of a key): left to Jansson. */
	for (i = 0; i < 100; i++) {
		p->cells[i].layer = 0;
		p->cells[i].filament = (int)(i % 32);
		p->cells[i].mm = p->mark_amounts[i].mm = -1e7 - 0.5 * (double)i;
	}
	p->marks[0].count = 100;
	same_as_jansson(p, "crowded");
	plan_free(p);
	free(v);
}
END_TEST

/* Hundreds of KB of output, written through the 64 KiB buffer: the same bytes as json_dumps(). */
START_TEST(same_document_as_plan_to_json)
{
	static const int	 sizes[] = { 0, 1, 300, 20000, -6000 };	/* < 0: that many marks */
	struct plan		*p;
	size_t			 len, i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = sizes[i] < 0 ? many_marks(-sizes[i]) : long_plan(sizes[i]);
		if (sizes[i] < 0)
			ck_assert_uint_eq(p->nmarks, (size_t)-sizes[i]);
		len = same_as_jansson(p, "long plan");
		if (sizes[i] == 20000)
			ck_assert_uint_gt(len, 4 * 64 * 1024);
		plan_free(p);
	}
}
END_TEST

/* A full disk is an error, not a short document passed off as whole. */
START_TEST(write_error_is_reported)
{
	struct plan	*p = long_plan(20000);
	FILE		*f = fopen("/dev/full", "w");

	ck_assert_ptr_nonnull(f);
	setvbuf(f, NULL, _IONBF, 0);
	ck_assert_int_eq(plan_dump_json(p, "x", f, 0), -1);
	fclose(f);
	plan_free(p);
}
END_TEST

static Suite *
plan_json_suite(void)
{
	Suite	*s = suite_create("plan_json");
	TCase	*t = tcase_create("plan_json");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, same_document_as_plan_to_json);
	tcase_add_test(t, numbers_as_jansson_writes_them);
	tcase_add_test(t, write_error_is_reported);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return ck_run(plan_json_suite());
}
