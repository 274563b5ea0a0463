/* check_gcode.c: unit tests of the gcode interpreter, one small hand-written fixture per behaviour. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "gcode.h"
#include "plan.h"
#include "../harness/ckrun.h"

#define EPS 1e-9

/* Feeds text in pieces of `step` bytes (0 = whole) and returns the plan, or NULL with err set. */
static struct plan *
run_step(const char *text, const struct gcode_opts *opts, size_t step,
    char *err)
{
	struct gcode	*g = gcode_new(opts);
	struct plan	*p = plan_new();
	size_t		 len = strlen(text), off, n;

	for (off = 0; off < len; off += n) {
		n = step == 0 || len - off < step ? len - off : step;
		if (gcode_feed(g, text + off, n, err) == -1)
			goto fail;
	}
	if (gcode_finish(g, p, err) == -1)
		goto fail;
	gcode_free(g);
	return p;
fail:
	gcode_free(g);
	plan_free(p);
	return NULL;
}

static struct plan *
run(const char *text)
{
	char		 err[ERRBUF_LEN] = "";
	struct plan	*p = run_step(text, NULL, 0, err);

	ck_assert_msg(p != NULL, "unexpected error: %s", err);
	return p;
}

/* Runs text that must fail and returns the error message (static). */
static const char *
run_fail(const char *text)
{
	static char	 err[ERRBUF_LEN];
	struct plan	*p = run_step(text, NULL, 0, err);

	ck_assert_msg(p == NULL, "expected an error for: %.60s", text);
	return err;
}

static double
cell(const struct plan *p, int layer, int f, int slicer)
{
	size_t i;

	for (i = 0; i < p->ncells; i++)
		if (p->cells[i].layer == layer && p->cells[i].filament == f)
			return slicer ? p->cells[i].slicer_mm : p->cells[i].mm;
	return 0;
}

#define ck_mm(v, want) ck_assert_msg(fabs((v) - (want)) < 1e-6, \
	"%s = %.9f, want %.9f", #v, (double)(v), (double)(want))

START_TEST(relative_e_sums_signed_moves)
{
	struct plan *p = run("M83\nG1 X10 Y0 E1.5\nG1 E-0.8\nG1 E0.8\n"
	    "G1 X20 E2\n");

	ck_mm(p->filaments[0].mm, 3.5);
	ck_mm(p->filaments[0].slicer_mm, 3.5);	/* retract pair ignored */
	ck_assert_int_eq(p->filaments[0].extrudes, 1);
	plan_free(p);
}
END_TEST

START_TEST(absolute_e_with_g92)
{
	struct plan *p = run("M82\nG92 E0\nG1 X1 E2\nG1 X2 E5\nG92 E0\n"
	    "G1 X3 E1\nG1 E0.5\n");

	ck_mm(p->filaments[0].mm, 5.5);		/* 2 + 3 + 1 - 0.5 */
	ck_mm(p->filaments[0].slicer_mm, 6);	/* positive XY moves only */
	plan_free(p);
}
END_TEST

START_TEST(g91_makes_e_relative_too)
{
	struct plan *p = run("M82\nG91\nG1 X1 E1\nG1 X1 E1\nG90\nM83\n"
	    "G1 X5 E1\n");

	ck_mm(p->filaments[0].mm, 3);
	plan_free(p);
}
END_TEST

START_TEST(arcs_count_signed_e)
{
	struct plan *p = run("M83\nG1 X10 Y10 F600\nG2 X20 Y10 I5 J0 E1.25\n"
	    "G3 X10 Y10 I-5 J0 E-0.25\n");

	ck_mm(p->filaments[0].mm, 1);
	ck_mm(p->filaments[0].slicer_mm, 1);	/* S3: negative arc subtracts */
	plan_free(p);
}
END_TEST

START_TEST(tool_changes_attribute_e)
{
	struct plan *p = run("M83\nT1\nG1 X1 E2\nM620 S3A\nT3\nM621 S3A\n"
	    "G1 X2 E4\nT255\nG1 X3 E1\nT1000\nT1100\nT65535\nG1 X4 E1\n");

	ck_mm(p->filaments[1].mm, 2);
	ck_mm(p->filaments[3].mm, 6);	/* T255/T1000/T1100/T65535 keep T3 */
	ck_assert_int_eq(p->filaments[0].extrudes, 0);
	plan_free(p);
}
END_TEST

