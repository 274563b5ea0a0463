/* check_bambu_project.c: unit tests of bambu_project.c and bambu_tray.c: the project_file echo and tray id decoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "bambu_project.h"
#include "bambu_state.h"
#include "bambu_status.h"
#include "bambu_tray.h"
#include "errbuf.h"
#include "../harness/ckrun.h"

#define MQTT "../shared/samples/mqtt/"
#define NONE BAMBU_TRAY_NONE
#define BAD BAMBU_TRAY_INVALID
#define URL_HEAD "https://or-cloud-upload-prod.s3.us-west-2.amazonaws.com/" \
    "users/1366760186/models/20251218190216.709/" \
    "US14f3fec2f8be5c_524851413_1.3mf?X-Amz-"

static struct bambu_project	 pf;
static char			 err[ERRBUF_LEN];

/* Parses the print object of a NUL-terminated report; returns what bambu_project_parse() returns. */
static int
parse(const char *json)
{
	json_t		*root;
	json_error_t	 jerr;
	int		 r;

	root = json_loads(json, 0, &jerr);
	ck_assert_msg(root != NULL, "%s: %s", json, jerr.text);
	err[0] = '\0';
	r = bambu_project_parse(json_object_get(root, "print"), &pf, err);
	json_decref(root);
	return r;
}

/* Checks pf's tray for filaments 0..n-1. */
static void
assert_trays(const int *want, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		ck_assert_msg(bambu_project_tray(&pf, i) == want[i],
		    "filament %d: tray %d, want %d", i,
		    bambu_project_tray(&pf, i), want[i]);
}

START_TEST(tray_of_pairs)
{
	ck_assert_int_eq(bambu_tray_of(0, 0), 0);
	ck_assert_int_eq(bambu_tray_of(0, 3), 3);
	ck_assert_int_eq(bambu_tray_of(1, 2), 6);
	ck_assert_int_eq(bambu_tray_of(3, 3), 15);
	ck_assert_int_eq(bambu_tray_of(16, 0), 24);	/* A2L AMS Lite */
	ck_assert_int_eq(bambu_tray_of(16, 3), 27);
	ck_assert_int_eq(bambu_tray_of(128, 0), 128);	/* AMS HT */
	ck_assert_int_eq(bambu_tray_of(135, 0), 135);
	ck_assert_int_eq(bambu_tray_of(255, 0), 255);	/* external */
	ck_assert_int_eq(bambu_tray_of(254, 0), 254);
	ck_assert_int_eq(bambu_tray_of(255, 255), NONE);
	ck_assert_int_eq(bambu_tray_of(254, 255), NONE);
	ck_assert_int_eq(bambu_tray_of(4, 0), BAD);
	ck_assert_int_eq(bambu_tray_of(0, 4), BAD);
	ck_assert_int_eq(bambu_tray_of(128, 1), BAD);
	ck_assert_int_eq(bambu_tray_of(136, 0), BAD);
	ck_assert_int_eq(bambu_tray_of(255, 1), BAD);
	ck_assert_int_eq(bambu_tray_of(-1, 0), BAD);
	ck_assert_int_eq(bambu_tray_of(0, -1), BAD);
}
END_TEST

START_TEST(tray_packed_and_flat)
{
	/* (unit << 8) | slot: print.mapping and extruder snow. */
	ck_assert_int_eq(bambu_tray_packed(258), 6);
	ck_assert_int_eq(bambu_tray_packed(3), 3);
	ck_assert_int_eq(bambu_tray_packed(32768), 128);
	ck_assert_int_eq(bambu_tray_packed(33024), 129);
	ck_assert_int_eq(bambu_tray_packed(4097), 25);
	ck_assert_int_eq(bambu_tray_packed(65280), 255);
	ck_assert_int_eq(bambu_tray_packed(65024), 254);
	ck_assert_int_eq(bambu_tray_packed(65279), NONE);
	ck_assert_int_eq(bambu_tray_packed(65535), NONE);
	ck_assert_int_eq(bambu_tray_packed(255), BAD);	/* (0, 255) */
	ck_assert_int_eq(bambu_tray_packed(-1), BAD);
	ck_assert_int_eq(bambu_tray_packed(65536), BAD);
	/* ams_mapping elements. */
	ck_assert_int_eq(bambu_tray_flat(-1), NONE);
	ck_assert_int_eq(bambu_tray_flat(65535), NONE);
	ck_assert_int_eq(bambu_tray_flat(0), 0);
	ck_assert_int_eq(bambu_tray_flat(15), 15);
	ck_assert_int_eq(bambu_tray_flat(16), BAD);
	ck_assert_int_eq(bambu_tray_flat(24), 24);
	ck_assert_int_eq(bambu_tray_flat(128), 128);
	ck_assert_int_eq(bambu_tray_flat(254), 254);
	ck_assert_int_eq(bambu_tray_flat(255), 255);
	ck_assert_int_eq(bambu_tray_flat(512), 128);	/* X1C 01.11 */
	ck_assert_int_eq(bambu_tray_flat(516), 129);
	ck_assert_int_eq(bambu_tray_flat(540), 135);
	ck_assert_int_eq(bambu_tray_flat(513), BAD);
	ck_assert_int_eq(bambu_tray_flat(544), BAD);
	ck_assert_int_eq(bambu_tray_flat(100), BAD);
	ck_assert_int_eq(bambu_tray_flat(-2), BAD);
}
END_TEST

