/* check_bambu_state.c: unit tests of bambu_state.c: real report logs replayed through the merger, and broken reports. */
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
#define A1_LOG MQTT "openspoolman_A1_print_session_with_project_file.log"
#define A1_SCREEN_LOG MQTT "openspoolman_A1_print_session2.log"
#define X1C_LOG MQTT "openspoolman_X1C_fw01.11_5filament_AMSHT_" \
    "failed_layer0.log"
#define A1_STREAM MQTT "derived_openspoolman_A1_delta_stream_print_start.json"

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

/* Feeds a NUL-terminated report; returns what bambu_state_feed() returns. */
static int
feed(const char *json)
{
	return bambu_state_feed(st, json, strlen(json), &ev, err);
}

/* Feeds a report that must be accepted as kind k, then reads the status. */
static void
feed_ok(const char *json, enum bambu_kind k)
{
	ck_assert_msg(feed(json) == 0, "%s: %s", json, err);
	ck_assert_str_eq(bambu_state_kind_name(ev.kind),
	    bambu_state_kind_name(k));
	bambu_status_get(st, &s);
}

/* Per-log tallies of a replay. */
struct replay {
	int	 lines;
	int	 kinds[BAMBU_KIND__MAX];
};

/*
 * Replays the log at path ("<timestamp> :: <json>" lines) up to line `upto`
 * (0: all); every report must be accepted.
 */
static void
replay(const char *path, int upto, struct replay *r)
{
	FILE	*f = fopen(path, "r");
	char	*line = NULL, *p;
	size_t	 cap = 0;

	memset(r, 0, sizeof(*r));
	ck_assert_msg(f != NULL, "%s: cannot open", path);
	while ((upto == 0 || r->lines < upto) && getline(&line, &cap, f) > 0) {
		r->lines++;
		p = strstr(line, " :: ");
		ck_assert_msg(p != NULL, "%s:%d: no \" :: \"", path, r->lines);
		p += 4;
		ck_assert_msg(bambu_state_feed(st, p, strlen(p), &ev, err) == 0,
		    "%s:%d: %s", path, r->lines, err);
		r->kinds[ev.kind]++;
	}
	free(line);
	fclose(f);
	bambu_status_get(st, &s);
}

/* The A1's AMS Lite and external spool, the same in every A1 capture. */
static void
assert_a1_trays(void)
{
	const struct bambu_tray	*t;

	ck_assert_int_eq(s.nunits, 1);
	ck_assert_int_eq(s.units[0].id, 0);
	ck_assert_int_eq(s.units[0].type, 2);	/* info "1002": AMS Lite */
	ck_assert_int_eq(s.ntrays, 5);
	ck_assert_ptr_nonnull(t = bambu_status_tray(&s, 3));
	ck_assert_str_eq(t->type, "PLA");
	ck_assert_str_eq(t->color, "FFFFFFFF");
	ck_assert_str_eq(t->info_idx, "GFL99");
	ck_assert_int_eq(t->loaded, 1);
	ck_assert_ptr_nonnull(t = bambu_status_tray(&s, 2));
	ck_assert_str_eq(t->sub_brands, "PLA Matte");
	ck_assert_str_eq(t->tag_uid, "3AF8A4FE00000100");
	ck_assert_str_eq(t->uuid, "886F70EC301A4376BA78700856FAE12E");
	ck_assert_ptr_nonnull(t = bambu_status_tray(&s, 1));
	ck_assert_int_eq(t->loaded, 0);		/* tray_exist_bits "d" */
	ck_assert_ptr_nonnull(t = bambu_status_tray(&s, 254));
	ck_assert_str_eq(t->type, "PETG");
}

