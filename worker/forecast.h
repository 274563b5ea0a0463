/* forecast.h: preflight and runout forecast of the running prints this worker holds, stored for the status JSON. */
#ifndef WORKER_FORECAST_H
#define WORKER_FORECAST_H

struct db;
struct spoolman;

/* A forecast is computed again at least this often (the clock estimate moves), else when a layer is charged. */
#define FORECAST_REFRESH_S	30

/*
 * One pass over the planned, running jobs of the printers whose lease worker_id holds: preflight (the remaining
 * weight of each mapped spool not seen yet: GET /api/v1/spool/{id} through sm, else spool_cache; NULL sm: cache
 * only), then the forecast of each job whose checkpoint moved or whose forecast is older than FORECAST_REFRESH_S,
 * upserted into job_forecasts, and one spool_runout_forecast webhook event per job and spool that runs out
 * (webhook_enqueue: only when webhooks want it).  docs/smart-trays.md describes the figures.  Returns the number
 * of forecasts written, or -1 with err set (a database error; Spoolman failures only fall back to the cache).
 */
int	 forecast_run_once(struct db *, struct spoolman *sm, const char *worker_id, char *err)
	    __attribute__((warn_unused_result));

#endif
