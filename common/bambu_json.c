/* bambu_json.c: bounded, range-checked readers of Jansson values for the Bambu report parsers. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bambu_json.h"

/* Integral doubles beyond this are not read as integers (2^62, exact in a double). */
#define INTEGRAL_MAX	4611686018427387904.0

/* Returns 1 if s starts like a decimal number: a digit, or '-' or '.' then a digit. */
static int
decimal_start(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '.')
		s++;
	return isdigit((unsigned char)*s) != 0;
}

/* Reads the whole of s as a decimal integer.  Returns 0 or -1. */
static int
parse_ll(const char *s, long long *out)
{
	char		*end;
	long long	 v;

	if (!decimal_start(s) || strchr(s, '.') != NULL)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Reads the whole of s as a finite decimal number.  Returns 0 or -1. */
static int
parse_double(const char *s, double *out)
{
	char	*end;
	double	 v;

	if (!decimal_start(s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
bambu_json_int(const json_t *v, long long min, long long max, long long *out)
{
	long long	 n;
	double		 d;

	if (v == NULL)
		return -1;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_real(v)) {
		d = json_real_value(v);
		if (!isfinite(d) || d != floor(d) || fabs(d) > INTEGRAL_MAX)
			return -1;
		n = (long long)d;
	} else if (json_is_string(v)) {
		if (parse_ll(json_string_value(v), &n) == -1)
			return -1;
	} else
		return -1;
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

int
bambu_json_num(const json_t *v, double min, double max, double *out)
{
	double	 d;

	if (v == NULL)
		return -1;
	if (json_is_number(v))
		d = json_number_value(v);
	else if (json_is_string(v)) {
		if (parse_double(json_string_value(v), &d) == -1)
			return -1;
	} else
		return -1;
	if (!isfinite(d) || d < min || d > max)
		return -1;
	*out = d;
	return 0;
}

int
bambu_json_numeric(const json_t *v)
{
	double	 d;

	if (json_is_number(v))
		return 1;
	return json_is_string(v) &&
	    parse_double(json_string_value(v), &d) == 0;
}

int
bambu_json_hex(const json_t *v, unsigned long long *out)
{
	const char	*s, *p;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (*s == '\0' || strlen(s) > 16)
		return -1;
	for (p = s; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p))
			return -1;
	*out = strtoull(s, NULL, 16);
	return 0;
}

int
bambu_json_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	 len = strlen(src), n = len;

	if (n >= size) {
		n = size - 1;
		/* Never end on a lead byte whose continuation bytes were cut. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n < len;
}

int
bambu_json_text(const json_t *v, char *dst, size_t size)
{
	char	 num[32];

	dst[0] = '\0';
	if (json_is_string(v))
		return bambu_json_strlcpy(dst, json_string_value(v), size);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return bambu_json_strlcpy(dst, num, size);
	}
	return -1;
}