START_TEST(replay_a1_cloud_print)
{
	struct replay	 r;

	/* Line 25: the full report left by the previous print. */
	replay(A1_LOG, 25, &r);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_FULL], 1);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_DELTA], 24);
	ck_assert_str_eq(s.gcode_state, "FINISH");
	ck_assert_int_eq(s.layer_num, 751);
	ck_assert_int_eq(s.total_layer_num, 751);
	ck_assert_int_eq(s.mc_percent, 100);
	ck_assert_int_eq(s.tray_now, 255);
	ck_assert_int_eq(s.tray_active, BAMBU_TRAY_NONE);
	assert_a1_trays();

	/* Line 98: deltas set tray_tar (line 70), then tray_now (line 98). */
	bambu_state_reset(st);
	replay(A1_LOG, 98, &r);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_PROJECT], 1);
	ck_assert_str_eq(s.gcode_state, "RUNNING");
	ck_assert_int_eq(s.tray_tar, 3);
	ck_assert_int_eq(s.tray_now, 3);
	ck_assert_int_eq(s.tray_pre, 255);	/* from the full report */
	ck_assert_int_eq(s.tray_active, 3);
	assert_a1_trays();		/* the delta kept ams.ams[] */

	bambu_state_reset(st);
	replay(A1_LOG, 0, &r);
	ck_assert_int_eq(r.lines, 2202);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_FULL], 18);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_DELTA], 2182);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_PROJECT], 1);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_COMMAND], 1);	/* print_speed */
	ck_assert_str_eq(ev.module, "print");
	/* The log ends mid-print: layer 317 came by delta after the last full (304). */
	ck_assert_int_eq(s.complete, 1);
	ck_assert_str_eq(s.gcode_state, "RUNNING");
	ck_assert_int_eq(s.layer_num, 317);
	ck_assert_int_eq(s.total_layer_num, 751);
	ck_assert_int_eq(s.mc_percent, 55);
	ck_assert_int_eq(s.mc_remaining_time, 59);
	ck_assert(s.nozzle_temper == 220.0);
	ck_assert(s.nozzle_target_temper == 220.0);
	ck_assert(s.bed_temper == 64.96875);
	ck_assert(s.bed_target_temper == 65.0);
	ck_assert_int_eq(s.print_error, 0);
	ck_assert_str_eq(s.task_id, "625003395");
	ck_assert_str_eq(s.subtask_id, "625003395");
	ck_assert_str_eq(s.subtask_name, "Christmas Tree With Star; Size_ M");
	ck_assert_str_eq(s.gcode_file, "Christmas Tree With Star; Size_ M.3mf");
	ck_assert_str_eq(s.print_type, "cloud");
	ck_assert_int_eq(s.tray_now, 3);
	ck_assert_int_eq(s.tray_active, 3);
	ck_assert_int_eq(s.nmapping, 0);	/* old protocol: no print.mapping */
	assert_a1_trays();
}
END_TEST

START_TEST(replay_a1_screen_print)
{
	struct replay	 r;

	replay(A1_SCREEN_LOG, 0, &r);
	ck_assert_int_eq(r.lines, 4324);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_FULL], 26);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_DELTA], 4298);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_PROJECT], 0);
	ck_assert_str_eq(s.gcode_state, "RUNNING");
	ck_assert_int_eq(s.layer_num, 535);
	ck_assert_int_eq(s.total_layer_num, 751);
	ck_assert_int_eq(s.mc_percent, 87);
	ck_assert_int_eq(s.mc_remaining_time, 12);
	ck_assert(s.nozzle_temper == 219.9375);
	ck_assert_str_eq(s.print_type, "local");
	ck_assert_str_eq(s.task_id, "0");
	ck_assert_str_eq(s.subtask_name,
	    "Christmas Tree With Star; Size_ M.3mf");
	ck_assert_int_eq(s.tray_active, 3);
	assert_a1_trays();
}
END_TEST

