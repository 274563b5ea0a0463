/* bambu_state.c: one printer's full `print` document, kept from its MQTT reports (full replaces, deltas merge). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bambu_json.h"
#include "bambu_state.h"
#include "errbuf.h"
#include "xmalloc.h"

#define PATH_LEN	64
#define ID_MAX		255		/* AMS unit and tray ids */
#define MSG_MAX		255

struct bambu_state {
	json_t	*print;		/* the merged print object, never NULL */
	int	 complete;	/* a full report was merged since new/reset */
};

/* What a known field must be (JSON null is always accepted: "unknown"). */
enum want {
	W_NUM,		/* a number, or a string holding one */
	W_TEXT,		/* a string */
	W_ID,		/* a string or an integer */
	W_BOOL,
	W_OBJ,
	W_ARR,
	W__MAX
};

struct field {
	const char	*key;
	enum want	 want;
};

/* Where merge_object() is in the print document: the arrays merged by id hang below. */
enum ctx {
	CTX_PRINT,	/* print */
	CTX_AMS,	/* print.ams: its "ams" array merges by unit id */
	CTX_UNIT,	/* print.ams.ams[]: its "tray" array merges by tray id */
	CTX_PLAIN
};

static const char *const want_names[W__MAX] = {
	"a number", "a string", "a string or an integer", "a boolean",
	"an object", "an array"
};

static const struct field print_fields[] = {
	{ "command", W_TEXT }, { "msg", W_NUM }, { "sequence_id", W_ID },
	{ "gcode_state", W_TEXT }, { "layer_num", W_NUM },
	{ "total_layer_num", W_NUM }, { "mc_percent", W_NUM },
	{ "mc_remaining_time", W_NUM }, { "nozzle_temper", W_NUM },
	{ "nozzle_target_temper", W_NUM }, { "bed_temper", W_NUM },
	{ "bed_target_temper", W_NUM }, { "print_error", W_NUM },
	{ "task_id", W_ID }, { "subtask_id", W_ID },
	{ "subtask_name", W_TEXT }, { "gcode_file", W_TEXT },
	{ "print_type", W_TEXT }, { "ams", W_OBJ }, { "vt_tray", W_OBJ },
	{ "vir_slot", W_ARR }, { "device", W_OBJ }, { "mapping", W_ARR },
	{ NULL, W_NUM }
};

static const struct field ams_fields[] = {
	{ "ams", W_ARR }, { "tray_now", W_NUM }, { "tray_pre", W_NUM },
	{ "tray_tar", W_NUM }, { "tray_exist_bits", W_TEXT },
	{ "power_on_flag", W_BOOL }, { NULL, W_NUM }
};

static const struct field unit_fields[] = {
	{ "id", W_ID }, { "info", W_ID }, { "tray", W_ARR }, { NULL, W_NUM }
};

static const struct field tray_fields[] = {
	{ "id", W_ID }, { "tray_type", W_TEXT }, { "tray_color", W_TEXT },
	{ "remain", W_NUM }, { "tag_uid", W_TEXT }, { "tray_uuid", W_TEXT },
	{ "tray_info_idx", W_TEXT }, { "tray_sub_brands", W_TEXT },
	{ NULL, W_NUM }
};

static const struct field device_fields[] = {
	{ "extruder", W_OBJ }, { NULL, W_NUM }
};

static const struct field extruder_fields[] = {
	{ "state", W_NUM }, { "info", W_ARR }, { NULL, W_NUM }
};

static const struct field extruder_info_fields[] = {
	{ "id", W_NUM }, { "snow", W_NUM }, { "temp", W_NUM }, { NULL, W_NUM }
};

static const char *const kind_names[BAMBU_KIND__MAX] = {
	"full", "delta", "project_file", "command", "other"
};

/* Returns 1 if v is what w asks for. */
static int
wanted(const json_t *v, enum want w)
{
	switch (w) {
	case W_NUM:
		return bambu_json_numeric(v);
	case W_TEXT:
		return json_is_string(v);
	case W_ID:
		return json_is_string(v) || json_is_integer(v);
	case W_BOOL:
		return json_is_boolean(v);
	case W_OBJ:
		return json_is_object(v);
	default:
		return json_is_array(v);
	}
}

