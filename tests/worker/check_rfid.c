/* check_rfid.c: the pure parts of RFID trays: the spool identity of a tray, the tag list of real captures, matching. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "bambu_state.h"
#include "bambu_status.h"
#include "errbuf.h"
#include "rfid.h"
#include "rfid_create.h"
#include "../harness/ckrun.h"

#define MQTT	"../shared/samples/mqtt/"

START_TEST(test_identity)
{
	struct bambu_tray	t;
	char			tag[RFID_TAG_LEN];

	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(rfid_identity(&t, tag), 0);
	ck_assert_str_eq(tag, "");
	snprintf(t.tag_uid, sizeof(t.tag_uid), "0000000000000000");
	snprintf(t.uuid, sizeof(t.uuid), "00000000000000000000000000000000");
	ck_assert_int_eq(rfid_identity(&t, tag), 0);	/* all zeros: no tag */
	snprintf(t.tag_uid, sizeof(t.tag_uid), "04a1b2c3d4e5f607");
	ck_assert_int_eq(rfid_identity(&t, tag), 1);	/* no tray_uuid (a third-party chip): the tag_uid */
	ck_assert_str_eq(tag, "04A1B2C3D4E5F607");
	snprintf(t.uuid, sizeof(t.uuid), "9a2b3c4d5e6f708192a3b4c5d6e7f809");
	ck_assert_int_eq(rfid_identity(&t, tag), 1);	/* the spool's uuid wins over the chip's uid */
	ck_assert_str_eq(tag, "9A2B3C4D5E6F708192A3B4C5D6E7F809");
	t.tag_uid[0] = '\0';
	ck_assert_int_eq(rfid_identity(&t, tag), 1);
	ck_assert_str_eq(tag, "9A2B3C4D5E6F708192A3B4C5D6E7F809");
}
END_TEST

START_TEST(test_extra_matches)
{
	ck_assert_int_eq(rfid_extra_matches("\"04AB\"", "04AB"), 1);
	ck_assert_int_eq(rfid_extra_matches("\"04ab\"", "04AB"), 1);	/* typed by hand in lower case */
	ck_assert_int_eq(rfid_extra_matches("04AB", "04AB"), 0);	/* not JSON-encoded: not Spoolman's form */
	ck_assert_int_eq(rfid_extra_matches("\"04ABC\"", "04AB"), 0);
	ck_assert_int_eq(rfid_extra_matches("\"\"", "04AB"), 0);
	ck_assert_int_eq(rfid_extra_matches("null", "04AB"), 0);
	ck_assert_int_eq(rfid_extra_matches("42", "42"), 0);
	ck_assert_int_eq(rfid_extra_matches(NULL, "04AB"), 0);
}
END_TEST

START_TEST(test_density)
{
	ck_assert(rfid_create_density("PLA") == 1.24);
	ck_assert(rfid_create_density("PETG") == 1.27);
	ck_assert(rfid_create_density("PETG-CF") == 1.27);
	ck_assert(rfid_create_density("abs") == 1.04);
	ck_assert(rfid_create_density("PA6-CF") == 1.14);
	ck_assert(rfid_create_density("PAHT-CF") == 1.13);
	ck_assert(rfid_create_density("") == 1.24);
	ck_assert(rfid_create_density("Mystery") == 1.24);
}
END_TEST

/* The status of a capture's full report ({"pushall":{"print":P}}, {"push_all":P} or {"print":P}); the doc (new). */
static json_t *
status_of(const char *name, struct bambu_status *s)
{
	struct bambu_state	*st = bambu_state_new();
	struct bambu_event	 ev;
	char			 path[256], err[ERRBUF_LEN], *text;
	json_t			*doc, *p, *rep;
	json_error_t		 je;

	snprintf(path, sizeof(path), MQTT "%s", name);
	ck_assert_msg((doc = json_load_file(path, 0, &je)) != NULL, "%s: %s", path, je.text);
	if ((p = json_object_get(json_object_get(doc, "pushall"), "print")) == NULL &&
	    (p = json_object_get(doc, "push_all")) == NULL)
		p = json_object_get(doc, "print");
	ck_assert_ptr_nonnull(p);
	rep = json_pack("{sO}", "print", p);
	text = json_dumps(rep, JSON_COMPACT);
	ck_assert_msg(bambu_state_feed(st, text, strlen(text), &ev, err) == 0, "%s", err);
	bambu_status_get(st, s);
	free(text);
	json_decref(rep);
	bambu_state_free(st);
	return doc;
}

/* Upper-case copy. */
static void
upper(char *dst, const char *src, size_t n)
{
	size_t	i;

	for (i = 0; src[i] != '\0' && i < n - 1; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

/*
 * The tag list of a real capture against what its JSON says, computed here from the AMS trays: tray id (AMS unit
 * u slot s: u * 4 + s; AMS HT: the unit id), identity tray_uuid if not zeros else tag_uid, only trays with a type.
 */
static void
check_capture(const char *name, int want)
{
	struct bambu_status	 s;
	json_t			*doc = status_of(name, &s), *units, *u, *t, *list;
	char			*text = rfid_tags_json(&s), tag[RFID_TAG_LEN];
	size_t			 i, j;
	int			 n = 0;

	list = json_loads(text, 0, NULL);
	ck_assert(json_is_array(list));
	units = json_object_get(json_object_get(json_object_get(json_object_get(doc, "pushall") != NULL ?
	    json_object_get(doc, "pushall") : doc, "print"), "ams"), "ams");
	json_array_foreach(units, i, u) {
		int uid = atoi(json_string_value(json_object_get(u, "id")));

		json_array_foreach(json_object_get(u, "tray"), j, t) {
			const char *uu = json_string_value(json_object_get(t, "tray_uuid"));
			const char *tu = json_string_value(json_object_get(t, "tag_uid"));
			const char *ty = json_string_value(json_object_get(t, "tray_type"));
			int tray = uid < 4 ? uid * 4 + atoi(json_string_value(json_object_get(t, "id"))) : uid;
			json_t *e;
			size_t k;
			int found = 0;

			if (ty == NULL || ty[0] == '\0')
				continue;
			if (uu != NULL && strspn(uu, "0") != strlen(uu))
				upper(tag, uu, sizeof(tag));
			else if (tu != NULL && strspn(tu, "0") != strlen(tu))
				upper(tag, tu, sizeof(tag));
			else
				continue;
			n++;
			json_array_foreach(list, k, e)
				if (json_integer_value(json_object_get(e, "tray")) == tray) {
					ck_assert_str_eq(json_string_value(json_object_get(e, "tag")), tag);
					ck_assert_str_eq(json_string_value(json_object_get(e, "material")), ty);
					found = 1;
				}
			ck_assert_msg(found, "%s: tray %d (%s) missing from %s", name, tray, tag, text);
		}
	}
	ck_assert_int_eq(n, want);
	ck_assert_int_eq((int)json_array_size(list), n);
	json_decref(list);
	json_decref(doc);
	free(text);
}

START_TEST(test_captures)
{
	check_capture("habambulab_X1C_3AMS_plus_AMSHT_pushall.json", 12);
	check_capture("derived_openspoolman_A1_full_status_AMSlite.json", 1);
	check_capture("habambulab_P1P_AMS_failed.json", 0);	/* third-party spools: no tags */
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("rfid");
	const TTest *const tests[] = { test_identity, test_extra_matches, test_density, test_captures };
	size_t		 i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		suite_add_tcase(s, ck_tcase(tests[i]->name, tests[i], NULL, NULL, 30));
	return ck_run(s);
}
