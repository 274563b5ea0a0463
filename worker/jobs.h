/* jobs.h: print jobs in the database: start, progress, and charging finished layers in one transaction. */
#ifndef WORKER_JOBS_H
#define WORKER_JOBS_H

#include "bambu_project.h"
#include "db.h"

#define JOBS_KEY_LEN	320

/* What the tracker knows of a job (a row of print_jobs). */
struct job {
	long long	 id;
	char		 key[JOBS_KEY_LEN];
	char		 state[16];	/* preparing, running, paused, finished, failed, cancelled */
	int		 planned;
	int		 layer_count;	/* -1 until planned */
	int		 checkpoint_layer;
	int		 reported_layer;
};

/* Where a new job comes from: the printer's status and, when it was seen, the project_file echo. */
struct job_start {
	const char		*key;
	const char		*task_id;
	const char		*subtask_id;
	const char		*subtask_name;
	const char		*gcode_file;
	const struct bambu_project *project;	/* NULL: started on the printer, no mapping */
	const int		*trays;		/* tray of each slicer filament (-1 unmapped); NULL: no mapping */
	int			 ntrays;
};

/* The lease a worker writes under: every write transaction asserts it first (SQLSTATE SKL01 if lost). */
struct jobs_lease {
	long long	 printer_id;
	long long	 token;
};

/*
 * Loads the printer's job that has not ended.  Returns 1 with *j filled, 0
 * when there is none, -1 with err set.
 */
int	 jobs_load_active(struct db *, long long printer_id, struct job *j,
	    char *err);

/*
 * Creates the job (or finds it again by key: a replayed start never makes a
 * second one).  Returns 1 with *j filled when the job is active, 0 when the
 * key belongs to a job that has already ended (nothing to track), -1 with err
 * set.
 */
int	 jobs_start(struct db *, const struct jobs_lease *,
	    const struct job_start *, struct job *j, char *err);

/*
 * Records progress and charges what is due, in one transaction: the printer
 * reported `layer` and `percent` (-1: nothing new); end_state, when not NULL,
 * ends the job ("finished", "failed" or "cancelled").  Once the job is
 * planned, every layer below the furthest reported one is charged (all of
 * them when finished), and a failed or cancelled job also gets the part of
 * its last layer up to the last progress mark at or below the highest
 * percent reported.  tray_now (-1 unknown) fills in the tray of filaments a
 * job without mapping has not seen yet.  Updates *j.  Returns 0, or -1 with
 * err set (nothing written).
 */
int	 jobs_advance(struct db *, const struct jobs_lease *, struct job *j,
	    int layer, int percent, const char *end_state, int tray_now,
	    char *err);

#endif