/* Checks the known fields of obj (named path in messages).  Returns 0 or -1. */
static int
check_fields(const json_t *obj, const struct field *f, const char *path,
    char *err)
{
	const json_t	*v;

	for (; f->key != NULL; f++) {
		v = json_object_get(obj, f->key);
		if (v != NULL && !json_is_null(v) && !wanted(v, f->want))
			return errbuf_set(err, "%s.%s: expected %s", path,
			    f->key, want_names[f->want]);
	}
	return 0;
}

/*
 * Checks that arr (at path) has at most BAMBU_ARRAY_MAX elements, each an
 * object with fields f and, if need_id, an "id" in 0..255.  Returns 0 or -1.
 */
static int
check_list(const json_t *arr, const struct field *f, int need_id,
    const char *path, char *err)
{
	const json_t	*e;
	char		 epath[PATH_LEN];
	long long	 id;
	size_t		 i;

	if (json_array_size(arr) > BAMBU_ARRAY_MAX)
		return errbuf_set(err, "%s: %zu elements (limit %d)", path,
		    json_array_size(arr), BAMBU_ARRAY_MAX);
	json_array_foreach(arr, i, e) {
		snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
		if (!json_is_object(e))
			return errbuf_set(err, "%s: expected an object", epath);
		if (check_fields(e, f, epath, err) == -1)
			return -1;
		if (need_id && bambu_json_int(json_object_get(e, "id"), 0,
		    ID_MAX, &id) == -1)
			return errbuf_set(err, "%s.id: expected an id in 0..%d",
			    epath, ID_MAX);
	}
	return 0;
}

/* Checks print.ams: its fields, its units and their trays.  Returns 0 or -1. */
static int
check_ams(const json_t *ams, char *err)
{
	const json_t	*units, *u;
	char		 path[PATH_LEN];
	size_t		 i;

	if (check_fields(ams, ams_fields, "print.ams", err) == -1)
		return -1;
	if (!json_is_array(units = json_object_get(ams, "ams")))
		return 0;
	if (check_list(units, unit_fields, 1, "print.ams.ams", err) == -1)
		return -1;
	json_array_foreach(units, i, u) {
		snprintf(path, sizeof(path), "print.ams.ams[%zu].tray", i);
		if (json_is_array(json_object_get(u, "tray")) &&
		    check_list(json_object_get(u, "tray"), tray_fields, 1, path,
		    err) == -1)
			return -1;
	}
	return 0;
}

/* Checks print.device.extruder.  Returns 0 or -1. */
static int
check_device(const json_t *device, char *err)
{
	const json_t	*ext, *info;

	if (check_fields(device, device_fields, "print.device", err) == -1)
		return -1;
	if (!json_is_object(ext = json_object_get(device, "extruder")))
		return 0;
	if (check_fields(ext, extruder_fields, "print.device.extruder",
	    err) == -1)
		return -1;
	if (!json_is_array(info = json_object_get(ext, "info")))
		return 0;
	return check_list(info, extruder_info_fields, 0,
	    "print.device.extruder.info", err);
}

/* Checks print.mapping: at most BAMBU_FILAMENTS_MAX numbers.  Returns 0 or -1. */
static int
check_mapping(const json_t *map, char *err)
{
	const json_t	*v;
	size_t		 i;

	if (json_array_size(map) > BAMBU_FILAMENTS_MAX)
		return errbuf_set(err, "print.mapping: %zu elements (limit %d)",
		    json_array_size(map), BAMBU_FILAMENTS_MAX);
	json_array_foreach(map, i, v)
		if (!bambu_json_numeric(v))
			return errbuf_set(err, "print.mapping[%zu]: expected a "
			    "number", i);
	return 0;
}

