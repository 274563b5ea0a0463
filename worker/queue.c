/* queue.c: the thread-safe queue that carries MQTT events from the network threads to the tracker. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "queue.h"
#include "xmalloc.h"

struct queue {
	pthread_mutex_t	 lock;
	struct queue_msg *head, *tail;
	size_t		 n;
	unsigned long	 dropped;
	int		 fd;
};

struct queue *
queue_new(void)
{
	struct queue *q = xcalloc(1, sizeof(*q));

	if ((q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	return q;
}

void
queue_free(struct queue *q)
{
	struct queue_msg *m;

	if (q == NULL)
		return;
	while ((m = queue_pop(q)) != NULL)
		free(m);
	close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int
queue_push(struct queue *q, long long printer_id, enum queue_kind kind, int rc,
    const void *payload, size_t len)
{
	struct queue_msg	*m;
	uint64_t		 one = 1;
	ssize_t			 w;

	pthread_mutex_lock(&q->lock);
	if (q->n >= QUEUE_MAX) {
		q->dropped++;
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	pthread_mutex_unlock(&q->lock);
	m = xmalloc(sizeof(*m) + len);
	m->next = NULL;
	m->printer_id = printer_id;
	m->kind = kind;
	m->rc = rc;
	m->len = len;
	if (len > 0)
		memcpy(m->payload, payload, len);
	pthread_mutex_lock(&q->lock);
	if (q->tail != NULL)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
	pthread_mutex_unlock(&q->lock);
	do
		w = write(q->fd, &one, sizeof(one));
	while (w == -1 && errno == EINTR);
	return 0;
}

struct queue_msg *
queue_pop(struct queue *q)
{
	struct queue_msg *m;

	pthread_mutex_lock(&q->lock);
	if ((m = q->head) != NULL) {
		q->head = m->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
	}
	pthread_mutex_unlock(&q->lock);
	return m;
}

int
queue_fd(const struct queue *q)
{
	return q->fd;
}

void
queue_drain_fd(struct queue *q)
{
	uint64_t v;

	while (read(q->fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

unsigned long
queue_dropped(struct queue *q)
{
	unsigned long n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}