START_TEST(replay_x1c_failed_print)
{
	struct replay	 r;
	static const int mapping[] = { 1, 128, 3, 0, 2 };
	int		 i;

	/* Line 65: the project_file echo. */
	replay(X1C_LOG, 65, &r);
	ck_assert_int_eq(ev.kind, BAMBU_KIND_PROJECT);
	ck_assert_str_eq(ev.result, "SUCCESS");
	ck_assert_str_eq(ev.sequence_id, "774");
	ck_assert_int_eq(ev.project.nfilaments, 5);
	ck_assert_str_eq(s.gcode_state, "FINISH");	/* unchanged by the echo */

	bambu_state_reset(st);
	replay(X1C_LOG, 0, &r);
	ck_assert_int_eq(r.lines, 161);
	/* Firmware 01.11 sends every push_status whole, without "msg". */
	ck_assert_int_eq(r.kinds[BAMBU_KIND_FULL], 138);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_DELTA], 0);
	ck_assert_int_eq(r.kinds[BAMBU_KIND_PROJECT], 1);
	/* 20 gcode_line, 1 stop, 1 ams_filament_setting. */
	ck_assert_int_eq(r.kinds[BAMBU_KIND_COMMAND], 22);
	ck_assert_str_eq(s.gcode_state, "FAILED");
	ck_assert_int_eq(s.layer_num, 0);
	ck_assert_int_eq(s.total_layer_num, 164);
	ck_assert_int_eq(s.mc_remaining_time, 936);
	ck_assert_str_eq(s.task_id, "3386");
	ck_assert_str_eq(s.subtask_name,
	    "Zephyros - Articulated Dragon (Full-Size)");
	ck_assert_str_eq(s.gcode_file, "/data/Metadata/plate_1.gcode");
	ck_assert_int_eq(s.nmapping, 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(s.mapping[i], mapping[i]);
	ck_assert_int_eq(s.tray_now, 255);
	ck_assert_int_eq(s.ninfo, 1);
	ck_assert_int_eq(s.extruders[0].snow, 65535);
	ck_assert_int_eq(s.tray_active, BAMBU_TRAY_NONE);
	ck_assert_ptr_nonnull(bambu_status_tray(&s, 128));
	ck_assert_int_eq(s.ntrays, 6);		/* 4 + HT 128 + vir_slot 255 */
}
END_TEST

/* The derived print-start extract: deltas before any full report, then one. */
START_TEST(delta_stream_print_start)
{
	json_t		*arr, *e;
	json_error_t	 jerr;
	char		*text;
	size_t		 i;
	int		 full_at = -1;

	ck_assert_ptr_nonnull(arr = json_load_file(A1_STREAM, 0, &jerr));
	ck_assert_int_eq(json_array_size(arr), 142);
	json_array_foreach(arr, i, e) {
		text = json_dumps(json_object_get(e, "msg"), JSON_COMPACT);
		ck_assert_msg(feed(text) == 0, "entry %zu: %s", i, err);
		free(text);
		bambu_status_get(st, &s);
		if (ev.kind == BAMBU_KIND_FULL && full_at == -1)
			full_at = (int)i;
		if (i == 2)
			ck_assert_int_eq(ev.kind, BAMBU_KIND_PROJECT);
		if (i == 119)
			ck_assert_str_eq(ev.command, "print_speed");
		if (i == 64) {
			/* Only deltas so far: what they said, no AMS units. */
			ck_assert_int_eq(s.complete, 0);
			ck_assert_str_eq(s.gcode_state, "RUNNING");
			ck_assert_int_eq(s.tray_now, 3);
			ck_assert_int_eq(s.tray_tar, 3);
			ck_assert_int_eq(s.tray_pre, -1);
			ck_assert_int_eq(s.total_layer_num, -1);
			ck_assert_int_eq(s.ntrays, 0);
			ck_assert_int_eq(s.tray_active, 3);
		}
	}
	json_decref(arr);
	ck_assert_int_eq(full_at, 120);
	ck_assert_int_eq(s.complete, 1);
	ck_assert_str_eq(s.gcode_state, "RUNNING");
	ck_assert_int_eq(s.layer_num, 0);
	ck_assert_int_eq(s.total_layer_num, 751);
	ck_assert_int_eq(s.mc_percent, 1);
	ck_assert_int_eq(s.mc_remaining_time, 167);
	ck_assert(s.nozzle_temper == 183.5);
	ck_assert(s.nozzle_target_temper == 170.0);
	ck_assert_int_eq(s.tray_pre, 3);
	assert_a1_trays();
}
END_TEST

static const char units_full[] =
    "{\"print\":{\"command\":\"push_status\",\"msg\":0,\"hms\":[1,2],"
    "\"mapping\":[1,2],\"extra\":\"x\",\"ams\":{\"tray_now\":\"255\","
    "\"ams\":[{\"id\":\"0\",\"humidity\":\"5\",\"tray\":["
    "{\"id\":\"0\",\"tray_type\":\"PLA\",\"remain\":90},"
    "{\"id\":\"1\",\"tray_type\":\"PETG\",\"remain\":80},"
    "{\"id\":\"2\",\"tray_type\":\"ABS\",\"remain\":70,"
    "\"tray_color\":\"FF0000FF\"},"
    "{\"id\":\"3\",\"tray_type\":\"ASA\",\"remain\":60}]},"
    "{\"id\":\"128\",\"tray\":[{\"id\":\"0\",\"tray_type\":\"PA-CF\"}]}]}}}";

