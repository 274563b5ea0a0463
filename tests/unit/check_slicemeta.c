/* check_slicemeta.c: unit tests of slicemeta.c on real and broken slice_info, model_settings and project_settings text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "errbuf.h"
#include "plan.h"
#include "slicemeta.h"
#include "threemf.h"
#include "../harness/ckrun.h"

static struct plan	*plan;
static char		 err[ERRBUF_LEN];

static void
setup(void)
{
	plan = plan_new();
	err[0] = '\0';
}

static void
teardown(void)
{
	plan_free(plan);
}

/* Metadata/slice_info.config of estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf, abridged. */
static const char si_reference[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<config>\n"
    "  <header>\n"
    "    <header_item key=\"X-BBL-Client-Type\" value=\"slicer\"/>\n"
    "    <header_item key=\"X-BBL-Client-Version\" value=\"02.05.00.66\"/>\n"
    "  </header>\n"
    "  <plate>\n"
    "    <metadata key=\"index\" value=\"1\"/>\n"
    "    <metadata key=\"printer_model_id\" value=\"C12\"/>\n"
    "    <metadata key=\"weight\" value=\"32.12\"/>\n"
    "    <object identify_id=\"89\" name=\"\" skipped=\"false\" />\n"
    "    <filament id=\"1\" tray_info_idx=\"GFL99\" type=\"PLA\" "
    "color=\"#FFFFFF\" used_m=\"7.85\" used_g=\"23.43\" "
    "used_for_object=\"true\" used_for_support=\"false\" group_id=\"0\" "
    "nozzle_diameter=\"0.40\" volume_type=\"Standard\"/>\n"
    "    <filament id=\"4\" tray_info_idx=\"GFL99\" type=\"PLA\" "
    "color=\"#161616\" used_m=\"2.92\" used_g=\"8.70\" "
    "used_for_object=\"true\" used_for_support=\"false\" group_id=\"0\" "
    "nozzle_diameter=\"0.40\" volume_type=\"Standard\"/>\n"
    "    <warning msg=\"bed_temperature_too_high_than_filament\" "
    "level=\"3\" error_code =\"1000C001\"  />\n"
    "    <layer_filament_lists>\n"
    "      <layer_filament_list filament_list=\"0 3\" "
    "layer_ranges=\"0 49\" />\n"
    "    </layer_filament_lists>\n"
    "  </plate>\n"
    "</config>\n";

static const char si_two_plates[] =
    "<config>"
    "<plate><metadata key=\"index\" value=\"1\"/>"
    "<filament id=\"1\" type=\"PLA\" color=\"#111111\" used_m=\"1\" "
    "used_g=\"3\"/></plate>"
    "<plate><filament id=\"2\" type=\"PETG\" color=\"#222222\" "
    "used_m=\"2.5\" used_g=\"7.5\"/>"
    "<metadata key=\"index\" value=\"2\"/></plate>"
    "</config>";

/* Metadata/model_settings.config of mfm_AMS-calibration_P1S_BS2.0_4color.gcode.3mf, abridged. */
static const char ms_ams[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<config>\n"
    "  <plate>\n"
    "    <metadata key=\"plater_id\" value=\"1\"/>\n"
    "    <metadata key=\"plater_name\" value=\"Cali 4 filaments\"/>\n"
    "    <metadata key=\"gcode_file\" value=\"Metadata/plate_1.gcode\"/>\n"
    "    <metadata key=\"thumbnail_file\" value=\"Metadata/plate_1.png\"/>\n"
    "  </plate>\n"
    "  <plate>\n"
    "    <metadata key=\"plater_id\" value=\"2\"/>\n"
    "    <metadata key=\"gcode_file\" value=\"\"/>\n"
    "  </plate>\n"
    "</config>\n";

/* Metadata/project_settings.config (the filament keys of the reference sample). */
static const char ps_reference[] =
    "{\n"
    "    \"accel_to_decel_enable\": \"0\",\n"
    "    \"filament_colour\": [\"#FFFFFF\", \"#BCBCBC\", \"#2850E0\", "
    "\"#161616\", \"#161616\"],\n"
    "    \"filament_density\": [\"1.24\", \"1.04\", \"1.25\", \"1.24\", "
    "\"1.24\"],\n"
    "    \"filament_diameter\": [\"1.75\", \"1.75\", \"1.75\", \"1.75\", "
    "\"1.75\"],\n"
    "    \"filament_type\": [\"PLA\", \"ASA\", \"PETG-CF\", \"PLA\", "
    "\"TPU\"],\n"
    "    \"version\": \"02.05.00.66\"\n"
    "}\n";

static int
si(const char *xml, int plate)
{
	return slicemeta_slice_info(xml, strlen(xml), plate, plan, err);
}

static int
ps(const char *json)
{
	return slicemeta_project_settings(json, strlen(json), plan, err);
}

/* Asserts that the plan's filaments are still as plan_new() made them. */
static void
assert_untouched(void)
{
	int	 i;

	for (i = 0; i < PLAN_MAX_FILAMENTS; i++) {
		ck_assert(isnan(plan->filaments[i].slice_info_m));
		ck_assert(isnan(plan->filaments[i].slice_info_g));
		ck_assert(isnan(plan->filaments[i].density));
		ck_assert(isnan(plan->filaments[i].diameter));
		ck_assert_str_eq(plan->filaments[i].type, "");
		ck_assert_str_eq(plan->filaments[i].color, "");
		ck_assert_str_eq(plan->filaments[i].tray_info_idx, "");
	}
}

START_TEST(slice_info_sample)
{
	const struct plan_filament	*f = plan->filaments;

	ck_assert_msg(si(si_reference, 1) == 0, "%s", err);
	ck_assert_str_eq(f[0].type, "PLA");
	ck_assert_str_eq(f[0].color, "#FFFFFF");
	ck_assert_str_eq(f[0].tray_info_idx, "GFL99");
	ck_assert_double_eq_tol(f[0].slice_info_m, 7.85, 1e-9);
	ck_assert_double_eq_tol(f[0].slice_info_g, 23.43, 1e-9);
	ck_assert_str_eq(f[3].type, "PLA");
	ck_assert_str_eq(f[3].color, "#161616");
	ck_assert_double_eq_tol(f[3].slice_info_m, 2.92, 1e-9);
	ck_assert_double_eq_tol(f[3].slice_info_g, 8.70, 1e-9);
	ck_assert_int_eq(f[3].index, 3);
	ck_assert(isnan(f[1].slice_info_m));
	ck_assert_str_eq(f[1].type, "");
	ck_assert(isnan(f[0].density));
}
END_TEST

START_TEST(slice_info_plate_choice)
{
	const struct plan_filament	*f = plan->filaments;

	/* Plate 2 carries its index after its filament. */
	ck_assert_int_eq(si(si_two_plates, 2), 0);
	ck_assert_str_eq(f[0].type, "");
	ck_assert_str_eq(f[1].type, "PETG");
	ck_assert_str_eq(f[1].color, "#222222");
	ck_assert_double_eq_tol(f[1].slice_info_m, 2.5, 1e-12);
	ck_assert_double_eq_tol(f[1].slice_info_g, 7.5, 1e-12);
	/* A plate that is not there changes nothing and is no error. */
	plan_free(plan);
	plan = plan_new();
	ck_assert_int_eq(si(si_two_plates, 3), 0);
	ck_assert_int_eq(si(si_reference, 2), 0);
	assert_untouched();
}
END_TEST

START_TEST(slice_info_malformed)
{
	static const char *bad[] = {
		"",
		"<config><plate>",
		"<config><plate></config>",
		"not xml at all",
		"<config><plate><filament id=\"1\" id=\"2\"/></plate></config>",
		"<config>\n<plate>\n<metadata key=\"index\" value=\"1\"/>\n"
		    "<filament id=\"1\" type=\"PLA\"/>\n</plate>\n</config>\n"
		    "<config/>",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(si(bad[i], 1) == -1, "case %zu", i);
		ck_assert_msg(strncmp(err, "line ", 5) == 0, "case %zu: %s", i,
		    err);
	}
	ck_assert_int_eq(si("<config><plate>", 1), -1);
	ck_assert_str_eq(err, "line 1: no element found");
	/* The filament before the junk is not applied either. */
	assert_untouched();
}
END_TEST

START_TEST(slice_info_doctype)
{
	static const char laughs[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    "]>\n"
	    "<config><plate><metadata key=\"index\" value=\"1\"/>"
	    "<filament id=\"1\" type=\"&lol2;\"/></plate></config>\n";
	static const char external[] =
	    "<!DOCTYPE config SYSTEM \"file:///etc/passwd\">"
	    "<config/>";
	int	 p;
	char	 m[THREEMF_MEMBER_LEN];

	ck_assert_int_eq(si(laughs, 1), -1);
	ck_assert_str_eq(err, "line 2: DOCTYPE declarations are not allowed");
	ck_assert_int_eq(si(external, 1), -1);
	ck_assert_str_eq(err, "line 1: DOCTYPE declarations are not allowed");
	ck_assert_int_eq(slicemeta_first_plate(laughs, strlen(laughs), &p, m,
	    err), -1);
	ck_assert_str_eq(err, "line 2: DOCTYPE declarations are not allowed");
	assert_untouched();
}
END_TEST

START_TEST(slice_info_bad_numbers)
{
	static const char *bad[] = {
		"abc", "", "nan", "inf", "-1", "1e7", "7.85x", "1e999", " ",
		"0x", "--1",
	};
	char	 xml[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml), "<config><plate><metadata "
		    "key=\"index\" value=\"1\"/><filament id=\"1\" "
		    "used_m=\"1\" used_g=\"%s\"/></plate></config>", bad[i]);
		err[0] = '\0';
		ck_assert_msg(si(xml, 1) == -1, "used_g \"%s\"", bad[i]);
		ck_assert_msg(strstr(err, "is not a sane number") != NULL,
		    "%s", err);
	}
	ck_assert_str_eq(err, "line 1: filament used_g \"--1\" is not a sane "
	    "number");
	ck_assert_int_eq(si("<config><plate><metadata key=\"index\" "
	    "value=\"x\"/></plate></config>", 1), -1);
	ck_assert_str_eq(err, "line 1: plate index \"x\" is not in 1..10000");
	assert_untouched();
	/* 0 and large-but-sane values are fine. */
	ck_assert_int_eq(si("<config><plate><metadata key=\"index\" "
	    "value=\"1\"/><filament id=\"2\" used_m=\"0\" "
	    "used_g=\"9999999\"/></plate></config>", 1), 0);
	ck_assert_double_eq(plan->filaments[1].slice_info_m, 0);
	ck_assert_double_eq(plan->filaments[1].slice_info_g, 9999999);
}
END_TEST

START_TEST(slice_info_ids)
{
	static const char *bad[] = { "0", "65", "-1", "x", "", "1.5", "1 " };
	char	 xml[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml), "<config><plate><metadata "
		    "key=\"index\" value=\"1\"/><filament id=\"%s\" "
		    "type=\"PLA\"/></plate></config>", bad[i]);
		ck_assert_msg(si(xml, 1) == -1, "id \"%s\"", bad[i]);
	}
	ck_assert_str_eq(err, "line 1: filament id \"1 \" is not in 1..64");
	ck_assert_int_eq(si("<config><plate><filament type=\"PLA\"/></plate>"
	    "</config>", 1), -1);
	ck_assert_str_eq(err, "line 1: filament id \"\" is not in 1..64");
	assert_untouched();
	ck_assert_int_eq(si("<config><plate><metadata key=\"index\" "
	    "value=\"1\"/><filament id=\"64\" type=\"TPU\"/></plate>"
	    "</config>", 1), 0);
	ck_assert_str_eq(plan->filaments[63].type, "TPU");
}
END_TEST

