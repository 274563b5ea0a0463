/* check_gcode_num.c: unit tests of the gcode number parsing (fast and byte-wise paths), through gcode_feed(). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "gcode.h"
#include "plan.h"
#include "../harness/ckrun.h"

/* A number as an E word and the GCODE_UNIT (1e-6 mm) count it must give. */
struct num_case {
	const char	*text;
	long long	 units;
};

static const struct num_case cases[] = {
	{ ".5", 500000 },
	{ "-0.8", -800000 },
	{ "1.", 1000000 },
	{ "-0", 0 },
	{ "+.5", 500000 },
	{ "5", 5000000 },
	{ "12345", 12345000000LL },
	{ "99999.999999", 99999999999LL },
	{ "0.000001", 1 },
	{ "123.4567895", 123456790 },		/* the 7th decimal rounds */
	{ "123.4567894", 123456789 },
	{ "0.0000005", 1 },
	{ "-0.0000005", -1 },
	{ "0.00000049999", 0 },
	{ "0.9999995", 1000000 },
	{ "1.1234567890123456789", 1123457 },	/* long fraction */
	{ "-.12345678901234567890123", -123457 },
	{ "00000000001.5", 1500000 },		/* long integer part, small value */
	{ "1e3", 1000000000 },
	{ "1.5e1", 15000000 },
	{ "2.e1", 20000000 },
	{ "1.5e", 1500000 },			/* strtod stops before the e */
	{ "-2.5e-1", -250000 },
	{ "99999.9999995", 100000000000LL },	/* just the 1e5 mm limit */
	{ "12.34567", 12345670 },
	{ "1.23456", 1234560 },
};

/*
 * Feeds text in the pieces that cut it at the offsets of cuts (ascending,
 * ncuts of them), each piece in a buffer of exactly its size so that a
 * sanitizer sees any read past it.  Returns the plan, or NULL with err set.
 */
static struct plan *
run_cut(const char *text, const size_t *cuts, size_t ncuts, char *err)
{
	struct gcode	*g = gcode_new(NULL);
	struct plan	*p = plan_new();
	size_t		 len = strlen(text), off = 0, i, n;
	char		*piece;
	int		 rc = 0;

	for (i = 0; i <= ncuts && rc == 0; i++) {
		n = (i < ncuts ? cuts[i] : len) - off;
		if ((piece = malloc(n > 0 ? n : 1)) == NULL)
			ck_abort_msg("out of memory");
		memcpy(piece, text + off, n);
		rc = gcode_feed(g, piece, n, err);
		free(piece);
		off += n;
	}
	if (rc == 0)
		rc = gcode_finish(g, p, err);
	gcode_free(g);
	if (rc == -1) {
		plan_free(p);
		return NULL;
	}
	return p;
}

/* The E of filament 0 in a plan, in GCODE_UNIT. */
static long long
units(const struct plan *p)
{
	return llround(p->filaments[0].mm * 1e6);
}

/* Checks the value of cases[i] fed whole, without a final newline, and cut at every byte. */
START_TEST(values)
{
	const struct num_case	*c = &cases[_i];
	char			 text[256], err[ERRBUF_LEN];
	struct plan		*p;
	size_t			 len, k;
	int			 nl;

	for (nl = 0; nl < 2; nl++) {
		snprintf(text, sizeof(text), "M83\nT0\nG1 X1 E%s%s", c->text,
		    nl ? "\n" : "");
		len = strlen(text);
		for (k = 0; k <= len; k++) {
			p = run_cut(text, &k, 1, err);
			ck_assert_msg(p != NULL, "E%s cut at %zu: %s", c->text,
			    k, err);
			ck_assert_msg(units(p) == c->units, "E%s cut at %zu: %lld "
			    "units, want %lld", c->text, k, units(p), c->units);
			plan_free(p);
		}
	}
}
END_TEST

/* Each word of a move, long lines, blanks and carriage returns: the values add up. */
START_TEST(words_and_spellings)
{
	static const char *const texts[] = {
		"M83\nT0\nG1 X10.5 Y-3.25 Z.2 E1.5 F1200\nG1 E-0.5\n",
		"M83\nT0\nG1 X10.5\tY-3.25  Z.2   E1.5 F1200 ; comment E9\n"
		    "G1 E-0.5\r\n",
		"M83\nT0\nG1 X10.5Y-3.25Z.2E1.5F1200\nG1 E -0.5\n",
		"M83\nT0\nG1 X 10.5 Y -3.25 Z .2 E 1.5 F1200\nG1 E-.5\n",
		"M83\nT0\nG1 X123456.123456 Y123456.123456 Z123.123456 "
		    "E1.5 F1200\nG1 E-0.5\n",
		"M83\nT0\nG1 S1A X10.5 E1.5\n;VG1 X1 E7\nG1 E-.5",
	};
	char		 err[ERRBUF_LEN];
	struct plan	*p;
	size_t		 i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		p = run_cut(texts[i], NULL, 0, err);
		ck_assert_msg(p != NULL, "text %zu: %s", i, err);
		ck_assert_msg(units(p) == 1000000, "text %zu: %lld units", i,
		    units(p));
		plan_free(p);
	}
}
END_TEST