START_TEST(merge_by_id)
{
	const json_t		*units;
	const struct bambu_tray	*t;

	feed_ok(units_full, BAMBU_KIND_FULL);
	/* Units and trays in another order, ids as integers: matched by id. */
	feed_ok("{\"print\":{\"command\":\"push_status\",\"msg\":1,"
	    "\"hms\":[],\"mapping\":[3],\"ams\":{\"tray_now\":\"2\",\"ams\":["
	    "{\"id\":128,\"humidity\":\"3\"},"
	    "{\"id\":\"0\",\"tray\":[{\"id\":2,\"remain\":50}]},"
	    "{\"id\":\"1\",\"tray\":[{\"id\":\"0\",\"tray_type\":\"TPU\"}]}"
	    "]}}}", BAMBU_KIND_DELTA);
	ck_assert_ptr_nonnull(t = bambu_status_tray(&s, 2));
	ck_assert_int_eq(t->remain, 50);
	ck_assert_str_eq(t->type, "ABS");	/* kept */
	ck_assert_str_eq(t->color, "FF0000FF");
	ck_assert_int_eq(bambu_status_tray(&s, 3)->remain, 60);
	ck_assert_str_eq(bambu_status_tray(&s, 128)->type, "PA-CF");
	ck_assert_str_eq(bambu_status_tray(&s, 4)->type, "TPU");	/* new unit 1 */
	ck_assert_int_eq(s.nunits, 3);
	ck_assert_int_eq(s.tray_now, 2);
	/* Other arrays replace. */
	ck_assert_int_eq(s.nmapping, 1);
	ck_assert_int_eq(s.mapping[0], 3);
	ck_assert_int_eq(json_array_size(json_object_get(
	    bambu_state_print(st), "hms")), 0);
	units = json_object_get(json_object_get(bambu_state_print(st), "ams"),
	    "ams");
	ck_assert_int_eq(json_array_size(units), 3);
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(units, 1), "humidity")), "3");
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(units, 0), "humidity")), "5");
	/* A full report replaces everything: "extra" goes, units go. */
	feed_ok("{\"print\":{\"command\":\"push_status\",\"msg\":0,"
	    "\"gcode_state\":\"IDLE\"}}", BAMBU_KIND_FULL);
	ck_assert_ptr_null(json_object_get(bambu_state_print(st), "extra"));
	ck_assert_int_eq(s.ntrays, 0);
	ck_assert_str_eq(s.gcode_state, "IDLE");
}
END_TEST

START_TEST(full_or_delta)
{
	/* No msg with command push_status: full (X1C 01.11). */
	feed_ok("{\"print\":{\"command\":\"push_status\",\"layer_num\":5}}",
	    BAMBU_KIND_FULL);
	ck_assert_int_eq(s.complete, 1);
	ck_assert_int_eq(s.layer_num, 5);
	/* Neither command nor msg: a fragment, merged (ha-bambulab H2D deltas). */
	feed_ok("{\"print\":{\"device\":{\"extruder\":{\"state\":274}}}}",
	    BAMBU_KIND_DELTA);
	ck_assert_int_eq(s.layer_num, 5);
	ck_assert_int_eq(s.active_extruder, 1);
	ck_assert_int_eq(s.nextruders, 2);
	/* msg as a string. */
	feed_ok("{\"print\":{\"msg\":\"1\",\"layer_num\":6}}",
	    BAMBU_KIND_DELTA);
	ck_assert_int_eq(s.layer_num, 6);
	ck_assert_int_eq(s.active_extruder, 1);
	feed_ok("{\"print\":{\"msg\":0,\"layer_num\":7}}", BAMBU_KIND_FULL);
	ck_assert_int_eq(s.active_extruder, 0);
	ck_assert_int_eq(s.nextruders, 0);
	bambu_state_reset(st);
	bambu_status_get(st, &s);
	ck_assert_int_eq(s.complete, 0);
	ck_assert_int_eq(s.layer_num, -1);
}
END_TEST

