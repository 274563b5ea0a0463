/* check_bambu_status.c: unit tests of bambu_status.c: trays, extruders and fields read out of real full reports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "bambu_state.h"
#include "bambu_status.h"
#include "bambu_tray.h"
#include "errbuf.h"
#include "../harness/ckrun.h"

#define MQTT "../shared/samples/mqtt/"

static struct bambu_state	*st;
static struct bambu_event	 ev;
static struct bambu_status	 s;
static char			 err[ERRBUF_LEN];

static void
setup(void)
{
	st = bambu_state_new();
	err[0] = '\0';
}

static void
teardown(void)
{
	bambu_state_free(st);
}

/* Feeds print object p as the report {"print": p}; it must be accepted as kind k. */
static void
feed_print(json_t *p, enum bambu_kind k)
{
	json_t	*report = json_pack("{sO}", "print", p);
	char	*text = json_dumps(report, JSON_COMPACT);

	ck_assert_ptr_nonnull(text);
	ck_assert_msg(bambu_state_feed(st, text, strlen(text), &ev, err) == 0,
	    "%s", err);
	ck_assert_int_eq(ev.kind, k);
	free(text);
	json_decref(report);
	bambu_status_get(st, &s);
}

/* Feeds a NUL-terminated report that must be accepted. */
static void
feed_text(const char *json)
{
	ck_assert_msg(bambu_state_feed(st, json, strlen(json), &ev, err) == 0,
	    "%s: %s", json, err);
	bambu_status_get(st, &s);
}

/*
 * Loads capture `name` of samples/mqtt (new reference) and feeds its full
 * report: {"pushall":{"print":P}}, {"push_all":P} or {"print":P}.
 */
static json_t *
load_capture(const char *name)
{
	char		 path[256];
	json_t		*doc, *p;
	json_error_t	 jerr;

	snprintf(path, sizeof(path), MQTT "%s", name);
	doc = json_load_file(path, 0, &jerr);
	ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
	if ((p = json_object_get(json_object_get(doc, "pushall"), "print")) ==
	    NULL && (p = json_object_get(doc, "push_all")) == NULL)
		p = json_object_get(doc, "print");
	ck_assert_ptr_nonnull(p);
	feed_print(p, BAMBU_KIND_FULL);
	return doc;
}

/* Checks tray id `tray` of the status: its unit, slot, type, colour, remain, loaded. */
static void
assert_tray(int tray, int unit, int slot, const char *type,
    const char *color, int remain, int loaded)
{
	const struct bambu_tray	*t = bambu_status_tray(&s, tray);

	ck_assert_msg(t != NULL, "no tray %d", tray);
	ck_assert_int_eq(t->unit, unit);
	ck_assert_int_eq(t->slot, slot);
	ck_assert_str_eq(t->type, type);
	ck_assert_str_eq(t->color, color);
	ck_assert_int_eq(t->remain, remain);
	ck_assert_int_eq(t->loaded, loaded);
}