/* Positions are compared after rounding: a move by less than half a unit is no move. */
START_TEST(positions_round)
{
	char		 err[ERRBUF_LEN];
	struct plan	*p;

	/* The slicer counts E only with an XY move (rule S2). */
	p = run_cut("M83\nT0\nG1 X9999999.999999 Y1\n"
	    "G1 X9999999.9999994 E1\n", NULL, 0, err);
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(units(p), 1000000);
	ck_assert(p->filaments[0].slicer_mm == 0);
	plan_free(p);

	p = run_cut("M83\nT0\nG1 X9999999.999999 Y1\n"
	    "G1 X9999999.9999996 E1\n", NULL, 0, err);
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert(p->filaments[0].slicer_mm == 1);
	plan_free(p);

	p = run_cut("M83\nT0\nG1 X5 Y1\nG1 X5.0000004 E1\nG1 X4.9999996 E1\n"
	    "G1 X4.9999994 E1\n", NULL, 0, err);
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(units(p), 3000000);
	ck_assert(p->filaments[0].slicer_mm == 1);	/* only the last moved */
	plan_free(p);
}
END_TEST

/* Text that is no number, or too large a one, gives the same messages on every path. */
START_TEST(bad_numbers)
{
	static const struct {
		const char	*text;
		const char	*msg;
	} bad[] = {
		{ "G1 X1 E1e308\n", "line 1: E value is not a finite number "
		    "within 1e+07 mm" },
		{ "G1 X1 E1e999\n", "line 1: E value is not a finite number "
		    "within 1e+07 mm" },
		{ "G1 X1 E nan\n", "line 1: E without a number" },
		{ "G1 X1 ENaN\n", "line 1: E without a number" },
		{ "G1 X1 E\n", "line 1: E without a number" },
		{ "G1 X1 E", "line 1: E without a number" },
		{ "G1 X1 E-\n", "line 1: E without a number" },
		{ "G1 X1 E.\n", "line 1: E without a number" },
		{ "G1 X1 E+-1\n", "line 1: E without a number" },
		{ "G1 X1 E;1\n", "line 1: E without a number" },
		{ "G1 X12345678\n", "line 1: X value is not a finite number "
		    "within 1e+07 mm" },
		{ "G1 Y10000001\n", "line 1: Y value is not a finite number "
		    "within 1e+07 mm" },
		{ "G1 Z-99999999.5\n", "line 1: Z value is not a finite "
		    "number within 1e+07 mm" },
		{ "G1 X10000000.0000005\n", "line 1: position beyond "
		    "1e+07 mm" },
		{ "M83\nG1 E100000.000001\n", "line 2: an extrusion of "
		    "100000.0 mm in one move is absurd" },
	};
	char		 err[ERRBUF_LEN];
	size_t		 i, k, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = strlen(bad[i].text);
		for (k = 0; k <= len; k++) {
			err[0] = '\0';
			ck_assert_msg(run_cut(bad[i].text, &k, 1, err) == NULL,
			    "%s: no error", bad[i].text);
			ck_assert_msg(strcmp(err, bad[i].msg) == 0,
			    "%s cut at %zu: \"%s\", want \"%s\"", bad[i].text, k,
			    err, bad[i].msg);
		}
	}
}
END_TEST

/* Runs of 4 to 40 digits on both sides of the point, cut everywhere: no number is cut short. */
START_TEST(long_digit_runs)
{
	char		 text[160], err[ERRBUF_LEN];
	struct plan	*p;
	long long	 want;
	size_t		 k, len;
	int		 z, side;

	for (side = 0; side < 2; side++)
		for (z = 4; z <= 40; z++) {
			/* 1.<z zeros>15, or <z zeros>1.5 */
			if (side == 0) {
				snprintf(text, sizeof(text),
				    "M83\nT0\nG1 X1 E1.%0*d15\n", z, 0);
				want = z == 4 ? 1000015 : z == 5 ? 1000002 :
				    1000000;
			} else {
				snprintf(text, sizeof(text),
				    "M83\nT0\nG1 X1 E%0*d1.5\n", z, 0);
				want = 1500000;
			}
			len = strlen(text);
			for (k = 0; k <= len; k++) {
				p = run_cut(text, &k, 1, err);
				ck_assert_msg(p != NULL, "%s: %s", text, err);
				ck_assert_msg(units(p) == want, "%s cut at %zu: "
				    "%lld, want %lld", text, k, units(p), want);
				plan_free(p);
			}
		}
}
END_TEST

static Suite *
gcode_num_suite(void)
{
	Suite	*s = suite_create("gcode_num");
	TCase	*t;

	t = tcase_create("values");
	tcase_add_loop_test(t, values, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, t);
	t = tcase_create("words_and_spellings");
	tcase_add_test(t, words_and_spellings);
	suite_add_tcase(s, t);
	t = tcase_create("positions_round");
	tcase_add_test(t, positions_round);
	suite_add_tcase(s, t);
	t = tcase_create("bad_numbers");
	tcase_add_test(t, bad_numbers);
	suite_add_tcase(s, t);
	t = tcase_create("long_digit_runs");
	tcase_add_test(t, long_digit_runs);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return ck_run(gcode_num_suite());
}
