/* planner.h: the planner thread: downloads each new print job's file, runs the engine on it, stores the plan. */
#ifndef WORKER_PLANNER_H
#define WORKER_PLANNER_H

#include <stdatomic.h>

struct secret_key;

#define PLANNER_POLL_MS		10000	/* re-read the jobs this often even without NOTIFY */
#define PLANNER_RETRY_MIN_MS	30000	/* first retry of a failed download ... */
#define PLANNER_RETRY_MAX_MS	900000	/* ... doubling up to 15 min (+-10 % jitter) */
#define PLANNER_ENDED_WINDOW_S	86400	/* still plan a job that ended less than this ago */

/* Counters for tests and status (all optional). */
struct planner_stats {
	atomic_long	 fetches;	/* downloads tried */
	atomic_long	 planned;	/* plans stored */
	atomic_long	 failures;	/* attempts that failed (download, engine, store) */
};

/*
 * What a planner thread needs; borrowed for the thread's life.  The first
 * five are required; the rest may be 0/NULL (defaults above).
 */
struct planner_ctx {
	const char		*conninfo;	/* its own database connection */
	const char		*worker_id;	/* plans jobs of printers whose lease this worker holds */
	const char		*cache_dir;	/* where files are downloaded (NULL: /tmp) */
	const char		*ca_file;	/* Bambu CA bundle for the printers' FTPS */
	atomic_int		*stop;		/* the thread returns soon after *stop becomes non-zero */

	int			 poll_ms;
	int			 retry_min_ms;
	int			 retry_max_ms;
	int			 ended_window_s;
	const char		*https_ca_file;	/* CA for cloud https:// downloads (NULL: system store) */
	const struct secret_key	*key;		/* decrypts printers.access_code_enc (NULL: plain codes only) */
	long			 low_speed_s;	/* fetch low-speed window (0: fetch.h's default) */
	struct planner_stats	*stats;
};

/*
 * The thread's entry point; arg is a struct planner_ctx *.  Until *stop:
 *   1. finds the jobs to plan: planned_at NULL, not ended (or ended less than
 *      ended_window_s ago: a short print can end before its file is
 *      downloaded), not 'preparing' unless the url is https:// (the printer
 *      may still be receiving the file), on a printer whose lease
 *      worker_leases gives to worker_id and has not expired;
 *   2. for each, unless it waits for a retry: takes a session advisory lock
 *      on the job (pg_try_advisory_lock(1936420972 'skpl', id)), so several
 *      planner threads or workers never work on one job at once; downloads it
 *      (fetch_model) to cache_dir/<id>.gcode.3mf; analyses it (analyze_path:
 *      member, else plate; use_ams; flow_cali); maps filaments to trays with
 *      print_jobs.ams_mapping; stores the plan (plan_store, whose commit
 *      NOTIFYs spoolkeeper_planned through sql/0003's trigger); deletes the
 *      file;
 *   3. sleeps until NOTIFY spoolkeeper_jobs, the next due retry, or poll_ms.
 * A failure writes "plan: ..." to print_jobs.error (cleared once planned).  A
 * download or database failure is retried with backoff; a file the engine
 * refuses (bad zip, not gcode) or a plan the schema refuses is not retried
 * until the job changes (NOTIFY) or the worker restarts.  A lost connection
 * is reopened (LISTEN again, then poll).  Returns NULL.
 *
 * Downloads can take minutes (70 KB/s printers): this thread must not be the
 * MQTT thread; several planner threads may run with the same ctx.
 */
void	*planner_thread_main(void *arg);

#endif
