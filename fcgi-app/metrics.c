/* metrics.c: the web app's request counters and latency histograms in shared memory, and the text they print as. */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "app.h"
#include "metrics.h"
#include "routes.h"
#include "xmalloc.h"

/* Upper bounds of the latency buckets, in seconds (+Inf is implied). */
static const double bounds[METRICS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};

/* One route's numbers.  Buckets are not cumulative here; the text adds them up. */
struct route_stats {
	atomic_ullong	 by_class[6];		/* [1] 1xx ... [5] 5xx; [0] anything else */
	atomic_ullong	 buckets[METRICS_BUCKETS + 1];	/* the last: above every bound */
	atomic_ullong	 count;
	atomic_ullong	 sum_us;		/* microseconds */
};

/* Row METRICS_ROUTES_MAX: requests that matched no route (or a route beyond the limit). */
struct stats {
	struct route_stats	 r[METRICS_ROUTES_MAX + 1];
};

static struct stats	 local;
static struct stats	*stats = &local;

int
metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(struct stats), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sizeof(struct stats));	/* fresh anonymous pages are zero already; atomics start at 0 */
	stats = p;
	return 0;
}

void
metrics_observe(int route, int status, double seconds)
{
	struct route_stats	*r;
	int			 b, cls = status / 100;

	if (route < 0 || route >= METRICS_ROUTES_MAX)
		route = METRICS_ROUTES_MAX;
	r = &stats->r[route];
	atomic_fetch_add(&r->by_class[cls >= 1 && cls <= 5 ? cls : 0], 1);
	for (b = 0; b < METRICS_BUCKETS && seconds > bounds[b]; b++)
		;
	atomic_fetch_add(&r->buckets[b], 1);
	atomic_fetch_add(&r->count, 1);
	atomic_fetch_add(&r->sum_us, (unsigned long long)(seconds > 0 ? seconds * 1e6 + 0.5 : 0));
}

void
metrics_printf(struct metrics_text *t, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf != NULL ? t->buf + t->len : NULL, t->buf != NULL ? t->cap - t->len : 0, fmt,
		    ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->buf != NULL && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (size_t)n + 256;
		t->buf = xreallocarray(t->buf, t->cap, 1);
	}
}

void
metrics_label(struct metrics_text *t, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			metrics_printf(t, "\\\\");
		else if (*s == '"')
			metrics_printf(t, "\\\"");
		else if (*s == '\n')
			metrics_printf(t, "\\n");
		else
			metrics_printf(t, "%c", *s);
	}
}

void
metrics_head(struct metrics_text *t, const char *name, const char *type, const char *help)
{
	metrics_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_text_free(struct metrics_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* The labels route="..",method=".." of row i. */
static void
labels(struct metrics_text *t, int i)
{
	const struct route	*rt = i < METRICS_ROUTES_MAX ? &routes[i] : NULL;

	metrics_printf(t, "route=\"");
	if (rt == NULL)
		metrics_printf(t, "other");
	else {
		if (!(rt->flags & ROUTE_ROOT))
			metrics_printf(t, "/api/v1");
		metrics_label(t, rt->pattern);
	}
	metrics_printf(t, "\",method=\"");
	metrics_label(t, rt != NULL ? rt->method : "any");
	metrics_printf(t, "\"");
}

/* Rows to print: the table's (up to the limit) and "other". */
static int
rows(void)
{
	int	 n = 0;

	while (routes[n].method != NULL && n < METRICS_ROUTES_MAX)
		n++;
	return n;
}

void
metrics_write_http(struct metrics_text *t)
{
	static const char *const classes[6] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	unsigned long long	 v, cum;
	int			 i, c, b, n = rows();

	metrics_head(t, "spoolkeeper_http_requests_total", "counter",
	    "Requests answered by spoolkeeper-web, by route, method and status class.");
	for (i = 0; i <= METRICS_ROUTES_MAX; i++) {
		if (i >= n && i != METRICS_ROUTES_MAX)
			continue;
		for (c = 0; c < 6; c++) {
			if ((v = atomic_load(&stats->r[i].by_class[c])) == 0)
				continue;
			metrics_printf(t, "spoolkeeper_http_requests_total{");
			labels(t, i);
			metrics_printf(t, ",code=\"%s\"} %llu\n", classes[c], v);
		}
	}
	metrics_head(t, "spoolkeeper_http_request_duration_seconds", "histogram",
	    "Time from receiving a request to having its answer, by route and method.");
	for (i = 0; i <= METRICS_ROUTES_MAX; i++) {
		if ((i >= n && i != METRICS_ROUTES_MAX) || atomic_load(&stats->r[i].count) == 0)
			continue;
		cum = 0;
		for (b = 0; b <= METRICS_BUCKETS; b++) {
			cum += atomic_load(&stats->r[i].buckets[b]);
			metrics_printf(t, "spoolkeeper_http_request_duration_seconds_bucket{");
			labels(t, i);
			if (b < METRICS_BUCKETS)
				metrics_printf(t, ",le=\"%g\"} %llu\n", bounds[b], cum);
			else
				metrics_printf(t, ",le=\"+Inf\"} %llu\n", cum);
		}
		metrics_printf(t, "spoolkeeper_http_request_duration_seconds_sum{");
		labels(t, i);
		metrics_printf(t, "} %.6f\n", (double)atomic_load(&stats->r[i].sum_us) / 1e6);
		metrics_printf(t, "spoolkeeper_http_request_duration_seconds_count{");
		labels(t, i);
		metrics_printf(t, "} %llu\n", cum);
	}
}