/* Checks the fields of a push_status print object the merge and the status read. */
static int
check_print(const json_t *print, char *err)
{
	const json_t	*v;

	if (check_fields(print, print_fields, "print", err) == -1)
		return -1;
	if (json_is_object(v = json_object_get(print, "ams")) &&
	    check_ams(v, err) == -1)
		return -1;
	if (json_is_object(v = json_object_get(print, "vt_tray")) &&
	    check_fields(v, tray_fields, "print.vt_tray", err) == -1)
		return -1;
	if (json_is_array(v = json_object_get(print, "vir_slot")) &&
	    check_list(v, tray_fields, 0, "print.vir_slot", err) == -1)
		return -1;
	if (json_is_object(v = json_object_get(print, "device")) &&
	    check_device(v, err) == -1)
		return -1;
	if (json_is_array(v = json_object_get(print, "mapping")) &&
	    check_mapping(v, err) == -1)
		return -1;
	return 0;
}

/* Returns 0 if v nests at most BAMBU_DEPTH_MAX - level levels deeper, else -1. */
static int
check_depth(json_t *v, int level)
{
	json_t		*e;
	const char	*key;
	size_t		 i;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (level >= BAMBU_DEPTH_MAX)
		return -1;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (check_depth(e, level + 1) == -1)
				return -1;
		return 0;
	}
	json_object_foreach(v, key, e)
		if (check_depth(e, level + 1) == -1)
			return -1;
	return 0;
}

/* Returns the element of arr whose "id" reads as id, or NULL. */
static json_t *
find_id(json_t *arr, long long id)
{
	json_t		*e;
	long long	 eid;
	size_t		 i;

	json_array_foreach(arr, i, e)
		if (bambu_json_int(json_object_get(e, "id"), 0, ID_MAX,
		    &eid) == 0 && eid == id)
			return e;
	return NULL;
}

static int	merge_object(json_t *, json_t *, enum ctx);

/*
 * Merges the (checked) objects of src into dst by their "id": an element
 * whose id dst has is merged into it, a new one is appended.  Returns 0, or
 * -1 when Jansson runs out of memory.
 */
static int
merge_ids(json_t *dst, json_t *src, enum ctx ctx)
{
	json_t		*e, *d;
	long long	 id;
	size_t		 i;

	json_array_foreach(src, i, e) {
		if (bambu_json_int(json_object_get(e, "id"), 0, ID_MAX,
		    &id) == -1)
			continue;
		if ((d = find_id(dst, id)) != NULL && json_is_object(d)) {
			if (merge_object(d, e, ctx) == -1)
				return -1;
		} else if (json_array_append(dst, e) == -1)
			return -1;
	}
	return 0;
}

/*
 * Merges object src into dst recursively: objects merge key by key, the AMS
 * unit and tray arrays by id, anything else replaces.  Values of src are
 * shared, not copied.  Returns 0, or -1 when Jansson runs out of memory.
 */
static int
merge_object(json_t *dst, json_t *src, enum ctx ctx)
{
	const char	*key;
	json_t		*v, *d;
	int		 r;

	json_object_foreach(src, key, v) {
		d = json_object_get(dst, key);
		if (ctx == CTX_AMS && strcmp(key, "ams") == 0 &&
		    json_is_array(d) && json_is_array(v))
			r = merge_ids(d, v, CTX_UNIT);
		else if (ctx == CTX_UNIT && strcmp(key, "tray") == 0 &&
		    json_is_array(d) && json_is_array(v))
			r = merge_ids(d, v, CTX_PLAIN);
		else if (json_is_object(d) && json_is_object(v))
			r = merge_object(d, v, ctx == CTX_PRINT &&
			    strcmp(key, "ams") == 0 ? CTX_AMS : CTX_PLAIN);
		else
			r = json_object_set(dst, key, v);
		if (r == -1)
			return -1;
	}
	return 0;
}

/* Applies a push_status print object to the state.  Returns 0 or -1. */
static int
feed_status(struct bambu_state *st, json_t *print, const char *cmd,
    struct bambu_event *ev, char *err)
{
	const json_t	*msg = json_object_get(print, "msg");
	long long	 m = -1;

	if (check_print(print, err) == -1)
		return -1;
	if (msg != NULL && !json_is_null(msg) &&
	    bambu_json_int(msg, 0, MSG_MAX, &m) == -1)
		return errbuf_set(err, "print.msg: expected 0..%d", MSG_MAX);
	if (m == 0 || (m == -1 && cmd != NULL)) {
		json_decref(st->print);
		st->print = json_incref(print);
		st->complete = 1;
		ev->kind = BAMBU_KIND_FULL;
		return 0;
	}
	ev->kind = BAMBU_KIND_DELTA;
	if (merge_object(st->print, print, CTX_PRINT) == -1) {
		st->complete = 0;
		return errbuf_set(err, "out of memory merging a delta");
	}
	return 0;
}