START_TEST(x1c_three_ams_and_ht)
{
	json_t			*doc = load_capture(
	    "habambulab_X1C_3AMS_plus_AMSHT_pushall.json");
	const struct bambu_tray	*t;

	ck_assert_str_eq(s.gcode_state, "FINISH");
	ck_assert_int_eq(s.layer_num, 480);
	ck_assert_int_eq(s.total_layer_num, 480);
	ck_assert_str_eq(s.task_id, "702383065");
	ck_assert_str_eq(s.subtask_id, "702384465");
	ck_assert_str_eq(s.subtask_name, "Garden Hose Healer: Male fitting");
	/* Units 0, 1, 2 (AMS, AMS, AMS 2 Pro) and AMS HT 128. */
	ck_assert_int_eq(s.nunits, 4);
	ck_assert_int_eq(s.units[2].id, 2);
	ck_assert_int_eq(s.units[2].type, 3);	/* info "142023" */
	ck_assert_int_eq(s.units[3].id, 128);
	ck_assert_int_eq(s.units[3].type, 4);	/* info "2004" */
	ck_assert_int_eq(s.ntrays, 4 * 3 + 1 + 1);
	assert_tray(0, 0, 0, "PLA", "000000FF", 93, 1);
	assert_tray(6, 1, 2, "ABS", "FFFFFFFF", 71, 1);
	/* tray_exist_bits "10eff": bit 8 clear, AMS 2 slot 0 is empty. */
	assert_tray(8, 2, 0, "", "", -1, 0);
	assert_tray(11, 2, 3, "ABS", "000000FF", 100, 1);
	assert_tray(128, 128, 0, "PA-CF", "000000FF", 100, 1);
	t = bambu_status_tray(&s, 128);
	ck_assert_str_eq(t->info_idx, "GFN04");
	ck_assert_str_eq(t->sub_brands, "PAHT-CF");
	ck_assert_str_eq(t->tag_uid, "9A7233A600000100");
	ck_assert_str_eq(t->uuid, "3912400D8BFC4A4D9578E9E643162E10");
	/* vir_slot [255] only, empty. */
	assert_tray(255, 255, 0, "", "00000000", 0, 0);
	ck_assert_ptr_null(bambu_status_tray(&s, 254));
	/* mapping [258] = (1 << 8) | 2: AMS 1 slot 2. */
	ck_assert_int_eq(s.nmapping, 1);
	ck_assert_int_eq(s.mapping[0], 6);
	ck_assert_int_eq(s.tray_now, 255);
	ck_assert_int_eq(s.nextruders, 1);
	ck_assert_int_eq(s.extruders[0].snow, 65535);
	ck_assert_int_eq(s.tray_active, BAMBU_TRAY_NONE);
	/* X1C 01.11 names its one external spool 255; tray_now says 254. */
	ck_assert_int_eq(bambu_status_canon(&s, 254), 255);
	feed_text("{\"print\":{\"msg\":1,\"ams\":{\"tray_now\":\"254\"}}}");
	ck_assert_int_eq(s.tray_active, 255);
	json_decref(doc);
}
END_TEST

START_TEST(h2d_four_ams_two_ht_external)
{
	json_t		*doc = load_capture(
	    "habambulab_H2D_4AMS_2HT_extspool_running.json");
	static const int empty[] = { 1, 4, 10, 14 };
	size_t		 i;
	int		 u;

	ck_assert_str_eq(s.gcode_state, "RUNNING");
	ck_assert_int_eq(s.layer_num, 983);
	ck_assert_int_eq(s.total_layer_num, 1525);
	ck_assert_int_eq(s.mc_percent, 58);
	ck_assert_int_eq(s.mc_remaining_time, 1620);
	ck_assert(s.nozzle_temper == 230.0);
	ck_assert_str_eq(s.print_type, "cloud");
	ck_assert_str_eq(s.subtask_name,
	    "Air Slides \xE2\x80\x93 Lightweight, Breathable, Summer-Ready");
	ck_assert_int_eq(s.nunits, 6);
	for (u = 0; u < 4; u++) {
		ck_assert_int_eq(s.units[u].id, u);
		ck_assert_int_eq(s.units[u].extruder, 1);	/* info "1103".."2103" */
	}
	ck_assert_int_eq(s.units[0].type, 3);
	ck_assert_int_eq(s.units[1].type, 1);
	ck_assert_int_eq(s.units[4].id, 128);
	ck_assert_int_eq(s.units[4].extruder, 0);
	ck_assert_int_eq(s.units[5].id, 129);
	ck_assert_int_eq(s.ntrays, 16 + 2 + 2);
	/* tray_exist_bits "3bbed". */
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
		ck_assert_int_eq(bambu_status_tray(&s, empty[i])->loaded, 0);
	assert_tray(5, 1, 1, "PLA", "FF6A13FF", 93, 1);
	assert_tray(12, 3, 0, "PETG", "00000000", 32, 1);
	assert_tray(15, 3, 3, "ASA", "000000FF", -1, 1);
	assert_tray(128, 128, 0, "PLA", "161616FF", -1, 1);
	assert_tray(129, 129, 0, "PETG", "000000FF", -1, 1);
	/* vir_slot: 254 left/deputy, 255 right/main. */
	assert_tray(254, 254, 0, "PLA", "76D9F4FF", 0, 1);
	assert_tray(255, 255, 0, "TPU", "9B9EA0FF", 0, 1);
	ck_assert_int_eq(bambu_status_canon(&s, 254), 254);
	/* Right extruder: snow 65280 = (255 << 8) | 0, its external spool. */
	ck_assert_int_eq(s.nextruders, 2);
	ck_assert_int_eq(s.active_extruder, 0);
	ck_assert_int_eq(s.extruders[0].id, 0);
	ck_assert_int_eq(s.extruders[0].snow, 65280);
	ck_assert_int_eq(s.extruders[0].tray, 255);
	ck_assert(s.extruders[0].temp == 230.0);	/* 15073510 = 0xE600E6 */
	ck_assert(s.extruders[0].target == 230.0);
	/* Left extruder: snow 65279 = (254 << 8) | 255, nothing loaded. */
	ck_assert_int_eq(s.extruders[1].snow, 65279);
	ck_assert_int_eq(s.extruders[1].tray, BAMBU_TRAY_NONE);
	ck_assert(s.extruders[1].temp == 40.0);
	ck_assert(s.extruders[1].target == 40.0);
	/* tray_now "0" is a local slot on the H2D: snow wins. */
	ck_assert_int_eq(s.tray_now, 0);
	ck_assert_int_eq(s.tray_active, 255);
	ck_assert_int_eq(s.nmapping, 1);
	ck_assert_int_eq(s.mapping[0], 255);	/* [65280] */
	json_decref(doc);
}
END_TEST