START_TEST(events)
{
	feed_ok("{\"print\":{\"command\":\"gcode_line\",\"reason\":\"SUCCESS\","
	    "\"result\":\"SUCCESS\",\"return_code\":\"782\","
	    "\"sequence_id\":\"389\"}}", BAMBU_KIND_COMMAND);
	ck_assert_str_eq(ev.command, "gcode_line");
	ck_assert_str_eq(ev.result, "SUCCESS");
	ck_assert_str_eq(ev.sequence_id, "389");
	ck_assert_int_eq(json_object_size(bambu_state_print(st)), 0);
	feed_ok("{\"info\":{\"command\":\"get_version\",\"sequence_id\":\"0\","
	    "\"module\":[]}}", BAMBU_KIND_OTHER);
	ck_assert_str_eq(ev.module, "info");
	ck_assert_str_eq(ev.command, "get_version");
	feed_ok("{\"mc_print\":{\"param\":\"[AMS][TASK]ams0 temp:28.0\"}}",
	    BAMBU_KIND_OTHER);
	ck_assert_str_eq(ev.module, "mc_print");
	ck_assert_str_eq(ev.command, "");
	feed_ok("{}", BAMBU_KIND_OTHER);
	ck_assert_str_eq(ev.module, "");
	ck_assert_int_eq(json_object_size(bambu_state_print(st)), 0);
}
END_TEST

/* Reports that must be refused with err starting with `want`. */
static const struct bad {
	const char	*json;
	const char	*want;
} bads[] = {
	{ "", "not JSON" },
	{ "{\"print\":{\"command\":\"push_status\",\"msg\":1,\"layer",
	    "not JSON" },
	{ "[1,2]", "report is not a JSON object" },
	{ "\"print\"", "not JSON" },		/* Jansson wants an object or array */
	{ "42", "not JSON" },
	{ "null", "not JSON" },
	{ "{\"print\":[]}", "print: expected an object" },
	{ "{\"print\":\"x\"}", "print: expected an object" },
	{ "{\"print\":{\"command\":7}}", "print.command: expected a string" },
	{ "{\"print\":{\"msg\":\"delta\"}}", "print.msg: expected a number" },
	{ "{\"print\":{\"msg\":1000}}", "print.msg: expected 0..255" },
	{ "{\"print\":{\"msg\":1,\"layer_num\":\"abc\"}}",
	    "print.layer_num: expected a number" },
	{ "{\"print\":{\"msg\":1,\"layer_num\":[1]}}",
	    "print.layer_num: expected a number" },
	{ "{\"print\":{\"msg\":1,\"bed_temper\":\"1e999\"}}",
	    "print.bed_temper: expected a number" },
	{ "{\"print\":{\"msg\":1,\"layer_num\":true}}",
	    "print.layer_num: expected a number" },
	{ "{\"print\":{\"msg\":1,\"gcode_state\":5}}",
	    "print.gcode_state: expected a string" },
	{ "{\"print\":{\"msg\":1,\"task_id\":{}}}",
	    "print.task_id: expected a string or an integer" },
	{ "{\"print\":{\"msg\":1,\"ams\":[]}}",
	    "print.ams: expected an object" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"ams\":{}}}}",
	    "print.ams.ams: expected an array" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"tray_now\":[]}}}",
	    "print.ams.tray_now: expected a number" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"ams\":[7]}}}",
	    "print.ams.ams[0]: expected an object" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"ams\":[{\"tray\":[]}]}}}",
	    "print.ams.ams[0].id: expected an id in 0..255" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"ams\":[{\"id\":\"x\"}]}}}",
	    "print.ams.ams[0].id: expected an id in 0..255" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"ams\":[{\"id\":\"256\"}]}}}",
	    "print.ams.ams[0].id: expected an id in 0..255" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"ams\":[{\"id\":\"0\",\"tray\":"
	    "[{\"id\":\"0\",\"remain\":\"lots\"}]}]}}}",
	    "print.ams.ams[0].tray[0].remain: expected a number" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"ams\":[{\"id\":\"0\",\"tray\":"
	    "[{\"remain\":5}]}]}}}",
	    "print.ams.ams[0].tray[0].id: expected an id in 0..255" },
	{ "{\"print\":{\"msg\":1,\"vt_tray\":{\"tray_type\":1}}}",
	    "print.vt_tray.tray_type: expected a string" },
	{ "{\"print\":{\"msg\":1,\"vir_slot\":[{\"tray_color\":[]}]}}",
	    "print.vir_slot[0].tray_color: expected a string" },
	{ "{\"print\":{\"msg\":1,\"mapping\":[1,\"a\"]}}",
	    "print.mapping[1]: expected a number" },
	{ "{\"print\":{\"msg\":1,\"mapping\":{}}}",
	    "print.mapping: expected an array" },
	{ "{\"print\":{\"msg\":1,\"device\":{\"extruder\":{\"info\":[1]}}}}",
	    "print.device.extruder.info[0]: expected an object" },
	{ "{\"print\":{\"msg\":1,\"device\":{\"extruder\":"
	    "{\"state\":\"on\"}}}}",
	    "print.device.extruder.state: expected a number" },
	{ "{\"print\":{\"msg\":1,\"ams\":{\"power_on_flag\":1}}}",
	    "print.ams.power_on_flag: expected a boolean" },
	/* Numbers Jansson itself refuses. */
	{ "{\"print\":{\"msg\":1,\"layer_num\":1e400}}", "not JSON" },
	{ "{\"print\":{\"msg\":1,\"layer_num\":99999999999999999999999}}",
	    "not JSON" },
	/* Bytes that are not UTF-8. */
	{ "{\"print\":{\"msg\":1,\"subtask_name\":\"\xff\xfe\"}}", "not JSON" },
	{ "{\"print\":{\"command\":\"project_file\",\"ams_mapping\":\"3\"}}",
	    "project_file ams_mapping is not an array" },
};