START_TEST(slice_info_truncation)
{
	char	 xml[512], longtype[64], utf8[64];
	int	 i;

	memset(longtype, 'A', 40);
	longtype[40] = '\0';
	/* 20 two-byte characters: 40 bytes, cut to 15 whole ones. */
	for (i = 0; i < 20; i++)
		memcpy(utf8 + 2 * i, "\xc3\xa9", 2);
	utf8[40] = '\0';
	snprintf(xml, sizeof(xml), "<config><plate><metadata key=\"index\" "
	    "value=\"1\"/><filament id=\"1\" type=\"%s\" color=\"%s\" "
	    "tray_info_idx=\"GFL99\"/></plate></config>", longtype, utf8);
	ck_assert_msg(si(xml, 1) == 0, "%s", err);
	ck_assert_uint_eq(strlen(plan->filaments[0].type), PLAN_TEXT_LEN - 1);
	ck_assert(strncmp(plan->filaments[0].type, longtype,
	    PLAN_TEXT_LEN - 1) == 0);
	ck_assert_uint_eq(strlen(plan->filaments[0].color), 30);
	ck_assert(strncmp(plan->filaments[0].color, utf8, 30) == 0);
	ck_assert_str_eq(plan->filaments[0].tray_info_idx, "GFL99");
}
END_TEST

