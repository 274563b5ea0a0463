/* counters.h: the worker's event counters (MQTT connects, Spoolman errors...), published to the database for /metrics. */
#ifndef WORKER_COUNTERS_H
#define WORKER_COUNTERS_H

/* What the worker counts; the names are the keys of worker_metrics.counters (sql/0007_metrics.sql). */
enum counter {
	COUNTER_MQTT_CONNECTS,		/* MQTT sessions that reached CONNACK 0 (first connects and reconnects) */
	COUNTER_MQTT_RECONNECTS,	/* of those: connects of a session that had been connected before */
	COUNTER_MQTT_DISCONNECTS,	/* connected sessions that lost their connection */
	COUNTER_MQTT_REFUSED,		/* CONNACKs refusing the login (access code, serial) */
	COUNTER_SPOOLMAN_REQUESTS,	/* HTTP requests sent to Spoolman */
	COUNTER_SPOOLMAN_ERRORS,	/* of those: no answer, a 5xx, or a 401/407 */
	COUNTER__MAX
};

/* Adds n to counter c.  Thread-safe (atomic); any thread of the worker may count. */
void		 counters_add(enum counter c, unsigned long long n);

/* The current value of c. */
unsigned long long counters_get(enum counter c);

/* The key of c in the database ("mqtt_connects"); borrowed. */
const char	*counters_name(enum counter c);

/*
 * The counters as JSON object text {"mqtt_connects": 3, ...}, for the jsonb parameter of the heartbeat.
 * New text (free() it), or NULL when out of memory.
 */
char		*counters_json(void);

#endif
