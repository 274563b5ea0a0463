/* log.c: one line per event on stderr: level, printer and job ids, message; a timestamp unless under journald. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_LEN	2048

static const char *const names[LOGL__MAX] = { "error", "warn", "info", "debug" };
static const int syslog_prio[LOGL__MAX] = { 3, 4, 6, 7 };	/* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static enum log_level	 threshold = LOGL_INFO;
static int		 journald;
static int		 configured;
static int		 bad_level;	/* SPOOLKEEPER_LOG_LEVEL held an unknown name: said once */

int
log_level_parse(const char *s, enum log_level *out)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < LOGL__MAX; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOGL_WARN;
		return 0;
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level >= 0 && level < LOGL__MAX ? names[level] : "?";
}

/* Reads the environment once (unless log_configure() came first). */
static void
init(void)
{
	const char	*v = getenv(LOG_LEVEL_ENV);
	const char	*js = getenv("JOURNAL_STREAM");

	if (configured)
		return;
	journald = js != NULL && *js != '\0';
	if (v != NULL && *v != '\0' && log_level_parse(v, &threshold) == -1) {
		threshold = LOGL_INFO;
		bad_level = 1;
	}
}

void
log_configure(enum log_level t, int j)
{
	pthread_once(&once, init);
	if (t >= 0 && t < LOGL__MAX)
		threshold = t;
	if (j >= 0)
		journald = j != 0;
	configured = 1;
}

int
log_enabled(enum log_level level)
{
	pthread_once(&once, init);
	return level <= threshold;
}

/* Appends s to buf at *n (bounded by len - 2, room for '\n' and NUL), control characters as spaces. */
static void
put(char *buf, size_t len, size_t *n, const char *s)
{
	for (; *s != '\0' && *n < len - 2; s++)
		buf[(*n)++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
}

size_t
log_format(char *buf, size_t len, time_t now, int jd, enum log_level level, long long printer_id,
    long long job_id, const char *msg)
{
	char		 head[128];
	struct tm	 tm;
	size_t		 n = 0;
	int		 h = 0;

	if (level < 0 || level >= LOGL__MAX)
		level = LOGL_ERROR;
	if (jd)
		h = snprintf(head, sizeof(head), "<%d>%s", syslog_prio[level], names[level]);
	else {
		gmtime_r(&now, &tm);
		h = (int)strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%SZ ", &tm);
		h += snprintf(head + h, sizeof(head) - (size_t)h, "%s", names[level]);
	}
	if (printer_id != 0)
		h += snprintf(head + h, sizeof(head) - (size_t)h, " printer=%lld", printer_id);
	if (job_id != 0)
		h += snprintf(head + h, sizeof(head) - (size_t)h, " job=%lld", job_id);
	snprintf(head + h, sizeof(head) - (size_t)h, ": ");
	put(buf, len, &n, head);
	put(buf, len, &n, msg);
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

/* Writes the whole line (one write unless interrupted or partial). */
static void
write_line(const char *line, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = write(STDERR_FILENO, line, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		line += w;
		n -= (size_t)w;
	}
}

void
log_msg(enum log_level level, long long printer_id, long long job_id, const char *fmt, ...)
{
	char	 msg[LINE_MAX_LEN], line[LINE_MAX_LEN + 128];
	va_list	 ap;
	size_t	 n;

	if (!log_enabled(level))
		return;
	if (bad_level) {
		bad_level = 0;
		log_msg(LOGL_WARN, 0, 0, "%s=%s is not a level (error, warn, info, debug): using info",
		    LOG_LEVEL_ENV, getenv(LOG_LEVEL_ENV) != NULL ? getenv(LOG_LEVEL_ENV) : "");
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = log_format(line, sizeof(line), time(NULL), journald, level, printer_id, job_id, msg);
	write_line(line, n);
}