START_TEST(first_plate_sample)
{
	char	 m[THREEMF_MEMBER_LEN];
	int	 p = -1;

	ck_assert_int_eq(slicemeta_first_plate(ms_ams, strlen(ms_ams), &p, m,
	    err), 0);
	ck_assert_int_eq(p, 1);
	ck_assert_str_eq(m, "Metadata/plate_1.gcode");
}
END_TEST

START_TEST(first_plate_variants)
{
	static const char noname[] = "<config><plate><metadata "
	    "key=\"gcode_file\" value=\"\"/><metadata key=\"plater_id\" "
	    "value=\"4\"/></plate><plate><metadata key=\"plater_id\" "
	    "value=\"1\"/></plate></config>";
	static const char none[] = "<config><object id=\"1\"/></config>";
	char	 m[THREEMF_MEMBER_LEN];
	int	 p = -1;

	ck_assert_int_eq(slicemeta_first_plate(noname, strlen(noname), &p, m,
	    err), 0);
	ck_assert_int_eq(p, 4);
	ck_assert_str_eq(m, "");
	ck_assert_int_eq(slicemeta_first_plate(none, strlen(none), &p, m, err),
	    1);
	ck_assert_int_eq(p, 0);
	ck_assert_str_eq(m, "");
}
END_TEST

