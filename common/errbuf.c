/* errbuf.c: formatting of one-line parser errors into a caller buffer. */
#include <stdarg.h>
#include <stdio.h>

#include "errbuf.h"

int
errbuf_set(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, ERRBUF_LEN, fmt, ap);
	va_end(ap);
	return -1;
}