START_TEST(m620_does_not_select)
{
	struct plan *p = run("M83\nT0\nM620 S1A\nG1 E-2\nT1\nG1 E5\nM621 S1A\n");

	ck_mm(p->filaments[0].mm, -2);	/* the old filament is loaded until T */
	ck_mm(p->filaments[1].mm, 5);
	plan_free(p);
}
END_TEST

START_TEST(m1020_selects)
{
	struct plan *p = run("M83\nM1020 S2\nG1 X1 E3\n");

	ck_mm(p->filaments[2].mm, 3);
	plan_free(p);
}
END_TEST

START_TEST(e_before_any_tool_goes_to_first_tool)
{
	struct plan *p = run("M83\nG1 X1 E4\nM73 L1\nT2\nG1 X2 E1\n");

	ck_mm(cell(p, 0, 2, 0), 4);
	ck_mm(p->filaments[2].mm, 5);
	ck_assert_int_eq(p->filaments[0].extrudes, 0);
	plan_free(p);
}
END_TEST

START_TEST(layer_zero_and_m73_layers)
{
	struct plan *p = run("M83\nT0\nG1 E50\nG1 X1 E3\n; CHANGE_LAYER\n"
	    "G1 X2 E-0.5\nM73 L1\nG1 X3 E2\n; CHANGE_LAYER\nM73 L2\n"
	    "G1 X4 E7\n");

	ck_assert_int_eq(p->layer_source, PLAN_LAYERS_M73);
	ck_assert_int_eq(p->layer_count, 2);
	ck_mm(cell(p, 0, 0, 0), 52.5);	/* wipe before M73 L1 stays in 0 */
	ck_mm(cell(p, 1, 0, 0), 2);
	ck_mm(cell(p, 2, 0, 0), 7);
	ck_mm(cell(p, 0, 0, 1), 3);	/* E-only purge not counted by the slicer */
	plan_free(p);
}
END_TEST

/*
 * Cells come in layer, then filament order, summed in file order: when the
 * layers only go up (summed as they come) and when M73 L goes back (sorted).
 */
START_TEST(cells_in_layer_then_filament_order)
{
	static const char *const texts[] = {
		"M83\nM73 L1\nT3\nG1 X1 E1\nT1\nG1 X2 E2\nT3\nG1 X3 E4\n"
		"M73 P50\nT2\nG1 X4 E8\nM73 L2\nT1\nG1 X5 E16\n",
		"M83\nM73 L2\nT1\nG1 X5 E16\nM73 L1\nT3\nG1 X1 E1\nT1\n"
		"G1 X2 E2\nT3\nG1 X3 E4\nM73 P50\nT2\nG1 X4 E8\nM73 L2\n"
	};
	static const struct { int layer, f; double mm; } want[2][4] = {
		{ { 1, 1, 2 }, { 1, 2, 8 }, { 1, 3, 5 }, { 2, 1, 16 } },
		{ { 1, 1, 2 }, { 1, 2, 8 }, { 1, 3, 5 }, { 2, 1, 16 } }
	};
	size_t	 t, i;

	for (t = 0; t < 2; t++) {
		struct plan *p = run(texts[t]);

		ck_assert_uint_eq(p->ncells, 4);
		for (i = 0; i < 4; i++) {
			ck_assert_int_eq(p->cells[i].layer, want[t][i].layer);
			ck_assert_int_eq(p->cells[i].filament, want[t][i].f);
			ck_mm(p->cells[i].mm, want[t][i].mm);
		}
		plan_free(p);
	}
}
END_TEST

START_TEST(change_layer_without_m73)
{
	struct plan *p = run("M83\nG1 X1 E1\n; CHANGE_LAYER\nG1 X2 E2\n"
	    ";LAYER_CHANGE\n; CHANGE_LAYER\nG1 X3 E3\n; CHANGE_LAYER\n");

	ck_assert_int_eq(p->layer_source, PLAN_LAYERS_CHANGE_LAYER);
	ck_assert_int_eq(p->layer_count, 3);
	ck_mm(cell(p, 1, 0, 0), 2);
	ck_mm(cell(p, 2, 0, 0), 3);
	plan_free(p);
}
END_TEST

