/* query.h: reading and validating the query string of a GET route; every failure answers 400 naming the parameter. */
#ifndef WEB_QUERY_H
#define WEB_QUERY_H

#include <stddef.h>

struct ctx;

#define QUERY_ID_MAX	9007199254740992LL	/* 2^53, as for path ids */
#define QUERY_DATE_LEN	11			/* "YYYY-MM-DD" and the NUL */
#define QUERY_TZ_LEN	65

/*
 * Refuses a query string with a parameter not in the NULL-terminated list names, or one given twice: -1 after
 * answering 400, else 0.  (A typo such as printer_id= would otherwise silently widen a filter.)
 */
int	 query_only(struct ctx *, const char *const *names) __attribute__((warn_unused_result));

/*
 * The decoded value of parameter name into out (outlen bytes).  1 when present, 0 when absent, -1 after answering
 * 400 when it is badly encoded, has control characters, or is longer than outlen - 1.
 */
int	 query_string(struct ctx *, const char *name, char *out, size_t outlen)
	    __attribute__((warn_unused_result));

/* A whole number in [min, max] (decimal digits, optional '-'): 1 present (*out set), 0 absent, -1 after a 400. */
int	 query_int(struct ctx *, const char *name, long long min, long long max, long long *out)
	    __attribute__((warn_unused_result));

/*
 * One of the words of the NULL-terminated list allowed: 1 present (*out set to the borrowed list entry), 0 absent,
 * -1 after a 400 that lists the allowed words.
 */
int	 query_word(struct ctx *, const char *name, const char *const *allowed, const char **out)
	    __attribute__((warn_unused_result));

/*
 * A comma-separated list of words of allowed, copied into out (outlen bytes) as given: 1 present, 0 absent, -1
 * after a 400.
 */
int	 query_words(struct ctx *, const char *name, const char *const *allowed, char *out, size_t outlen)
	    __attribute__((warn_unused_result));

/* A calendar date YYYY-MM-DD (years 0001-9999) into out: 1 present, 0 absent, -1 after a 400. */
int	 query_date(struct ctx *, const char *name, char out[QUERY_DATE_LEN]) __attribute__((warn_unused_result));

/*
 * The "tz" parameter into out: "UTC" when absent, else a name of pg_timezone_names ("Europe/Berlin"); 0, or -1
 * after answering 400 (unknown zone) or a database error.
 */
int	 query_tz(struct ctx *, char out[QUERY_TZ_LEN]) __attribute__((warn_unused_result));

#endif
