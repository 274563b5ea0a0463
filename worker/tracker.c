/* tracker.c: one printer as the worker follows it: merged reports, the current job, progress to charge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bambu_status.h"
#include "errbuf.h"
#include "rfid.h"
#include "log.h"
#include "status_json.h"
#include "tracker.h"
#include "xmalloc.h"

#define CANCELLED_ERROR	50348044LL	/* print_error of a print stopped by the user */

struct tracker *
tracker_new(long long printer_id, const char *name, long long token)
{
	struct tracker *t = xcalloc(1, sizeof(*t));

	t->printer_id = printer_id;
	t->lease.printer_id = printer_id;
	t->lease.token = token;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->st = bambu_state_new();
	t->last_layer = t->last_percent = -1;
	return t;
}

void
tracker_free(struct tracker *t)
{
	if (t == NULL)
		return;
	bambu_state_free(t->st);
	free(t->rfid_last);
	free(t);
}

int
tracker_resume(struct tracker *t, struct db *db, char *err)
{
	int rc = jobs_load_active(db, t->printer_id, &t->job, err);

	if (rc == -1)
		return -1;
	if (rc == 0)
		t->job.id = 0;
	return 0;
}

static int
streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* The stable key of the print the status describes; local prints get their start time. */
static void
print_key(const struct bambu_status *s, time_t start, char *key, size_t n)
{
	if (s->task_id[0] != '\0' && !streq(s->task_id, "0"))
		snprintf(key, n, "task:%s/%s", s->task_id, s->subtask_id);
	else if (start != 0)
		snprintf(key, n, "local:%.200s@%lld", s->subtask_name[0] != '\0' ?
		    s->subtask_name : s->gcode_file, (long long)start);
	else
		snprintf(key, n, "local:%.200s@", s->subtask_name[0] != '\0' ?
		    s->subtask_name : s->gcode_file);
}

/* True when the tracked job is the print the status describes. */
static int
same_print(const struct tracker *t, const struct bambu_status *s)
{
	char key[JOBS_KEY_LEN];

	print_key(s, 0, key, sizeof(key));
	return strncmp(t->job.key, key, strlen(key)) == 0;
}

/* The project_file echo, when it announced this print. */
static const struct bambu_project *
project_for(const struct tracker *t, const struct bambu_status *s)
{
	const struct bambu_project *p = &t->project;

	if (!t->have_project)
		return NULL;
	if ((p->task_id[0] != '\0' && streq(p->task_id, s->task_id)) ||
	    (p->subtask_name[0] != '\0' && streq(p->subtask_name,
	    s->subtask_name)))
		return p;
	return NULL;
}

static int
start_job(struct tracker *t, struct db *db, const struct bambu_status *s,
    time_t now, char *err)
{
	struct job_start	js;
	char			key[JOBS_KEY_LEN];
	int			trays[BAMBU_FILAMENTS_MAX], rc, i;

	print_key(s, now, key, sizeof(key));
	js.key = key;
	js.task_id = s->task_id;
	js.subtask_id = s->subtask_id;
	js.subtask_name = s->subtask_name;
	js.gcode_file = s->gcode_file;
	js.project = project_for(t, s);
	js.trays = NULL;
	js.ntrays = 0;
	if (js.project != NULL) {
		/* One numbering for external spools: the printer's own (254 or 255). */
		for (i = 0; i < js.project->nfilaments; i++)
			trays[i] = bambu_status_canon(s,
			    bambu_project_tray(js.project, i));
		js.trays = trays;
		js.ntrays = js.project->nfilaments;
	}
	if ((rc = jobs_start(db, &t->lease, &js, &t->job, err)) == -1) {
		t->job.id = 0;
		return -1;
	}
	if (rc == 0)
		t->job.id = 0;	/* that print has ended already */
	else
		log_msg(LOGL_INFO, t->printer_id, t->job.id, "job %lld %s (%s)", t->job.id, t->job.key,
		    js.project != NULL ? "mapped" : "no mapping");
	t->last_layer = t->last_percent = -1;
	return 0;
}