START_TEST(flush_counted_by_slicer_only_inside_tags)
{
	struct plan *p = run("M83\nT0\nG1 X1 E1\nT1\n; FLUSH_START\nG1 E10\n"
	    "G1 E5\n; FLUSH_END\nG1 E-2\nG1 E2\nG1 E3\n");

	ck_mm(p->filaments[1].mm, 18);
	ck_mm(p->filaments[1].slicer_mm, 15);	/* unretract outside flush ignored */
	plan_free(p);
}
END_TEST

START_TEST(wipe_moves_not_counted_by_slicer)
{
	struct plan *p = run("M83\nG1 X1 E2\n; WIPE_START\nG1 X2 E-0.4\n"
	    "G1 X3 E0.3\n; WIPE_END\n; WIPE_TOWER_START\nG1 X4 E1\n");

	ck_mm(p->filaments[0].mm, 2.9);
	ck_mm(p->filaments[0].slicer_mm, 3);
	plan_free(p);
}
END_TEST

START_TEST(bs2_flush_split_charges_previous)
{
	/* 107 mm3 of the flush after a change go to the previous filament (S5). */
	const char *text = "; HEADER_BLOCK_START\n; BambuStudio 02.05.00.66\n"
	    "; filament_diameter: 1.75,1.75\n; HEADER_BLOCK_END\n"
	    "; CONFIG_BLOCK_START\n; nozzle_volume = 107\n; CONFIG_BLOCK_END\n"
	    "M83\nT0\nG1 X1 E10\nT1\n; FLUSH_START\nG1 E100\n; FLUSH_END\n";
	struct plan	*p = run(text);
	double		 area = 3.14159265358979323846 * 0.875 * 0.875;
	double		 split = 107 / area;

	ck_mm(p->filaments[0].slicer_mm, 10 + split);
	ck_mm(p->filaments[1].slicer_mm, 100 - split);
	ck_mm(p->filaments[1].mm, 100);		/* physical: no split */
	plan_free(p);
}
END_TEST

START_TEST(bs1_has_no_flush_split)
{
	struct plan *p = run("; HEADER_BLOCK_START\n; BambuStudio 01.10.01.50\n"
	    "; HEADER_BLOCK_END\n; CONFIG_BLOCK_START\n; nozzle_volume = 107\n"
	    "; CONFIG_BLOCK_END\nM83\nT0\nG1 X1 E10\nT1\n; FLUSH_START\n"
	    "G1 E100\n; FLUSH_END\n");

	ck_mm(p->filaments[0].slicer_mm, 10);
	ck_mm(p->filaments[1].slicer_mm, 100);
	plan_free(p);
}
END_TEST

START_TEST(long_retraction_moves_filament)
{
	/* P4 + P3: -12 on the old filament, +12 re-prime on the new one. */
	struct plan *p = run("M83\nT0\nG1 X1 E20\nM620 S1A\n"
	    "M620.11 S1 I0 E-12 F299\nT1\nM620.11 S1 I0 E12 F299\nM628 S1\n"
	    "G92 E0\nG1 E12 F299\nM400\nM629 S1\nM621 S1A\n");

	ck_mm(p->filaments[0].mm, 8);
	ck_mm(p->filaments[1].mm, 12);
	ck_mm(p->filaments[1].slicer_mm, 0);	/* re-prime is E-only, no flush tag */
	plan_free(p);
}
END_TEST

START_TEST(h2d_long_retraction_without_index_ignored)
{
	struct plan *p = run("M83\nT0\nG1 X1 E5\nM628 S1\n"
	    "M620.11 S1 L0 I B R10 D8 E-18\nM629\nT1\n");

	ck_mm(p->filaments[0].mm, 5);
	plan_free(p);
}
END_TEST