START_TEST(malformed)
{
	json_t	*before;
	size_t	 i;

	feed_ok(units_full, BAMBU_KIND_FULL);
	before = json_deep_copy(bambu_state_print(st));
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(feed(bads[i].json) == -1, "accepted %s",
		    bads[i].json);
		ck_assert_msg(strncmp(err, bads[i].want, strlen(bads[i].want))
		    == 0, "%s: err \"%s\", want \"%s\"", bads[i].json, err,
		    bads[i].want);
		ck_assert_msg(json_equal(before, bambu_state_print(st)),
		    "%s changed the state", bads[i].json);
	}
	json_decref(before);
	ck_assert_int_eq(bambu_state_complete(st), 1);
}
END_TEST

/* Builds {"print":{"msg":1,"a":[[...[1]...]]}} with `depth` nested arrays. */
static char *
nested(int depth)
{
	const char	 head[] = "{\"print\":{\"msg\":1,\"a\":";
	char		*buf, *p;
	int		 i;

	buf = malloc(sizeof(head) + 2 * (size_t)depth + 8);
	ck_assert_ptr_nonnull(buf);
	p = buf + strlen(strcpy(buf, head));
	for (i = 0; i < depth; i++)
		*p++ = '[';
	*p++ = '1';
	for (i = 0; i < depth; i++)
		*p++ = ']';
	strcpy(p, "}}");
	return buf;
}

START_TEST(limits)
{
	char	*buf;
	size_t	 n, i;

	/* print is level 1, "a" level 2: 30 arrays reach BAMBU_DEPTH_MAX. */
	buf = nested(BAMBU_DEPTH_MAX - 2);
	ck_assert_msg(feed(buf) == 0, "%s", err);
	free(buf);
	buf = nested(BAMBU_DEPTH_MAX - 1);
	ck_assert_int_eq(feed(buf), -1);
	ck_assert_str_eq(err, "print: nested deeper than 32 levels");
	free(buf);
	/* Deeper than Jansson's own parser limit (2048). */
	buf = nested(5000);
	ck_assert_int_eq(feed(buf), -1);
	ck_assert_msg(strncmp(err, "not JSON", 8) == 0, "%s", err);
	free(buf);
	/* Too many units in one report. */
	buf = malloc(64 * 1024);
	n = (size_t)sprintf(buf, "{\"print\":{\"msg\":1,\"ams\":{\"ams\":[");
	for (i = 0; i <= BAMBU_ARRAY_MAX; i++)
		n += (size_t)sprintf(buf + n, "%s{\"id\":\"0\"}", i ? "," : "");
	strcpy(buf + n, "]}}}");
	ck_assert_int_eq(feed(buf), -1);
	ck_assert_str_eq(err, "print.ams.ams: 65 elements (limit 64)");
	free(buf);
	/* Longer than BAMBU_REPORT_MAX: refused before parsing. */
	ck_assert_int_eq(bambu_state_feed(st, "{}", BAMBU_REPORT_MAX + 1, &ev,
	    err), -1);
	ck_assert_str_eq(err, "report of 1048577 bytes (limit 1048576)");
}
END_TEST

