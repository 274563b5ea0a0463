/* session.h: one printer's MQTT session: TLS to its broker, subscribe, pushall, events into the queue. */
#ifndef WORKER_SESSION_H
#define WORKER_SESSION_H

#include "queue.h"

struct session_conf {
	long long	 printer_id;
	const char	*client_id;	/* unique per worker and printer */
	const char	*serial;	/* topic device/<serial>/...; the certificate's expected name */
	const char	*host;
	int		 port;		/* 8883 */
	const char	*access_code;	/* password of user bblp */
	const char	*cafile;	/* the Bambu CA bundle (or a test CA) */
	int		 insecure;	/* 1: no certificate verification at all */
};

struct session;

/* Initialises libmosquitto once per process (before any thread); 0 or -1. */
int		 session_lib_init(void);
void		 session_lib_cleanup(void);

/*
 * Starts the session in its own network thread: connects asynchronously,
 * reconnects with backoff (1 s doubling to 60 s), subscribes and requests a
 * pushall on every connect, and pushes every report, connect and disconnect
 * into q.  The certificate must chain to cafile and name the serial (not the
 * host) unless insecure.  Strings are copied.  Returns a new session
 * (session_stop() it), or NULL with err set.
 */
struct session	*session_start(const struct session_conf *conf, struct queue *q,
		    char *err);

/* Asks the printer for a full report; 0, or -1 when not connected. */
int		 session_pushall(struct session *);

/* Disconnects, joins the network thread and frees the session; NULL is allowed. */
void		 session_stop(struct session *);

#endif
