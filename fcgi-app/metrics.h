/* metrics.h: the web app's request counters and latency histograms, shared by every process of the pool. */
#ifndef WEB_METRICS_H
#define WEB_METRICS_H

#include <stddef.h>

#define METRICS_ROUTES_MAX	128	/* route table rows counted one by one; more share the "other" row */
#define METRICS_BUCKETS		12	/* latency buckets below +Inf (metrics.c: 1 ms to 10 s) */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* A growing text: the exposition being written.  metrics_text_free() releases it. */
struct metrics_text {
	char	*buf;
	size_t	 len, cap;
};

/*
 * Maps the counters into memory shared with the processes forked after this call (an anonymous MAP_SHARED
 * mapping: every process of the pool adds to the same numbers).  Call once, in the parent, before forking.
 * Without it (handler tests), each process counts in its own memory.  0, or -1 with errno (mmap).
 */
int	 metrics_init(void);

/*
 * Counts one answered request: route is its index in routes[] (routes.h), or -1 when no route matched; status is
 * the HTTP status sent; seconds the time from receiving to answering.  Lock-free (atomics); any process.
 */
void	 metrics_observe(int route, int status, double seconds);

/*
 * Appends the HTTP metrics, with their HELP and TYPE lines, to t: spoolkeeper_http_requests_total{route,method,
 * code} and the histogram spoolkeeper_http_request_duration_seconds{route,method}, for every route that has
 * answered at least once.
 */
void	 metrics_write_http(struct metrics_text *t);

/* Appends formatted text to t (aborts when memory runs out, as xmalloc). */
void	 metrics_printf(struct metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Appends s to t as a label value of the text format: backslash, double quote and newline escaped (\\ \" \n).
 */
void	 metrics_label(struct metrics_text *t, const char *s);

/* Appends "# HELP name help\n# TYPE name type\n". */
void	 metrics_head(struct metrics_text *t, const char *name, const char *type, const char *help);

void	 metrics_text_free(struct metrics_text *t);

#endif
