/* status_json.c: the live printer status the web app reads, as JSON in printer_status. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "status_json.h"

static json_t *
int_or_null(long long v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static json_t *
real_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *
text_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
tray_json(const struct bambu_tray *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "tray", json_integer(t->tray));
	json_object_set_new(o, "unit", json_integer(t->unit));
	json_object_set_new(o, "slot", json_integer(t->slot));
	json_object_set_new(o, "loaded", json_boolean(t->loaded));
	json_object_set_new(o, "type", text_or_null(t->type));
	json_object_set_new(o, "color", text_or_null(t->color));
	json_object_set_new(o, "remain", int_or_null(t->remain));
	json_object_set_new(o, "info_idx", text_or_null(t->info_idx));
	json_object_set_new(o, "tag_uid", text_or_null(t->tag_uid));
	json_object_set_new(o, "tray_uuid", text_or_null(t->uuid));
	return o;
}

char *
status_json(const struct bambu_status *s, long long job_id)
{
	json_t	*o = json_object(), *trays = json_array();
	char	*text;
	int	 i;

	json_object_set_new(o, "state", text_or_null(s->gcode_state));
	json_object_set_new(o, "layer", int_or_null(s->layer_num));
	json_object_set_new(o, "total_layers", int_or_null(s->total_layer_num));
	json_object_set_new(o, "percent", int_or_null(s->mc_percent));
	json_object_set_new(o, "remaining_min",
	    int_or_null(s->mc_remaining_time));
	json_object_set_new(o, "nozzle_temp", real_or_null(s->nozzle_temper));
	json_object_set_new(o, "nozzle_target",
	    real_or_null(s->nozzle_target_temper));
	json_object_set_new(o, "bed_temp", real_or_null(s->bed_temper));
	json_object_set_new(o, "bed_target", real_or_null(s->bed_target_temper));
	json_object_set_new(o, "print_error", json_integer(s->print_error));
	json_object_set_new(o, "subtask_name", text_or_null(s->subtask_name));
	json_object_set_new(o, "tray_now", json_integer(s->tray_active));
	for (i = 0; i < s->ntrays; i++)
		json_array_append_new(trays, tray_json(&s->trays[i]));
	json_object_set_new(o, "trays", trays);
	json_object_set_new(o, "job_id", job_id > 0 ? json_integer(job_id) :
	    json_null());
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

int
status_json_store(struct db *db, long long printer_id, const char *doc,
    int connected, const char *worker_id, time_t last_msg, char *err)
{
	char		 pid[32], ts[32];
	const char	*p[5] = { pid, doc, connected ? "true" : "false",
			    worker_id, last_msg > 0 ? ts : NULL };

	snprintf(pid, sizeof(pid), "%lld", printer_id);
	snprintf(ts, sizeof(ts), "%lld", (long long)last_msg);
	return db_exec_prepared(db, "INSERT INTO printer_status (printer_id, status, "
	    "connected, worker_id, last_message_at, updated_at) VALUES ($1, "
	    "$2::jsonb, $3::boolean, $4, to_timestamp($5::bigint), now()) "
	    "ON CONFLICT (printer_id) DO UPDATE SET status = EXCLUDED.status, "
	    "connected = EXCLUDED.connected, worker_id = EXCLUDED.worker_id, "
	    "last_message_at = EXCLUDED.last_message_at, updated_at = now()",
	    5, p, NULL, err);
}
