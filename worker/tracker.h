/* tracker.h: one printer as the worker follows it: merged reports, the current job, progress to charge. */
#ifndef WORKER_TRACKER_H
#define WORKER_TRACKER_H

#include <stddef.h>
#include <time.h>

#include "bambu_project.h"
#include "bambu_state.h"
#include "db.h"
#include "jobs.h"

struct tracker {
	long long		 printer_id;
	struct jobs_lease	 lease;
	char			 name[128];
	struct bambu_state	*st;
	struct bambu_project	 project;	/* the last project_file echo */
	int			 have_project;
	struct job		 job;		/* job.id 0: no job */
	int			 last_layer, last_percent;	/* last written */
	int			 connected;
	time_t			 last_msg;
	time_t			 status_at;	/* last printer_status write */
	int			 status_dirty;
	int			 poked;		/* watchdog sent a pushall */
	time_t			 pushall_at;	/* last pushall asked while incomplete */
	char			*rfid_last;	/* the tagged trays last written (rfid.c), NULL: none yet */
};

/* Returns a new tracker for a printer this worker holds the lease of (tracker_free()). */
struct tracker	*tracker_new(long long printer_id, const char *name,
		    long long token);
void		 tracker_free(struct tracker *);

/* Loads the printer's job that has not ended, to resume it. 0 or -1 with err set. */
int		 tracker_resume(struct tracker *, struct db *, char *err);

/*
 * Handles one report (payload of len bytes): merges it, starts, advances or
 * ends the job, and charges what is due.  A malformed report is answered with
 * -1 and err set, and changes nothing; a database failure also returns -1 and
 * the same progress is tried again on the next report.
 */
int		 tracker_report(struct tracker *, struct db *, const void *payload,
		    size_t len, time_t now, char *err);

/* Charges a job whose plan has just been stored (it may have ended already). */
int		 tracker_planned(struct tracker *, struct db *, long long job_id,
		    char *err);

/* Notes a connect or disconnect of the MQTT session. */
void		 tracker_connection(struct tracker *, int connected, time_t now);

/*
 * Writes the live status to printer_status when it changed and at most
 * every `every` seconds (0: now).  0 or -1 with err set.
 */
int		 tracker_flush_status(struct tracker *, struct db *,
		    const char *worker_id, time_t now, int every, char *err);

#endif