/* The A1 cloud print echo, fed as a report: an event, the state untouched. */
START_TEST(a1_cloud_echo)
{
	struct bambu_state	*st = bambu_state_new();
	static struct bambu_event ev;
	FILE			*f;
	char			 buf[4096];
	size_t			 n;

	f = fopen(MQTT "derived_openspoolman_A1_project_file_echo_cloud.json",
	    "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_msg(bambu_state_feed(st, buf, n, &ev, err) == 0, "%s", err);
	ck_assert_int_eq(ev.kind, BAMBU_KIND_PROJECT);
	ck_assert_str_eq(ev.command, "project_file");
	ck_assert_int_eq(json_object_size(bambu_state_print(st)), 0);
	ck_assert_int_eq(bambu_state_complete(st), 0);
	bambu_state_free(st);
	pf = ev.project;
	ck_assert_str_eq(pf.param, "Metadata/plate_1.gcode");
	ck_assert_int_eq(pf.plate_idx, 1);
	ck_assert(strncmp(pf.url, URL_HEAD, strlen(URL_HEAD)) == 0);
	ck_assert_int_eq(pf.url_cut, 0);
	ck_assert_str_eq(pf.task_id, "625003395");
	ck_assert_str_eq(pf.subtask_id, "625003395");
	ck_assert_str_eq(pf.project_id, "625003395");
	ck_assert_str_eq(pf.subtask_name, "Christmas Tree With Star; Size: M");
	ck_assert_str_eq(pf.md5, "51573A9201CBFEBE3255F74E1A22CCA1");
	ck_assert_str_eq(pf.result, "success");
	ck_assert_int_eq(pf.use_ams, 1);
	ck_assert_int_eq(pf.timelapse, 0);
	ck_assert_int_eq(pf.bed_leveling, 1);
	ck_assert_int_eq(pf.flow_cali, 1);
	ck_assert_int_eq(pf.extrude_cali_flag, 1);
	ck_assert_int_eq(pf.auto_bed_leveling, 1);
	/* ams_mapping [3] + ams_mapping2 [{0, 3}]: filament 0 on tray 3. */
	ck_assert_int_eq(pf.nams_mapping, 1);
	ck_assert_int_eq(pf.ams_mapping[0], 3);
	ck_assert_int_eq(pf.nams_mapping2, 1);
	ck_assert_int_eq(pf.ams_mapping2[0].ams_id, 0);
	ck_assert_int_eq(pf.ams_mapping2[0].slot_id, 3);
	ck_assert_int_eq(pf.nmapping, 0);
	ck_assert_int_eq(pf.nfilaments, 1);
	ck_assert_int_eq(pf.tray[0], 3);
	ck_assert_int_eq(bambu_project_tray(&pf, 0), 3);
	ck_assert_int_eq(bambu_project_tray(&pf, 1), NONE);
	ck_assert_int_eq(bambu_project_tray(&pf, -1), NONE);
	ck_assert_int_eq(bambu_project_tray(&pf, BAMBU_FILAMENTS_MAX), NONE);
}
END_TEST

/* Line 65 of the X1C 01.11 log: AMS HT 128 written as 512 in ams_mapping. */
START_TEST(x1c_echo_ht_512)
{
	static const int want[] = { 1, 128, 3, 0, 2 };
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	int		 i;
	json_t		*root, *p;
	json_error_t	 jerr;

	f = fopen(MQTT "openspoolman_X1C_fw01.11_5filament_AMSHT_failed_layer0"
	    ".log", "r");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 65; i++)
		ck_assert(getline(&line, &cap, f) > 0);
	fclose(f);
	ck_assert_ptr_nonnull(root = json_loads(strstr(line, " :: ") + 4, 0,
	    &jerr));
	free(line);
	p = json_object_get(root, "print");
	ck_assert_int_eq(bambu_project_parse(p, &pf, err), 0);
	ck_assert_int_eq(pf.nams_mapping, 5);
	ck_assert_int_eq(pf.ams_mapping[1], 512);
	ck_assert_int_eq(pf.ams_mapping2[1].ams_id, 128);
	ck_assert_int_eq(pf.ams_mapping2[1].slot_id, 0);
	assert_trays(want, 5);
	ck_assert_int_eq(pf.plate_idx, 1);		/* "plate": 1 */
	ck_assert_int_eq(pf.use_ams, -1);		/* not sent */
	ck_assert_int_eq(pf.flow_cali, 0);
	ck_assert_int_eq(pf.extrude_cali_flag, 0);
	ck_assert_str_eq(pf.url, "file:///sdcard/Zephyros-Fullsize_370mm-"
	    "Version_Multicolor_v1.0.stl.gcode.3mf");
	ck_assert_str_eq(pf.subtask_name,
	    "Zephyros - Articulated Dragon (Full-Size)");
	ck_assert_str_eq(pf.result, "SUCCESS");
	ck_assert_str_eq(pf.task_id, "");
	/* The flat array alone decodes the same (512 -> 128). */
	json_object_del(p, "ams_mapping2");
	ck_assert_int_eq(bambu_project_parse(p, &pf, err), 0);
	assert_trays(want, 5);
	json_decref(root);
}
END_TEST