START_TEST(h2d_pushall_then_deltas)
{
	json_t	*doc;

	doc = load_capture("habambulab_H2D_pushall_and_deltas.json");

	ck_assert_int_eq(s.extruders[0].snow, 32768);	/* AMS HT 128 */
	ck_assert_int_eq(s.tray_active, 128);
	ck_assert_int_eq(s.tray_now, 0);
	ck_assert_int_eq(s.mapping[0], 128);		/* [32768] */
	ck_assert_int_eq(s.total_layer_num, 26);
	ck_assert_str_eq(s.subtask_name, "Number 10 House Numbers_plate_1");
	assert_tray(3, 0, 3, "PETG", "000000FF", 26, 1);
	assert_tray(128, 128, 0, "PA-GF", "000000FF", 100, 1);
	/* The captured deltas: fragments without command or msg. */
	feed_print(json_object_get(doc, "push_left_extruder"),
	    BAMBU_KIND_DELTA);
	ck_assert_int_eq(s.active_extruder, 1);		/* state 274 = 0x112 */
	ck_assert_int_eq(s.tray_active, BAMBU_TRAY_NONE);
	feed_print(json_object_get(doc, "push_alt_nozzle_info"),
	    BAMBU_KIND_DELTA);
	/* device.nozzle merged beside device.extruder, which stays. */
	ck_assert_int_eq(s.extruders[0].snow, 32768);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(bambu_state_print(st), "device"), "nozzle"),
	    "exist")), 3);
	feed_print(json_object_get(doc, "push_door_opened"), BAMBU_KIND_DELTA);
	ck_assert_str_eq(json_string_value(json_object_get(
	    bambu_state_print(st), "stat")), "46A58008");
	ck_assert_int_eq(s.ntrays, 4 + 1 + 2);
	json_decref(doc);
}
END_TEST

