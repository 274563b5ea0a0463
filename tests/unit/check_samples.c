/* check_samples.c: the engine over every real sliced file in ../shared/samples/gcode/. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "errbuf.h"
#include "plan.h"
#include "../harness/ckrun.h"

#define SAMPLES "../shared/samples/gcode/"

/*
 * Physical totals per filament from ../shared/docs/gcode-semantics.md §3.3
 * (column "Physical (§3.1)"), the reference the engine must meet within 1%.
 * That table counts the flow-calibration branch, so the samples run with
 * extrude_cali_flag = 1.  Filaments not listed must not extrude.
 */
struct expect {
	const char	*file;
	int		 replica_checked;	/* header/footer is a trustworthy reference */
	double		 mm[8];			/* by filament index, 0 = absent */
};

static const struct expect expects[] = {
	{ "estampo_decoy_base_P1S_BS2.5_1color_T2.gcode.3mf", 1,
	    { 0, 0, 3491.67 } },
	{ "estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf", 1,
	    { 7864.24, 0, 0, 2908.70 } },
	{ "mfm_AMS-calibration_P1S_BS2.0_4color.gcode.3mf", 1,
	    { 684.77, 529.42, 529.42, 529.42 } },
	{ "mfm_4-cubes_P1S_BS1.10_2color_noTower.gcode.3mf", 1,
	    { 10957.88, 5954.53 } },
	{ "ams-color-swapper_carrot_sign_P1S_Orca2.3_2color_primeTower.gcode", 1,
	    { 423.77, 8424.00 } },
	{ "gridfinity_A1_Orca2.3.1_1color_noM73L.gcode", 1, { 4869.58 } },
	{ "mfm_dice_multiple_X1C_BS1.8_2color_primeTower.gcode", 0,
	    { 13248.76, 5764.56 } },
	/* Orca 2.0 figures are not a reference (gcode-semantics.md §2). */
	{ "filamentor_test_A1mini_Orca2.0_3color_customToolchange.gcode.3mf", 0,
	    { 186.71, 97.02, 16.85 } },
};
#define NEXPECTS (sizeof(expects) / sizeof(expects[0]))

static struct plan *
analyze_sample_with(const char *name, int flow_cali, int reference)
{
	struct analyze_opts	 o;
	struct plan		*p;
	char			 path[512], err[ERRBUF_LEN];

	snprintf(path, sizeof(path), SAMPLES "%s", name);
	analyze_opts_default(&o);
	o.gcode.flags[GCODE_FLAG_EXTRUDE_CALI] = flow_cali;
	o.gcode.reference = reference;
	ck_assert_msg(analyze_path(path, &o, &p, err) == 0, "%s: %s", name,
	    err);
	return p;
}

static struct plan *
analyze_sample(const char *name, int flow_cali)
{
	return analyze_sample_with(name, flow_cali, 0);
}

/* The plan as compact JSON, the caller's to free; the plan is freed. */
static char *
plan_text(struct plan *p)
{
	json_t	*j = plan_to_json(p, "sample");
	char	*text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	plan_free(p);
	ck_assert_ptr_nonnull(text);
	return text;
}

/* Every sample in the folder has an entry here, so a new sample cannot go unchecked. */
START_TEST(every_sample_is_listed)
{
	DIR		*d = opendir(SAMPLES);
	struct dirent	*e;
	size_t		 i, seen = 0;

	ck_assert_msg(d != NULL, "cannot open " SAMPLES);
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".gcode") == NULL)
			continue;
		for (i = 0; i < NEXPECTS; i++)
			if (strcmp(e->d_name, expects[i].file) == 0)
				break;
		ck_assert_msg(i < NEXPECTS, "sample %s has no expectation",
		    e->d_name);
		seen++;
	}
	closedir(d);
	ck_assert_uint_eq(seen, NEXPECTS);
}
END_TEST

START_TEST(layer_count_equals_slicer_total)
{
	struct plan *p = analyze_sample(expects[_i].file, -1);

	ck_assert_msg(p->header_layer_count > 0, "%s: no total layer number",
	    expects[_i].file);
	ck_assert_msg(p->layer_count == p->header_layer_count,
	    "%s: %d layers, header says %d", expects[_i].file, p->layer_count,
	    p->header_layer_count);
	plan_free(p);
}
END_TEST

START_TEST(physical_total_within_one_percent)
{
	const struct expect	*x = &expects[_i];
	struct plan		*p = analyze_sample(x->file, 1);
	int			 f;

	for (f = 0; f < PLAN_MAX_FILAMENTS; f++) {
		double want = f < 8 ? x->mm[f] : 0;

		if (want == 0) {
			ck_assert_msg(!p->filaments[f].extrudes,
			    "%s: T%d extrudes", x->file, f);
			continue;
		}
		ck_assert_msg(fabs(p->filaments[f].mm - want) <= want * 0.01,
		    "%s: T%d physical %.2f, table %.2f", x->file, f,
		    p->filaments[f].mm, want);
	}
	plan_free(p);
}
END_TEST