START_TEST(mapping_rules)
{
	static const int ext[] = { 255, 2, 254, NONE };
	static const int bambuddy[] = { 5, NONE, 2, NONE };
	static const int h2c[] = { NONE, NONE, 0, 1 };
	static const int a2l[] = { 25 };

	/* -1 in the flat array; ams_mapping2 tells external from unmapped. */
	ck_assert_int_eq(parse("{\"print\":{\"command\":\"project_file\","
	    "\"ams_mapping\":[-1,2,-1,-1],\"ams_mapping2\":[{\"ams_id\":255,"
	    "\"slot_id\":0},{\"ams_id\":0,\"slot_id\":2},{\"ams_id\":254,"
	    "\"slot_id\":0},{\"ams_id\":255,\"slot_id\":255}]}}"), 0);
	assert_trays(ext, 4);
	/* bambuddy's test table, flat only. */
	ck_assert_int_eq(parse("{\"print\":{\"ams_mapping\":[5,-1,2,-1]}}"), 0);
	assert_trays(bambuddy, 4);
	/* Newer firmware's mapping, (unit << 8) | slot, in the echo. */
	ck_assert_int_eq(parse("{\"print\":{\"mapping\":[65535,65535,0,1]}}"),
	    0);
	assert_trays(h2c, 4);
	ck_assert_int_eq(pf.nfilaments, 4);
	/* A2L: a local slot in the flat array, {16, n} in ams_mapping2. */
	ck_assert_int_eq(parse("{\"print\":{\"ams_mapping\":[1],"
	    "\"ams_mapping2\":[{\"ams_id\":16,\"slot_id\":1}]}}"), 0);
	assert_trays(a2l, 1);
	/* Unambiguous encodings first: ams_mapping2, then mapping, then flat. */
	ck_assert_int_eq(parse("{\"print\":{\"ams_mapping\":[1,1,1],"
	    "\"mapping\":[258,258],\"ams_mapping2\":[{\"ams_id\":3,"
	    "\"slot_id\":3}]}}"), 0);
	ck_assert_int_eq(bambu_project_tray(&pf, 0), 15);
	ck_assert_int_eq(bambu_project_tray(&pf, 1), 6);
	ck_assert_int_eq(bambu_project_tray(&pf, 2), 1);
	/* Only values nothing explains. */
	ck_assert_int_eq(parse("{\"print\":{\"ams_mapping\":[100,-1],"
	    "\"mapping\":[1234]}}"), 0);
	ck_assert_int_eq(bambu_project_tray(&pf, 0), BAD);
	ck_assert_int_eq(pf.tray[1], NONE);
	/* use_ams false: the external spool, whatever the AMS mapping says. */
	ck_assert_int_eq(parse("{\"print\":{\"use_ams\":false,"
	    "\"ams_mapping\":[3]}}"), 0);
	ck_assert_int_eq(bambu_project_tray(&pf, 0), 255);
	ck_assert_int_eq(bambu_project_tray(&pf, 7), 255);
	ck_assert_int_eq(parse("{\"print\":{\"use_ams\":0,\"ams_mapping2\":"
	    "[{\"ams_id\":254,\"slot_id\":0}]}}"), 0);
	ck_assert_int_eq(bambu_project_tray(&pf, 0), 254);
}
END_TEST