START_TEST(p1p_without_ams)
{
	json_t	*doc = load_capture("habambulab_P1P_noAMS_extspool.json");

	ck_assert_str_eq(s.gcode_state, "FINISH");
	ck_assert_int_eq(s.layer_num, 124);
	ck_assert_int_eq(s.total_layer_num, 124);
	ck_assert_str_eq(s.subtask_name, "sensor_altanl\xC3\xA5s_v2_v3");
	ck_assert_int_eq(s.nunits, 0);
	ck_assert_int_eq(s.ntrays, 1);
	assert_tray(254, 254, 0, "PETG", "BCBCBCFF", 0, 1);
	ck_assert_str_eq(s.trays[0].info_idx, "GFSNL08");
	ck_assert_int_eq(s.tray_now, 254);
	ck_assert_int_eq(s.tray_tar, 255);
	ck_assert_int_eq(s.tray_active, 254);
	ck_assert_int_eq(s.ninfo, 0);
	ck_assert_int_eq(s.nmapping, 0);
	json_decref(doc);
}
END_TEST

START_TEST(p1p_with_ams_failed)
{
	json_t	*doc = load_capture("habambulab_P1P_AMS_failed.json");
	int	 i;

	ck_assert_str_eq(s.gcode_state, "FAILED");
	ck_assert_int_eq(s.layer_num, 1);
	ck_assert_int_eq(s.total_layer_num, 70);
	ck_assert_int_eq(s.mc_remaining_time, 759);
	ck_assert_str_eq(s.subtask_name, "Fidget Collection");
	ck_assert_int_eq(s.units[0].type, -1);		/* no info */
	for (i = 0; i < 4; i++)
		assert_tray(i, 0, i, "PLA", "D357FEFF", -1, 1);
	assert_tray(254, 254, 0, "PLA", "161616FF", 0, 1);
	ck_assert_int_eq(s.tray_now, 0);
	ck_assert_int_eq(s.tray_active, 0);
	json_decref(doc);
}
END_TEST

START_TEST(a1_idle_and_full_status)
{
	json_t	*doc = load_capture("habambulab_A1_idle_AMSlite.json");

	ck_assert_str_eq(s.gcode_state, "IDLE");
	ck_assert_str_eq(s.print_type, "idle");
	assert_tray(0, 0, 0, "PLA", "76D9F4FF", 100, 1);
	assert_tray(3, 0, 3, "PLA", "0ACC38FF", 100, 1);
	assert_tray(254, 254, 0, "PLA", "FFFFFFFF", 0, 1);
	/* The A1's one external spool is 254 whatever id a mapping gives. */
	ck_assert_int_eq(bambu_status_canon(&s, 255), 254);
	json_decref(doc);

	doc = load_capture("derived_openspoolman_A1_full_status_AMSlite.json");
	ck_assert_str_eq(s.gcode_state, "FINISH");
	ck_assert_int_eq(s.layer_num, 751);
	ck_assert_int_eq(s.total_layer_num, 751);
	ck_assert_str_eq(s.task_id, "624782769");
	ck_assert_int_eq(s.units[0].type, 2);		/* info "1002" */
	assert_tray(0, 0, 0, "PLA", "18C241FF", 0, 1);
	assert_tray(1, 0, 1, "", "", -1, 0);
	assert_tray(2, 0, 2, "PLA", "9B9EA0FF", 0, 1);
	ck_assert_str_eq(s.trays[2].tag_uid, "3AF8A4FE00000100");
	assert_tray(254, 254, 0, "PETG", "FFFFFFFF", 0, 1);
	json_decref(doc);
}
END_TEST

START_TEST(a2l_ams_lite_unit_16)
{
	json_t	*doc = load_capture("habambulab_A2L_AMSlite_id16.json");
	int	 i;

	ck_assert_int_eq(s.nunits, 1);
	ck_assert_int_eq(s.units[0].id, 16);
	ck_assert_int_eq(s.units[0].type, 5);		/* info "30001005" */
	ck_assert_int_eq(s.units[0].extruder, 0);
	/* Trays 24..27 (tray_exist_bits "2000000" = bit 25: slot 1). */
	assert_tray(24, 16, 0, "", "", -1, 0);
	assert_tray(25, 16, 1, "PETG", "0ACC38FF", -1, 1);
	assert_tray(27, 16, 3, "", "", -1, 0);
	ck_assert_str_eq(bambu_status_tray(&s, 25)->info_idx, "GFG01");
	/* vir_slot 255, without remain or tray_uuid. */
	assert_tray(255, 255, 0, "", "00000000", -1, 0);
	ck_assert_str_eq(bambu_status_tray(&s, 255)->uuid, "");
	ck_assert_int_eq(s.nmapping, 32);
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(s.mapping[i], BAMBU_TRAY_NONE);
	ck_assert_int_eq(s.tray_active, BAMBU_TRAY_NONE);
	/* Its tray_now is a local slot of unit 16. */
	feed_text("{\"print\":{\"msg\":1,\"ams\":{\"tray_now\":\"1\"}}}");
	ck_assert_int_eq(s.tray_active, 25);
	json_decref(doc);
}
END_TEST