START_TEST(vg1_in_vflush_is_firmware_flush)
{
	struct plan *p = run("M83\nT0\nG1 X1 E1\nT1\n;VG1 E4\n; VFLUSH_START\n"
	    ";VG1 E30 F300\n;VG1 E20\n; VFLUSH_END\n;VG1 E4\nG1 X2 E1\n");

	ck_mm(p->filaments[1].mm, 51);		/* only VFLUSH stand-ins, P6 */
	ck_mm(p->filaments[1].slicer_mm, 51);	/* S4 for ;VG1 in VFLUSH */
	plan_free(p);
}
END_TEST

START_TEST(judge_flag_branches)
{
	const char *text = "M83\nT0\nM1002 judge_flag extrude_cali_flag\n"
	    "M622 J1\nG1 X1 E60\nM623\nM1002 judge_flag extrude_cali_flag\n"
	    "M622 J0\nG1 X2 E14\nM623\nM622.1 S1\nG1 X3 E1\n";
	struct gcode_opts	 o;
	char			 err[ERRBUF_LEN];
	struct plan		*p = run(text);

	ck_mm(p->filaments[0].mm, 15);		/* unknown flag: J0 (P8) */
	ck_mm(p->filaments[0].slicer_mm, 75);	/* slicer counts both (S1) */
	plan_free(p);
	gcode_opts_default(&o);
	o.flags[GCODE_FLAG_EXTRUDE_CALI] = 1;
	p = run_step(text, &o, 0, err);
	ck_assert_ptr_nonnull(p);
	ck_mm(p->filaments[0].mm, 61);
	plan_free(p);
}
END_TEST

START_TEST(nested_conditions)
{
	struct plan *p = run("M83\nM1002 judge_flag timelapse_record_flag\n"
	    "M622 J0\nG1 X1 E1\nM1002 judge_flag extrude_cali_flag\nM622 J1\n"
	    "G1 X2 E100\nM623\nG1 X3 E2\nM623\nG1 X4 E4\n");

	ck_mm(p->filaments[0].mm, 7);
	plan_free(p);
}
END_TEST

START_TEST(no_ams_skips_change_blocks)
{
	const char *text = "M83\nT0\nG1 X1 E1\nM620 S1A\nT1\n; FLUSH_START\n"
	    "G1 E40\n; FLUSH_END\nM621 S1A\nG1 X2 E2\nM620 S255\nT255\n"
	    "M621 S255\n";
	struct gcode_opts	 o;
	char			 err[ERRBUF_LEN];
	struct plan		*p;

	gcode_opts_default(&o);
	o.use_ams = 0;
	p = run_step(text, &o, 0, err);
	ck_assert_ptr_nonnull(p);
	ck_mm(p->filaments[0].mm, 3);		/* T1 never ran (P7) */
	ck_assert_int_eq(p->filaments[1].extrudes, 1);	/* slicer still counts */
	ck_mm(p->filaments[1].mm, 0);
	plan_free(p);
}
END_TEST

START_TEST(progress_marks_record_layer_so_far)
{
	struct plan *p = run("M73 P0 R10\nM83\nT0\nG1 X1 E5\nM73 L1\n"
	    "G1 X2 E2\nM73 P40 R6\nG1 X3 E3\nM73 P40 R5\nT1\nG1 X4 E1\n"
	    "M73 P60 R4\nM73 L2\nG1 X5 E9\nM73 P100 R0\n");
	const struct plan_mark *m;

	ck_assert_int_eq(p->nmarks, 4);	/* P0, P40, P60, P100: repeats skipped */
	m = &p->marks[1];
	ck_assert_int_eq(m->percent, 40);
	ck_assert_int_eq(m->layer, 1);
	ck_assert_int_eq(m->count, 1);
	ck_mm(p->mark_amounts[m->first].mm, 2);
	m = &p->marks[2];
	ck_assert_int_eq(m->count, 2);
	ck_mm(p->mark_amounts[m->first].mm, 5);		/* T0: 2 + 3 */
	ck_mm(p->mark_amounts[m->first + 1].mm, 1);	/* T1 */
	m = &p->marks[3];
	ck_assert_int_eq(m->layer, 2);
	ck_mm(p->mark_amounts[m->first].mm, 9);
	plan_free(p);
}
END_TEST

