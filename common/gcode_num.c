/* gcode_num.c: fast, exact parsing of the numbers in gcode parameters. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gcode_int.h"

/* Exact powers of ten: a mantissa below 2^53 divided by one is correctly rounded. */
static const double pow10_tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Parses with strtod from a bounded copy; used for exponents and long mantissas. */
static int
slow_num(const char *start, const char **p, const char *end, double *out)
{
	char	 buf[64];
	char	*stop;
	size_t	 n = 0;

	while (start + n < end && n < sizeof(buf) - 1 &&
	    (isdigit((unsigned char)start[n]) || start[n] == '.' ||
	    start[n] == 'e' || start[n] == '-' || start[n] == '+'))
		n++;
	memcpy(buf, start, n);
	buf[n] = '\0';
	*out = strtod(buf, &stop);
	if (stop == buf)
		return -1;
	*p = start + (stop - buf);
	return 0;
}

/*
 * Parses a decimal number ([+-]digits[.digits][e[+-]digits]) at *p, before
 * end, and advances *p past it.  Returns 0, or -1 when no number starts at
 * *p.  The result may be infinite (1e999): callers check the range.  An
 * upper-case E ends the number, since it starts the next gcode parameter.
 */
int
gcode_num(const char **p, const char *end, double *out)
{
	const char	*s = *p, *start = *p;
	uint64_t	 m = 0;
	int		 neg = 0, sig = 0, frac = 0, digits = 0;

	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	for (; s < end && (unsigned)(*s - '0') < 10; s++, digits++)
		if (m != 0 || *s != '0') {
			m = m * 10 + (uint64_t)(*s - '0');
			sig++;
		}
	if (s < end && *s == '.')
		for (s++; s < end && (unsigned)(*s - '0') < 10; s++, digits++) {
			m = m * 10 + (uint64_t)(*s - '0');
			frac++;
			if (m != 0)
				sig++;
		}
	if (digits == 0)
		return -1;
	if ((s < end && *s == 'e') || sig > 15 || frac > 22)
		return slow_num(start, p, end, out);
	*out = (double)m / pow10_tab[frac];
	if (neg)
		*out = -*out;
	*p = s;
	return 0;
}

/*
 * Parses an unsigned decimal integer of at most 9 digits at *p.  Returns 0,
 * or -1 when no digit starts at *p or the number is longer.
 */
int
gcode_uint(const char **p, const char *end, long *out)
{
	const char	*s = *p;
	long		 v = 0;
	int		 n = 0;

	for (; s < end && (unsigned)(*s - '0') < 10; s++, n++) {
		if (n == 9)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (n == 0)
		return -1;
	*out = v;
	*p = s;
	return 0;
}

