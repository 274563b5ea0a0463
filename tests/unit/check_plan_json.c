/* check_plan_json.c: plan_dump_json() writes exactly plan_to_json()'s document, however long, and reports write errors. */
#include <check.h>
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

/*
 * Hundreds of KB of output, written through the 64 KiB buffer and, for a long plan, by two threads (split in the
 * layers, or with the marks the larger part): the same bytes as json_dumps().
 */
START_TEST(same_document_as_plan_to_json)
{
	static const int	 sizes[] = { 0, 1, 300, 20000, -6000 };	/* < 0: that many marks */
	struct plan		*p;
	json_t			*j;
	char			*want, *got;
	size_t			 gotlen, i;
	FILE			*f;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = sizes[i] < 0 ? many_marks(-sizes[i]) : long_plan(sizes[i]);
		if (sizes[i] < 0)
			ck_assert_uint_eq(p->nmarks, (size_t)-sizes[i]);
		j = plan_to_json(p, "long \"name\".gcode");
		ck_assert_ptr_nonnull(want = json_dumps(j, JSON_COMPACT |
		    JSON_REAL_PRECISION(12)));
		json_decref(j);
		ck_assert_ptr_nonnull(f = open_memstream(&got, &gotlen));
		ck_assert_int_eq(plan_dump_json(p, "long \"name\".gcode", f,
		    JSON_REAL_PRECISION(12)), 0);
		ck_assert_int_eq(fclose(f), 0);
		if (sizes[i] == 20000)
			ck_assert_uint_gt(gotlen, 4 * 64 * 1024);
		ck_assert_uint_eq(gotlen, strlen(want) + 1);
		ck_assert_int_eq(got[gotlen - 1], '\n');
		ck_assert_msg(memcmp(want, got, gotlen - 1) == 0,
		    "%d layers: the documents differ", sizes[i]);
		free(want);
		free(got);
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
	tcase_add_test(t, write_error_is_reported);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return ck_run(plan_json_suite());
}