START_TEST(plates_and_texts)
{
	static const char head[] = "{\"print\":{\"url\":\"https://x/";
	char	*big;
	size_t	 n;

	ck_assert_int_eq(parse("{\"print\":{\"param\":"
	    "\"Metadata/plate_12.gcode\"}}"), 0);
	ck_assert_int_eq(pf.plate_idx, 12);
	ck_assert_int_eq(parse("{\"print\":{\"param\":"
	    "\"Metadata/plate_2.gcode\",\"plate_idx\":\"3\"}}"), 0);
	ck_assert_int_eq(pf.plate_idx, 3);
	ck_assert_int_eq(parse("{\"print\":{\"param\":\"plate.gcode\"}}"), 0);
	ck_assert_int_eq(pf.plate_idx, -1);
	ck_assert_int_eq(parse("{\"print\":{\"param\":"
	    "\"Metadata/plate_2.gcode.bak\"}}"), 0);
	ck_assert_int_eq(pf.plate_idx, -1);
	ck_assert_int_eq(parse("{\"print\":{\"task_id\":625003395,"
	    "\"use_ams\":1,\"timelapse\":null}}"), 0);
	ck_assert_str_eq(pf.task_id, "625003395");
	ck_assert_int_eq(pf.use_ams, 1);
	ck_assert_int_eq(pf.timelapse, -1);
	/* A 5000-byte url is cut, and says so. */
	n = 5000;
	big = malloc(sizeof(head) + n + 4);
	ck_assert_ptr_nonnull(big);
	memcpy(big, head, sizeof(head) - 1);
	memset(big + sizeof(head) - 1, 'a', n);
	strcpy(big + sizeof(head) - 1 + n, "\"}}");
	ck_assert_int_eq(parse(big), 0);
	free(big);
	ck_assert_int_eq(pf.url_cut, 1);
	ck_assert_int_eq(strlen(pf.url), BAMBU_URL_LEN - 1);
}
END_TEST

/* Echoes that must be refused with err starting with `want`. */
static const struct bad {
	const char	*json;
	const char	*want;
} bads[] = {
	{ "{\"print\":[]}", "project_file: print is not an object" },
	{ "{\"print\":{\"ams_mapping\":\"3\"}}",
	    "project_file ams_mapping is not an array" },
	{ "{\"print\":{\"ams_mapping\":[3.5]}}",
	    "project_file ams_mapping[0] is not an integer" },
	{ "{\"print\":{\"ams_mapping\":[\"3\"]}}",
	    "project_file ams_mapping[0] is not an integer" },
	{ "{\"print\":{\"ams_mapping2\":[{\"ams_id\":\"0\",\"slot_id\":3}]}}",
	    "project_file ams_mapping2[0] needs integer ams_id and slot_id" },
	{ "{\"print\":{\"ams_mapping2\":[3]}}",
	    "project_file ams_mapping2[0] needs integer ams_id and slot_id" },
	{ "{\"print\":{\"mapping\":{}}}",
	    "project_file mapping is not an array" },
	{ "{\"print\":{\"use_ams\":\"yes\"}}",
	    "project_file use_ams is not a flag" },
	{ "{\"print\":{\"flow_cali\":300}}",
	    "project_file flow_cali is not a flag" },
	{ "{\"print\":{\"url\":{}}}", "project_file url is not a string" },
	{ "{\"print\":{\"plate_idx\":\"two\"}}",
	    "project_file plate_idx is not a plate number" },
	{ "{\"print\":{\"plate\":-1}}",
	    "project_file plate is not a plate number" },
};

START_TEST(malformed)
{
	char	 buf[1024];
	size_t	 i, n;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		ck_assert_msg(parse(bads[i].json) == -1, "accepted %s",
		    bads[i].json);
		ck_assert_msg(strncmp(err, bads[i].want, strlen(bads[i].want))
		    == 0, "%s: err \"%s\", want \"%s\"", bads[i].json, err,
		    bads[i].want);
	}
	/* 65 filaments. */
	n = (size_t)sprintf(buf, "{\"print\":{\"ams_mapping\":[0");
	for (i = 1; i <= BAMBU_FILAMENTS_MAX; i++)
		n += (size_t)sprintf(buf + n, ",0");
	strcpy(buf + n, "]}}");
	ck_assert_int_eq(parse(buf), -1);
	ck_assert_str_eq(err,
	    "project_file ams_mapping has 65 elements (limit 64)");
}
END_TEST

#define tcase(name, test)	ck_tcase(name, test, NULL, NULL, 0)

static Suite *
bambu_project_suite(void)
{
	Suite	*su = suite_create("bambu_project");

	suite_add_tcase(su, tcase("tray_of_pairs", tray_of_pairs));
	suite_add_tcase(su, tcase("tray_packed_and_flat",
	    tray_packed_and_flat));
	suite_add_tcase(su, tcase("a1_cloud_echo", a1_cloud_echo));
	suite_add_tcase(su, tcase("x1c_echo_ht_512", x1c_echo_ht_512));
	suite_add_tcase(su, tcase("mapping_rules", mapping_rules));
	suite_add_tcase(su, tcase("plates_and_texts", plates_and_texts));
	suite_add_tcase(su, tcase("malformed", malformed));
	return su;
}

int
main(void)
{
	return ck_run(bambu_project_suite());
}
