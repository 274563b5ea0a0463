/* bambu_json.h: bounded, range-checked readers of Jansson values for the Bambu report parsers. */
#ifndef COMMON_BAMBU_JSON_H
#define COMMON_BAMBU_JSON_H

#include <stddef.h>

#include <jansson.h>

/*
 * Reads v as an integer: a JSON integer, a JSON real with no fraction, or a
 * decimal string ("255", "-1") as the printer writes many numbers.  Returns 0
 * with *out in [min, max], or -1 (v NULL, null, another type, not a number,
 * or out of range; *out untouched).
 */
int	 bambu_json_int(const json_t *v, long long min, long long max,
	    long long *out);

/*
 * Reads v as a finite number: a JSON number or a decimal string.  Returns 0
 * with *out in [min, max], or -1 as bambu_json_int().
 */
int	 bambu_json_num(const json_t *v, double min, double max, double *out);

/* Returns 1 if v is a JSON number or a string that strtod reads whole, else 0. */
int	 bambu_json_numeric(const json_t *v);

/*
 * Reads v, a string of at most 16 hex digits ("10eff", the *_bits and info
 * fields).  Returns 0 with *out set, or -1.
 */
int	 bambu_json_hex(const json_t *v, unsigned long long *out);

/*
 * Copies v into dst (size bytes, always terminated): a string, cut at a UTF-8
 * character boundary if too long, or an integer in decimal (ids such as
 * task_id come both ways).  Returns 0, 1 if the text was cut, or -1 with dst
 * "" when v is absent, null or of another type.
 */
int	 bambu_json_text(const json_t *v, char *dst, size_t size);

/*
 * Copies src into dst (size > 0 bytes, always terminated), cut at a UTF-8
 * character boundary.  Returns 0, or 1 if src was cut.
 */
int	 bambu_json_strlcpy(char *dst, const char *src, size_t size);

#endif