START_TEST(replica_matches_slicer_figure)
{
	const struct expect	*x = &expects[_i];
	struct plan		*p = analyze_sample(x->file, -1);
	int			 f, checked = 0;

	if (!x->replica_checked) {
		plan_free(p);
		return;
	}
	for (f = 0; f < PLAN_MAX_FILAMENTS; f++) {
		const struct plan_filament *pf = &p->filaments[f];

		if (!pf->extrudes)
			continue;
		ck_assert_msg(isfinite(pf->header_mm), "%s: T%d has no header "
		    "figure", x->file, f);
		ck_assert_msg(fabs(pf->slicer_mm - pf->header_mm) <=
		    pf->header_mm * 0.0001, "%s: T%d replica %.3f, file %.2f",
		    x->file, f, pf->slicer_mm, pf->header_mm);
		checked++;
	}
	ck_assert_int_gt(checked, 0);
	plan_free(p);
}
END_TEST

START_TEST(per_layer_values_add_up)
{
	struct plan	*p = analyze_sample(expects[_i].file, -1);
	double		 sum[PLAN_MAX_FILAMENTS] = { 0 };
	size_t		 i;
	int		 f, last = -1;

	for (i = 0; i < p->ncells; i++) {
		ck_assert_int_ge(p->cells[i].layer, last);
		last = p->cells[i].layer;
		sum[p->cells[i].filament] += p->cells[i].mm;
	}
	for (f = 0; f < PLAN_MAX_FILAMENTS; f++)
		ck_assert(sum[f] == p->filaments[f].mm);
	ck_assert_int_le(last, p->layer_count);
	plan_free(p);
}
END_TEST

/* First layers of the reference print, gcode-semantics.md §3.3. */
START_TEST(reference_first_layers)
{
	struct plan	*p = analyze_sample(expects[1].file, -1);
	static const struct {
		int layer, f;
		double mm;
	} want[] = {
		{ 0, 0, 137.60 }, { 1, 0, 45.94 }, { 1, 3, 139.58 },
		{ 2, 0, 326.01 }, { 2, 3, 5.26 },
	};
	size_t i, j;

	for (j = 0; j < sizeof(want) / sizeof(want[0]); j++) {
		for (i = 0; i < p->ncells; i++)
			if (p->cells[i].layer == want[j].layer &&
			    p->cells[i].filament == want[j].f)
				break;
		ck_assert_msg(i < p->ncells, "no cell L%d T%d", want[j].layer,
		    want[j].f);
		ck_assert_msg(fabs(p->cells[i].mm - want[j].mm) < 0.005,
		    "L%d T%d = %.3f, want %.2f", want[j].layer, want[j].f,
		    p->cells[i].mm, want[j].mm);
	}
	ck_assert_int_eq(p->plate, 1);
	ck_assert_str_eq(p->member, "Metadata/plate_1.gcode");
	plan_free(p);
}
END_TEST

/* slice_info and the header both give grams; ours for the replica must agree with both. */
START_TEST(grams_match_slice_info)
{
	struct plan	*p = analyze_sample(expects[1].file, -1);
	int		 f;

	for (f = 0; f < PLAN_MAX_FILAMENTS; f++) {
		const struct plan_filament *pf = &p->filaments[f];
		double g;

		if (!pf->extrudes)
			continue;
		g = plan_mm_to_grams(pf->slicer_mm, pf->diameter, pf->density);
		ck_assert_msg(fabs(g - pf->slice_info_g) < 0.006, "T%d %.3f g, "
		    "slice_info %.2f g", f, g, pf->slice_info_g);
		ck_assert_str_eq(pf->type, "PLA");
	}
	plan_free(p);
}
END_TEST

START_TEST(progress_reaches_one_hundred)
{
	struct plan *p = analyze_sample(expects[_i].file, -1);

	ck_assert_uint_gt(p->nmarks, 10);
	ck_assert_int_eq(p->marks[p->nmarks - 1].percent, 100);
	ck_assert_int_eq(p->marks[p->nmarks - 1].layer, p->layer_count);
	plan_free(p);
}
END_TEST

/*
 * The fast paths (SWAR numbers, moves parsed ahead by the reader thread)
 * give exactly what the byte-wise parser gives, to the last digit.
 */
START_TEST(fast_paths_equal_reference)
{
	char	*fast = plan_text(analyze_sample_with(expects[_i].file, 1, 0));
	char	*ref = plan_text(analyze_sample_with(expects[_i].file, 1, 1));

	ck_assert_msg(strcmp(fast, ref) == 0, "%s: the fast paths differ",
	    expects[_i].file);
	free(fast);
	free(ref);
}
END_TEST

static Suite *
samples_suite(void)
{
	Suite	*s = suite_create("samples");
	TCase	*t = tcase_create("samples");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, every_sample_is_listed);
	tcase_add_loop_test(t, layer_count_equals_slicer_total, 0, NEXPECTS);
	tcase_add_loop_test(t, physical_total_within_one_percent, 0, NEXPECTS);
	tcase_add_loop_test(t, replica_matches_slicer_figure, 0, NEXPECTS);
	tcase_add_loop_test(t, per_layer_values_add_up, 0, NEXPECTS);
	tcase_add_loop_test(t, progress_reaches_one_hundred, 0, NEXPECTS);
	tcase_add_loop_test(t, fast_paths_equal_reference, 0, NEXPECTS);
	tcase_add_test(t, reference_first_layers);
	tcase_add_test(t, grams_match_slice_info);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return ck_run(samples_suite());
}