static const char *
end_state(const struct bambu_status *s)
{
	if (streq(s->gcode_state, "FINISH"))
		return "finished";
	if (streq(s->gcode_state, "FAILED"))
		return s->print_error == CANCELLED_ERROR ? "cancelled" : "failed";
	if (streq(s->gcode_state, "IDLE"))
		return "failed";	/* rebooted: the printer forgot the print */
	return NULL;
}

static int
end_job(struct tracker *t, struct db *db, const char *state, int tray,
    char *err)
{
	if (jobs_advance(db, &t->lease, &t->job, -1, -1, state, tray,
	    err) == -1)
		return -1;
	log_msg(LOGL_INFO, t->printer_id, t->job.id, "job %lld %s, charged to layer %d of %d", t->job.id,
	    t->job.state, t->job.checkpoint_layer, t->job.layer_count);
	t->job.id = 0;
	t->have_project = 0;
	return 0;
}

static int
on_status(struct tracker *t, struct db *db, const struct bambu_status *s,
    time_t now, char *err)
{
	const char	*gs = s->gcode_state, *end;
	int		 running = streq(gs, "RUNNING") || streq(gs, "PAUSE");
	int		 starting = running || streq(gs, "PREPARE") ||
			    streq(gs, "SLICING");
	int		 tray = s->tray_active, layer, percent;

	if (t->job.id != 0 && !same_print(t, s) && (starting ||
	    end_state(s) != NULL) && end_job(t, db, "failed", tray, err) == -1)
		return -1;
	if (t->job.id == 0) {
		if (!starting)
			return 0;
		if (start_job(t, db, s, now, err) == -1)
			return -1;
		if (t->job.id == 0)
			return 0;
	}
	if ((end = end_state(s)) != NULL)
		return end_job(t, db, end, tray, err);
	layer = running ? s->layer_num : -1;
	percent = running ? s->mc_percent : -1;
	if (layer == t->last_layer && percent == t->last_percent)
		return 0;
	if (jobs_advance(db, &t->lease, &t->job, layer, percent, NULL, tray,
	    err) == -1)
		return -1;
	t->last_layer = layer;
	t->last_percent = percent;
	return 0;
}

int
tracker_report(struct tracker *t, struct db *db, const void *payload,
    size_t len, time_t now, char *err)
{
	struct bambu_event	ev;
	struct bambu_status	s;

	t->last_msg = now;
	t->poked = 0;
	if (bambu_state_feed(t->st, payload, len, &ev, err) == -1)
		return -1;
	if (ev.kind == BAMBU_KIND_PROJECT) {
		t->project = ev.project;
		t->have_project = 1;
	}
	if (!bambu_state_complete(t->st) || (ev.kind != BAMBU_KIND_FULL &&
	    ev.kind != BAMBU_KIND_DELTA))
		return 0;
	t->status_dirty = 1;
	bambu_status_get(t->st, &s);
	if (on_status(t, db, &s, now, err) == -1)
		return -1;
	return rfid_observe(db, &t->lease, &s, &t->rfid_last, err);
}

int
tracker_planned(struct tracker *t, struct db *db, long long job_id, char *err)
{
	struct job j;

	if (t->job.id == job_id)
		return jobs_advance(db, &t->lease, &t->job, -1, -1, NULL, -1,
		    err);
	memset(&j, 0, sizeof(j));
	j.id = job_id;
	return jobs_advance(db, &t->lease, &j, -1, -1, NULL, -1, err);
}

void
tracker_connection(struct tracker *t, int connected, time_t now)
{
	if (connected && !t->connected)
		bambu_state_reset(t->st);	/* the pushall brings it back */
	t->connected = connected;
	t->last_msg = now;
	t->status_dirty = 1;
}

int
tracker_flush_status(struct tracker *t, struct db *db, const char *worker_id,
    time_t now, int every, char *err)
{
	struct bambu_status	 s;
	char			*doc;
	int			 rc;

	if (!t->status_dirty || (every > 0 && now - t->status_at < every))
		return 0;
	bambu_status_get(t->st, &s);
	doc = status_json(&s, t->job.id);
	rc = status_json_store(db, t->printer_id, doc, t->connected, worker_id,
	    t->last_msg, err);
	free(doc);
	if (rc == 0) {
		t->status_at = now;
		t->status_dirty = 0;
	}
	return rc;
}