START_TEST(h2c_and_p2s_mapping)
{
	json_t	*doc = load_capture("habambulab_H2C_failed_mapping.json");

	ck_assert_str_eq(s.gcode_state, "FAILED");
	ck_assert_int_eq(s.total_layer_num, 332);
	ck_assert_str_eq(s.subtask_name,
	    "\xE2\x96\xBA HEAVY - 55mm With Logo 100% infill");
	/* mapping [65535, 65535, 0, 1]: filaments 2 and 3 on AMS 0 slots 0, 1. */
	ck_assert_int_eq(s.nmapping, 4);
	ck_assert_int_eq(s.mapping[0], BAMBU_TRAY_NONE);
	ck_assert_int_eq(s.mapping[1], BAMBU_TRAY_NONE);
	ck_assert_int_eq(s.mapping[2], 0);
	ck_assert_int_eq(s.mapping[3], 1);
	ck_assert_int_eq(s.nextruders, 2);
	ck_assert_int_eq(s.tray_active, BAMBU_TRAY_NONE);
	ck_assert_int_eq(bambu_status_tray(&s, 0)->loaded, 0);
	json_decref(doc);

	doc = load_capture("habambulab_P2S_running_mapping.json");
	ck_assert_str_eq(s.gcode_state, "RUNNING");
	ck_assert_int_eq(s.layer_num, 170);
	ck_assert_int_eq(s.total_layer_num, 305);
	ck_assert_str_eq(s.print_type, "local");
	ck_assert_str_eq(s.task_id, "6456");
	ck_assert_str_eq(s.subtask_id, "");
	ck_assert(s.nozzle_temper == 254.0);
	ck_assert(s.nozzle_target_temper == 255.0);
	ck_assert_int_eq(s.nmapping, 1);
	ck_assert_int_eq(s.mapping[0], 3);
	ck_assert_int_eq(s.units[0].type, 3);		/* AMS 2 Pro */
	assert_tray(3, 0, 3, "PETG", "FFFFFFFF", -1, 1);
	ck_assert_int_eq(s.extruders[0].snow, 3);
	ck_assert(s.extruders[0].temp == 254.0);	/* 16711934 = 0xFF00FE */
	ck_assert(s.extruders[0].target == 255.0);
	ck_assert_int_eq(s.tray_active, 3);
	json_decref(doc);
}
END_TEST

START_TEST(exist_bits_and_power)
{
	static const char full[] = "{\"print\":{\"msg\":0,\"ams\":{"
	    "\"tray_exist_bits\":\"2\",\"ams\":[{\"id\":\"0\",\"tray\":["
	    "{\"id\":\"0\",\"tray_type\":\"PLA\"},"
	    "{\"id\":\"1\",\"tray_type\":\"PLA\"}]},"
	    "{\"id\":\"5\",\"tray\":[{\"id\":\"0\","
	    "\"tray_type\":\"PLA\"}]}]}}}";

	feed_text(full);
	ck_assert_int_eq(s.trays[0].loaded, 0);		/* bit 0 clear */
	ck_assert_int_eq(s.trays[1].loaded, 1);
	/* A unit id no numbering knows. */
	ck_assert_int_eq(s.trays[2].unit, 5);
	ck_assert_int_eq(s.trays[2].tray, BAMBU_TRAY_INVALID);
	/* Powered off: the bits are not believed (they drop to 0 at shutdown). */
	feed_text("{\"print\":{\"msg\":1,\"ams\":{\"tray_exist_bits\":\"0\","
	    "\"power_on_flag\":false}}}");
	ck_assert_int_eq(s.trays[0].loaded, 1);
	ck_assert_int_eq(s.trays[1].loaded, 1);
}
END_TEST