START_TEST(first_plate_bad)
{
	static const char *bad[] = {
		"<config><plate><metadata key=\"plater_id\" value=\"0\"/>"
		    "</plate></config>",
		"<config><plate><metadata key=\"plater_id\" value=\"1x\"/>"
		    "</plate></config>",
		"<config><plate><metadata key=\"plater_id\"/></plate></config>",
		"<config><plate><metadata key=\"locked\" value=\"false\"/>"
		    "</plate></config>",
		"<config><plate><metadata key=\"plater_id\" value=\"1\"/>",
		"<config><plate><metadata key=\"plater_id\" value=\"1\"/>"
		    "<metadata key=\"gcode_file\" value=\"Metadata/xxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.gcode\"/>"
		    "</plate></config>",
	};
	char	 m[THREEMF_MEMBER_LEN];
	size_t	 i;
	int	 p;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(slicemeta_first_plate(bad[i], strlen(bad[i]), &p,
		    m, err) == -1, "case %zu", i);
		ck_assert_msg(err[0] != '\0', "case %zu", i);
	}
	ck_assert_str_eq(err, "line 1: gcode_file name longer than 127 bytes");
	ck_assert_int_eq(slicemeta_first_plate(bad[3], strlen(bad[3]), &p, m,
	    err), -1);
	ck_assert_str_eq(err, "first <plate> has no plater_id");
}
END_TEST

START_TEST(project_settings_sample)
{
	const struct plan_filament	*f = plan->filaments;
	static const double		 dens[] = { 1.24, 1.04, 1.25, 1.24, 1.24 };
	static const char		*type[] = { "PLA", "ASA", "PETG-CF",
					    "PLA", "TPU" };
	int				 i;

	ck_assert_msg(ps(ps_reference) == 0, "%s", err);
	for (i = 0; i < 5; i++) {
		ck_assert_double_eq_tol(f[i].density, dens[i], 1e-12);
		ck_assert_double_eq_tol(f[i].diameter, 1.75, 1e-12);
		ck_assert_str_eq(f[i].type, type[i]);
	}
	ck_assert_str_eq(f[2].color, "#2850E0");
	ck_assert(isnan(f[5].density));
	ck_assert(isnan(f[5].diameter));
	ck_assert_str_eq(f[5].type, "");
	ck_assert(isnan(f[0].slice_info_m));
}
END_TEST

START_TEST(project_settings_keeps_values)
{
	struct plan_filament	*f = plan->filaments;

	f[0].density = 2.5;
	f[1].diameter = 2.85;
	memcpy(f[0].type, "PETG", 5);
	memcpy(f[3].color, "#ABCDEF", 8);
	ck_assert_int_eq(ps(ps_reference), 0);
	ck_assert_double_eq(f[0].density, 2.5);
	ck_assert_double_eq_tol(f[0].diameter, 1.75, 1e-12);
	ck_assert_double_eq(f[1].diameter, 2.85);
	ck_assert_double_eq_tol(f[1].density, 1.04, 1e-12);
	ck_assert_str_eq(f[0].type, "PETG");
	ck_assert_str_eq(f[0].color, "#FFFFFF");
	ck_assert_str_eq(f[3].color, "#ABCDEF");
	ck_assert_str_eq(f[3].type, "PLA");
}
END_TEST

