/* errbuf.h: the caller-supplied error buffer that pure parsers fill instead of logging. */
#ifndef COMMON_ERRBUF_H
#define COMMON_ERRBUF_H

#include <stddef.h>

#define ERRBUF_LEN 256

/*
 * Formats a one-line message into err (ERRBUF_LEN bytes) and returns -1, so a
 * parser can write `return errbuf_set(err, "...", ...);`.  A NULL err is
 * allowed and ignored.
 */
int errbuf_set(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