START_TEST(crlf_comments_and_blanks)
{
	struct plan *p = run("M83\r\n  G1 X1 E1 ; extrude\r\n\r\n;G1 X2 E100\r\n"
	    "\tG1 X2 E2;x\r\nG1 X3 E0.5");	/* last line without newline */

	ck_mm(p->filaments[0].mm, 3.5);
	plan_free(p);
}
END_TEST

START_TEST(missing_and_unknown_parameters)
{
	struct plan *p = run("M83\nG1\nG1 F3000\nG1 X1 Y2 Z0.2 F600 E1.25 "
	    "Q7\nG0 E-.8\nG1 E.8\nG28\nM73\nT\nM620.1 E F523 T240\n");

	ck_mm(p->filaments[0].mm, 1.25);
	plan_free(p);
	ck_assert_ptr_nonnull(strstr(run_fail("M83\nG1 X1 E\n"),
	    "E without a number"));
}
END_TEST

START_TEST(header_and_footer_figures)
{
	struct plan *p = run("; HEADER_BLOCK_START\n; BambuStudio 02.05.00.66\n"
	    "; total layer number: 2\n; total filament length [mm] : 3,4\n"
	    "; filament_density: 1.24,1.04,1.25,1.24\n"
	    "; filament_diameter: 1.75,1.75,1.75,2.85\n; filament: 1,4\n"
	    "; HEADER_BLOCK_END\nM83\nT0\nG1 X1 E3\nT3\nG1 X2 E4\n");

	ck_assert_str_eq(p->slicer, "BambuStudio 02.05.00.66");
	ck_assert_int_eq(p->header_layer_count, 2);
	ck_mm(p->filaments[0].header_mm, 3);
	ck_mm(p->filaments[3].header_mm, 4);
	ck_mm(p->filaments[3].diameter, 2.85);
	ck_mm(p->filaments[1].density, 1.04);
	plan_free(p);
	p = run("M83\nG1 X1 E2\n; EXECUTABLE_BLOCK_END\n"
	    "; filament used [mm] = 0.00, 2.00\n");
	ck_assert(isnan(p->filaments[0].header_mm) ||
	    p->filaments[0].header_mm == 0);
	plan_free(p);
}
END_TEST

START_TEST(split_feeding_gives_same_plan)
{
	const char *text = "; HEADER_BLOCK_START\n; total layer number: 2\n"
	    "; HEADER_BLOCK_END\nM83\nT0\nG1 X1.2345 Y2 E1.23456\nM73 L1\n"
	    "G1 X2 E0.001\nM73 P50\nT1\nG2 X1 Y1 I1 J0 E2.5\nM73 L2\n"
	    "G1 X3 E-0.123456\n";
	char		 err[ERRBUF_LEN];
	struct plan	*whole = run(text), *p;
	size_t		 step, i;

	for (step = 1; step < 9; step++) {
		p = run_step(text, NULL, step, err);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(p->ncells, whole->ncells);
		for (i = 0; i < p->ncells; i++)
			ck_assert(p->cells[i].mm == whole->cells[i].mm);
		ck_assert_int_eq(p->header_layer_count, 2);
		plan_free(p);
	}
	plan_free(whole);
}
END_TEST

START_TEST(per_layer_sums_equal_totals)
{
	struct plan	*p = run("M83\nT0\nG1 X1 E0.1\nM73 L1\nG1 X2 E0.2\n"
	    "T1\nG1 X3 E0.7\nM73 L2\nT0\nG1 X4 E0.3\nG1 X5 E-0.05\n");
	double		 sum[2] = { 0, 0 };
	size_t		 i;

	for (i = 0; i < p->ncells; i++)
		sum[p->cells[i].filament] += p->cells[i].mm;
	ck_assert(sum[0] == p->filaments[0].mm);
	ck_assert(sum[1] == p->filaments[1].mm);
	ck_mm(sum[0], 0.55);
	plan_free(p);
}
END_TEST