START_TEST(project_settings_forms)
{
	const struct plan_filament	*f = plan->filaments;

	/* JSON numbers are taken, empty strings mean unknown, keys may be absent. */
	ck_assert_int_eq(ps("{\"filament_density\": [1.3, \"\", \"1.1\"]}"),
	    0);
	ck_assert_double_eq_tol(f[0].density, 1.3, 1e-12);
	ck_assert(isnan(f[1].density));
	ck_assert_double_eq_tol(f[2].density, 1.1, 1e-12);
	ck_assert(isnan(f[0].diameter));
	ck_assert_int_eq(ps("{}"), 0);
}
END_TEST

START_TEST(project_settings_bad)
{
	static const struct {
		const char	*json;
		const char	*msg;
	} bad[] = {
		{ "", "line 1: '[' or '{' expected near end of file" },
		{ "[1, 2]", "not a JSON object" },
		{ "{\"filament_density\": [\"1.2\"", NULL },
		{ "{} {}", NULL },
		{ "{\"filament_density\": \"1.24\"}",
		    "filament_density is not an array" },
		{ "{\"filament_density\": [\"1.24\", \"abc\"]}",
		    "filament_density[1] \"abc\" is not a number" },
		{ "{\"filament_density\": [\"0\"]}",
		    "filament_density[0] 0 is outside (0, 30)" },
		{ "{\"filament_density\": [\"30\"]}",
		    "filament_density[0] 30 is outside (0, 30)" },
		{ "{\"filament_density\": [\"nan\"]}",
		    "filament_density[0] \"nan\" is not a number" },
		{ "{\"filament_density\": [-1]}",
		    "filament_density[0] -1 is outside (0, 30)" },
		{ "{\"filament_density\": [null]}",
		    "filament_density[0] is not a number" },
		{ "{\"filament_diameter\": [\"1.75\", \"10\"]}",
		    "filament_diameter[1] 10 is outside (0, 10)" },
		{ "{\"filament_type\": [\"PLA\", 3]}",
		    "filament_type[1] is not a string" },
		{ "{\"filament_type\": [\"PLA\"], \"filament_colour\": 7}",
		    "filament_colour is not an array" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(ps(bad[i].json) == -1, "%s", bad[i].json);
		if (bad[i].msg != NULL)
			ck_assert_str_eq(err, bad[i].msg);
		else
			ck_assert_msg(strncmp(err, "line ", 5) == 0, "%s", err);
	}
	/* No partial fills: "1.24" and "PLA" before the bad values stayed out. */
	assert_untouched();
}
END_TEST

#define tcase(name, test)	ck_tcase(name, test, setup, teardown, 0)

static Suite *
slicemeta_suite(void)
{
	Suite	*s = suite_create("slicemeta");

	suite_add_tcase(s, tcase("slice_info_sample", slice_info_sample));
	suite_add_tcase(s, tcase("slice_info_plate_choice",
	    slice_info_plate_choice));
	suite_add_tcase(s, tcase("slice_info_malformed", slice_info_malformed));
	suite_add_tcase(s, tcase("slice_info_doctype", slice_info_doctype));
	suite_add_tcase(s, tcase("slice_info_bad_numbers",
	    slice_info_bad_numbers));
	suite_add_tcase(s, tcase("slice_info_ids", slice_info_ids));
	suite_add_tcase(s, tcase("slice_info_truncation",
	    slice_info_truncation));
	suite_add_tcase(s, tcase("first_plate_sample", first_plate_sample));
	suite_add_tcase(s, tcase("first_plate_variants", first_plate_variants));
	suite_add_tcase(s, tcase("first_plate_bad", first_plate_bad));
	suite_add_tcase(s, tcase("project_settings_sample",
	    project_settings_sample));
	suite_add_tcase(s, tcase("project_settings_keeps_values",
	    project_settings_keeps_values));
	suite_add_tcase(s, tcase("project_settings_forms",
	    project_settings_forms));
	suite_add_tcase(s, tcase("project_settings_bad", project_settings_bad));
	return s;
}

int
main(void)
{
	return ck_run(slicemeta_suite());
}
