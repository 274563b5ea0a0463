/* fleet.h: the printers this worker serves: leases, MQTT sessions and trackers, kept in step with the database. */
#ifndef WORKER_FLEET_H
#define WORKER_FLEET_H

#include <time.h>

#include "db.h"
#include "queue.h"

#define FLEET_LEASE_TTL		30	/* seconds a lease lasts without renewal */
#define FLEET_SILENCE		60	/* seconds of silence before a pushall */
#define FLEET_DEAD		150	/* seconds of silence before a new session */

struct secret_key;

struct fleet_conf {
	const char	*worker_id;
	const char	*cafile;	/* CA bundle for the printers' certificates */
	const struct secret_key *key;	/* decrypts printers.access_code_enc; NULL: only plain codes work */
	int		 max_printers;	/* 0: as many as are free */
	int		 lease_ttl;	/* seconds; 0: FLEET_LEASE_TTL */
};

struct fleet;

/* Returns a new, empty fleet (fleet_free()); conf's strings are borrowed and must outlive it. */
struct fleet	*fleet_new(const struct fleet_conf *conf, struct db *db,
		    struct queue *q);

/* Stops every session, releases every lease and frees the fleet. */
void		 fleet_free(struct fleet *);

/*
 * Reads the printers, renews the leases held, takes free ones (starting a
 * session and resuming the printer's open job), drops printers that were
 * removed, disabled or taken over, and writes the heartbeat.  A printer whose
 * access code cannot be decrypted is skipped (no lease taken) and logged once
 * per error.  0 or -1 with err set (the fleet keeps what it has).
 */
int		 fleet_sync(struct fleet *, time_t now, char *err);

/* Hands one queue event to its printer's tracker. */
void		 fleet_dispatch(struct fleet *, const struct queue_msg *m,
		    time_t now);

/* Charges a job whose plan was stored (NOTIFY spoolkeeper_planned). */
void		 fleet_planned(struct fleet *, long long job_id);

/* Writes changed statuses (throttled) and pokes or restarts silent sessions. */
void		 fleet_tick(struct fleet *, time_t now);

/* Printers held now. */
int		 fleet_size(const struct fleet *);

#endif