START_TEST(bad_input_is_refused)
{
	ck_assert_ptr_nonnull(strstr(run_fail("M83\nG1 X1 E1e308\n"),
	    "not a finite number"));
	ck_assert_ptr_nonnull(strstr(run_fail("M83\nG1 X1 ENaN\n"),
	    "without a number"));
	ck_assert_ptr_nonnull(strstr(run_fail("M83\nG1 X1 E nan\n"),
	    "without a number"));
	ck_assert_ptr_nonnull(strstr(run_fail("M83\nG1 X1 E150000\n"),
	    "absurd"));
	ck_assert_ptr_nonnull(strstr(run_fail("M82\nG1 X1 E9000000\n"
	    "G1 X2 E9999999\nG92 E9999999\nG1 X3 E-9999999\n"), "absurd"));
	ck_assert_ptr_nonnull(strstr(run_fail("M73 L99999999999\n"),
	    "layer"));
	ck_assert_ptr_nonnull(strstr(run_fail("M73 L2.5\n"), "layer"));
	ck_assert_ptr_nonnull(strstr(run_fail("T70\n"), "beyond"));
	ck_assert_ptr_nonnull(strstr(run_fail("hello\nworld\n"),
	    "no gcode commands"));
	ck_assert_ptr_nonnull(strstr(run_fail(""), "no gcode commands"));
	ck_assert_ptr_nonnull(strstr(run_fail("M620.11 S1 I99 E-3\n"),
	    "absurd"));
}
END_TEST

START_TEST(binary_and_long_lines)
{
	char		 err[ERRBUF_LEN];
	struct gcode	*g = gcode_new(NULL);
	char		*big = malloc(200000);

	ck_assert_int_eq(gcode_feed(g, "G1 X1\n\0\1\2", 9, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL byte"));
	gcode_free(g);

	/* A 200 KB comment line is skipped; a 200 KB command line is refused. */
	memset(big, 'x', 200000);
	big[0] = ';';
	g = gcode_new(NULL);
	ck_assert_int_eq(gcode_feed(g, "M83\n", 4, err), 0);
	ck_assert_int_eq(gcode_feed(g, big, 200000, err), 0);
	ck_assert_int_eq(gcode_feed(g, "\nG1 X1 E2\n", 10, err), 0);
	gcode_free(g);
	big[0] = 'G';
	g = gcode_new(NULL);
	ck_assert_int_eq(gcode_feed(g, big, 200000, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	gcode_free(g);
	free(big);
}
END_TEST

static Suite *
gcode_suite(void)
{
	Suite	*s = suite_create("gcode");
	TCase	*t;

#define ADD(name) do { t = tcase_create(#name); \
	tcase_add_test(t, name); suite_add_tcase(s, t); } while (0)
	ADD(relative_e_sums_signed_moves);
	ADD(absolute_e_with_g92);
	ADD(g91_makes_e_relative_too);
	ADD(arcs_count_signed_e);
	ADD(tool_changes_attribute_e);
	ADD(m620_does_not_select);
	ADD(m1020_selects);
	ADD(e_before_any_tool_goes_to_first_tool);
	ADD(layer_zero_and_m73_layers);
	ADD(cells_in_layer_then_filament_order);
	ADD(change_layer_without_m73);
	ADD(flush_counted_by_slicer_only_inside_tags);
	ADD(wipe_moves_not_counted_by_slicer);
	ADD(bs2_flush_split_charges_previous);
	ADD(bs1_has_no_flush_split);
	ADD(long_retraction_moves_filament);
	ADD(h2d_long_retraction_without_index_ignored);
	ADD(vg1_in_vflush_is_firmware_flush);
	ADD(judge_flag_branches);
	ADD(nested_conditions);
	ADD(no_ams_skips_change_blocks);
	ADD(progress_marks_record_layer_so_far);
	ADD(crlf_comments_and_blanks);
	ADD(missing_and_unknown_parameters);
	ADD(header_and_footer_figures);
	ADD(split_feeding_gives_same_plan);
	ADD(per_layer_sums_equal_totals);
	ADD(bad_input_is_refused);
	ADD(binary_and_long_lines);
#undef ADD
	return s;
}

int
main(void)
{
	return ck_run(gcode_suite());
}
