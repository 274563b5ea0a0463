/* log.h: one line per event on stderr (journald under systemd): level, printer and job ids, message. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>
#include <time.h>

#define LOG_LEVEL_ENV	"SPOOLKEEPER_LOG_LEVEL"

/* Levels, most severe first; a level shows the lines of its own and every more severe level. */
enum log_level {
	LOGL_ERROR,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG,
	LOGL__MAX
};

/*
 * Writes one event line to stderr, in a single write(2) so that lines of threads and processes never interleave:
 *   [<ISO-8601 UTC timestamp> ]<level>[ printer=<id>][ job=<id>]: <message>
 * The timestamp is left out under journald (JOURNAL_STREAM set), which stamps each line itself, and the line
 * then starts with the syslog priority "<3>"..."<7>" that journald reads (and strips) as the line's priority.
 * printer_id or job_id 0 leaves that field out.  Nothing is formatted when level is below the threshold
 * (SPOOLKEEPER_LOG_LEVEL: error, warn, info or debug; default info; read once, on the first call; an unknown
 * value logs one warning and keeps info).  Newlines and other control characters in the message become
 * spaces (one event, one line); a message is cut at about 2000 bytes.  Thread-safe.
 */
void	 log_msg(enum log_level level, long long printer_id, long long job_id, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* 1 when lines of level are written, else 0 (to skip costly work for a debug line). */
int	 log_enabled(enum log_level level);

/*
 * The pure formatter behind log_msg: the line (with its '\n') into buf (len bytes, at least 64), for time now,
 * in the journald form when journald is non-zero.  Returns the line's length (cut to fit len - 1).
 */
size_t	 log_format(char *buf, size_t len, time_t now, int journald, enum log_level level,
	    long long printer_id, long long job_id, const char *msg);

/* The level named s ("error", "warn", "warning", "info", "debug"; any case) into *out: 0, or -1 if unknown. */
int	 log_level_parse(const char *s, enum log_level *out);

/* The name of a level ("warn"); borrowed. */
const char	*log_level_name(enum log_level level);

/*
 * Sets the threshold and the journald form for the rest of the process, as if read from the environment (tests
 * and programs that take a --log-level option).  journald -1: keep what JOURNAL_STREAM says.
 */
void	 log_configure(enum log_level threshold, int journald);

#endif