/* Handles the print module of a report.  Returns 0 or -1. */
static int
feed_print(struct bambu_state *st, json_t *print, struct bambu_event *ev,
    char *err)
{
	const json_t	*c;
	const char	*cmd = NULL;

	if (!json_is_object(print))
		return errbuf_set(err, "print: expected an object");
	if (check_depth(print, 1) == -1)
		return errbuf_set(err, "print: nested deeper than %d levels",
		    BAMBU_DEPTH_MAX);
	c = json_object_get(print, "command");
	if (c != NULL && !json_is_null(c)) {
		if (!json_is_string(c))
			return errbuf_set(err, "print.command: expected a "
			    "string");
		cmd = json_string_value(c);
	}
	if (cmd == NULL || strcmp(cmd, "push_status") == 0)
		return feed_status(st, print, cmd, ev, err);
	if (strcmp(cmd, "project_file") == 0) {
		ev->kind = BAMBU_KIND_PROJECT;
		return bambu_project_parse(print, &ev->project, err);
	}
	ev->kind = BAMBU_KIND_COMMAND;
	return 0;
}

/* Names the report in ev: its module (print first) and that module's command. */
static void
name_event(json_t *root, struct bambu_event *ev)
{
	const char	*module = "print";
	json_t		*m;
	void		*it;

	if ((m = json_object_get(root, module)) == NULL) {
		if ((it = json_object_iter(root)) == NULL)
			return;
		module = json_object_iter_key(it);
		m = json_object_iter_value(it);
	}
	bambu_json_strlcpy(ev->module, module, sizeof(ev->module));
	(void)bambu_json_text(json_object_get(m, "command"), ev->command,
	    sizeof(ev->command));
	(void)bambu_json_text(json_object_get(m, "result"), ev->result,
	    sizeof(ev->result));
	(void)bambu_json_text(json_object_get(m, "sequence_id"),
	    ev->sequence_id, sizeof(ev->sequence_id));
}

int
bambu_state_feed(struct bambu_state *st, const void *payload, size_t len,
    struct bambu_event *ev, char *err)
{
	json_error_t	 jerr;
	json_t		*root, *print;
	int		 rc = 0;

	ev->kind = BAMBU_KIND_OTHER;
	ev->module[0] = ev->command[0] = ev->result[0] = '\0';
	ev->sequence_id[0] = '\0';
	if (len > BAMBU_REPORT_MAX)
		return errbuf_set(err, "report of %zu bytes (limit %d)", len,
		    BAMBU_REPORT_MAX);
	if ((root = json_loadb(payload, len, 0, &jerr)) == NULL)
		return errbuf_set(err, "not JSON: line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return errbuf_set(err, "report is not a JSON object");
	}
	name_event(root, ev);
	if ((print = json_object_get(root, "print")) != NULL)
		rc = feed_print(st, print, ev, err);
	json_decref(root);
	return rc;
}

struct bambu_state *
bambu_state_new(void)
{
	struct bambu_state	*st = xcalloc(1, sizeof(*st));

	if ((st->print = json_object()) == NULL)
		abort();
	return st;
}

void
bambu_state_free(struct bambu_state *st)
{
	if (st == NULL)
		return;
	json_decref(st->print);
	free(st);
}

void
bambu_state_reset(struct bambu_state *st)
{
	json_decref(st->print);
	if ((st->print = json_object()) == NULL)
		abort();
	st->complete = 0;
}

const json_t *
bambu_state_print(const struct bambu_state *st)
{
	return st->print;
}

int
bambu_state_complete(const struct bambu_state *st)
{
	return st->complete;
}

const char *
bambu_state_kind_name(enum bambu_kind kind)
{
	if ((int)kind < 0 || kind >= BAMBU_KIND__MAX)
		return "?";
	return kind_names[kind];
}
