/* queue.h: the thread-safe queue that carries MQTT events from the network threads to the tracker. */
#ifndef WORKER_QUEUE_H
#define WORKER_QUEUE_H

#include <stddef.h>

#define QUEUE_MAX	20000	/* events waiting; past this, reports are dropped and counted */

enum queue_kind {
	QUEUE_REPORT,		/* a message on device/<serial>/report */
	QUEUE_CONNECTED,	/* the session (re)connected and subscribed */
	QUEUE_DISCONNECTED,	/* the session lost its connection */
	QUEUE_PROBLEM		/* a TCP probe names why a printer does not connect ("kind\tmessage") */
};

/* One event; payload holds len bytes (not NUL-terminated). */
struct queue_msg {
	struct queue_msg	*next;
	long long		 printer_id;
	enum queue_kind		 kind;
	int			 rc;		/* libmosquitto reason for (dis)connects */
	size_t			 len;
	char			 payload[];
};

struct queue;

/* Returns a new empty queue (queue_free()), or NULL with errno set when no eventfd can be made. */
struct queue	*queue_new(void);
void		 queue_free(struct queue *);

/*
 * Appends a copy of payload (len bytes, may be 0) as an event and wakes the
 * reader.  Returns 0, or -1 when the queue is full (the event is dropped and
 * counted in queue_dropped()).  Safe from any thread.
 */
int		 queue_push(struct queue *, long long printer_id,
		    enum queue_kind kind, int rc, const void *payload, size_t len);

/* Takes the oldest event (new: free() it), or NULL when empty.  Safe from any thread. */
struct queue_msg *queue_pop(struct queue *);

/* The descriptor to poll() for readability; queue_drain_fd() clears it before popping. */
int		 queue_fd(const struct queue *);
void		 queue_drain_fd(struct queue *);

/* Events dropped because the queue was full, since the start. */
unsigned long	 queue_dropped(struct queue *);

#endif