START_TEST(not_terminated)
{
	static const char buf[] = "{\"print\":{\"msg\":0,\"layer_num\":12}}"
	    "GARBAGE";

	/* Only len bytes are read: the payload is not a C string. */
	ck_assert_int_eq(bambu_state_feed(st, buf, strlen(buf) - 7, &ev, err),
	    0);
	bambu_status_get(st, &s);
	ck_assert_int_eq(s.layer_num, 12);
	ck_assert_int_eq(bambu_state_feed(st, buf, strlen(buf), &ev, err), -1);
	/* A NUL inside the payload. */
	ck_assert_int_eq(bambu_state_feed(st, "{\"print\":\0{}}", 12, &ev, err),
	    -1);
	ck_assert_msg(strncmp(err, "not JSON", 8) == 0, "%s", err);
}
END_TEST

START_TEST(huge_numbers)
{
	/* Numbers of the right type but out of range: accepted, read as unknown. */
	feed_ok("{\"print\":{\"msg\":0,\"layer_num\":1e300,"
	    "\"total_layer_num\":12345678901234567,\"mc_percent\":101,"
	    "\"mc_remaining_time\":-5,\"nozzle_temper\":-1e308,"
	    "\"bed_temper\":\"1e30\",\"print_error\":99999999999,"
	    "\"ams\":{\"tray_now\":\"70000\",\"ams\":[{\"id\":\"0\",\"tray\":"
	    "[{\"id\":\"0\",\"tray_type\":\"PLA\",\"remain\":150}]}]},"
	    "\"device\":{\"extruder\":{\"state\":-1,\"info\":[{\"id\":9,"
	    "\"snow\":1e10,\"temp\":-1}]}}}}", BAMBU_KIND_FULL);
	ck_assert_int_eq(s.layer_num, -1);
	ck_assert_int_eq(s.total_layer_num, -1);
	ck_assert_int_eq(s.mc_percent, -1);
	ck_assert_int_eq(s.mc_remaining_time, -1);
	ck_assert(isnan(s.nozzle_temper));
	ck_assert(isnan(s.bed_temper));
	ck_assert_int_eq(s.print_error, -1);
	ck_assert_int_eq(s.tray_now, -1);
	ck_assert_int_eq(s.trays[0].remain, -1);
	ck_assert_int_eq(s.ninfo, 1);
	ck_assert_int_eq(s.extruders[0].id, 0);
	ck_assert_int_eq(s.extruders[0].snow, -1);
	ck_assert(isnan(s.extruders[0].temp));
	ck_assert_int_eq(s.tray_active, BAMBU_TRAY_NONE);
}
END_TEST

#define tcase(name, test)	ck_tcase(name, test, setup, teardown, 60)

static Suite *
bambu_state_suite(void)
{
	Suite	*su = suite_create("bambu_state");

	suite_add_tcase(su, tcase("replay_a1_cloud_print",
	    replay_a1_cloud_print));
	suite_add_tcase(su, tcase("replay_a1_screen_print",
	    replay_a1_screen_print));
	suite_add_tcase(su, tcase("replay_x1c_failed_print",
	    replay_x1c_failed_print));
	suite_add_tcase(su, tcase("delta_stream_print_start",
	    delta_stream_print_start));
	suite_add_tcase(su, tcase("merge_by_id", merge_by_id));
	suite_add_tcase(su, tcase("full_or_delta", full_or_delta));
	suite_add_tcase(su, tcase("events", events));
	suite_add_tcase(su, tcase("malformed", malformed));
	suite_add_tcase(su, tcase("limits", limits));
	suite_add_tcase(su, tcase("not_terminated", not_terminated));
	suite_add_tcase(su, tcase("huge_numbers", huge_numbers));
	return su;
}

int
main(void)
{
	return ck_run(bambu_state_suite());
}