START_TEST(bounds)
{
	json_t	*p = json_object(), *units = json_array(), *u, *trays;
	char	 name[1001 * 2 + 1];
	int	 i, j;

	/* 500 x "é" (2 bytes each) then "x": cut on a character boundary. */
	for (i = 0; i < 1000; i += 2)
		memcpy(name + i, "\xC3\xA9", 2);
	strcpy(name + 1000, "x");
	json_object_set_new(p, "msg", json_integer(0));
	json_object_set_new(p, "subtask_name", json_string(name));
	json_object_set_new(p, "task_id", json_integer(1234567890123LL));
	json_object_set_new(p, "gcode_state", json_string("A VERY LONG STATE "
	    "NAME"));
	for (i = 0; i < 20; i++) {
		u = json_object();
		trays = json_array();
		json_object_set_new(u, "id", json_integer(i % 4));
		for (j = 0; j < 4; j++)
			json_array_append_new(trays, json_pack("{sisssssi}",
			    "id", j, "tray_type", "PLA", "tray_color", "red",
			    "remain", 101));
		json_object_set_new(u, "tray", trays);
		json_array_append_new(units, u);
	}
	json_object_set_new(p, "ams", json_pack("{so}", "ams", units));
	feed_print(p, BAMBU_KIND_FULL);
	json_decref(p);
	ck_assert_int_eq(strlen(s.subtask_name), BAMBU_NAME_LEN - 2);
	ck_assert_str_eq(s.subtask_name + BAMBU_NAME_LEN - 4, "\xC3\xA9");
	ck_assert_str_eq(s.task_id, "1234567890123");
	ck_assert_str_eq(s.gcode_state, "A VERY LONG STA");
	ck_assert_int_eq(s.nunits, BAMBU_UNITS_MAX);
	ck_assert_int_eq(s.ntrays, BAMBU_TRAYS_MAX);
	ck_assert_int_eq(s.trays_dropped, 20 * 4 - BAMBU_TRAYS_MAX);
	ck_assert_str_eq(s.trays[0].color, "");		/* not 8 hex digits */
	ck_assert_int_eq(s.trays[0].remain, -1);	/* not 0..100 */
}
END_TEST

#define tcase(name, test)	ck_tcase(name, test, setup, teardown, 0)

static Suite *
bambu_status_suite(void)
{
	Suite	*su = suite_create("bambu_status");

	suite_add_tcase(su, tcase("x1c_three_ams_and_ht",
	    x1c_three_ams_and_ht));
	suite_add_tcase(su, tcase("h2d_four_ams_two_ht_external",
	    h2d_four_ams_two_ht_external));
	suite_add_tcase(su, tcase("h2d_pushall_then_deltas",
	    h2d_pushall_then_deltas));
	suite_add_tcase(su, tcase("p1p_without_ams", p1p_without_ams));
	suite_add_tcase(su, tcase("p1p_with_ams_failed", p1p_with_ams_failed));
	suite_add_tcase(su, tcase("a1_idle_and_full_status",
	    a1_idle_and_full_status));
	suite_add_tcase(su, tcase("a2l_ams_lite_unit_16",
	    a2l_ams_lite_unit_16));
	suite_add_tcase(su, tcase("h2c_and_p2s_mapping", h2c_and_p2s_mapping));
	suite_add_tcase(su, tcase("exist_bits_and_power",
	    exist_bits_and_power));
	suite_add_tcase(su, tcase("bounds", bounds));
	return su;
}

int
main(void)
{
	return ck_run(bambu_status_suite());
}
