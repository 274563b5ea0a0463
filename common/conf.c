/* conf.c: the database conninfo, the migrations directory and the key file, from the environment or built-in defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* The absolute path of the source tree, given by the Makefile. */
#ifndef SPOOLKEEPER_SRCDIR
#define SPOOLKEEPER_SRCDIR "."
#endif

#define CONNINFO_MAX	8192

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * Appends s to buf (of CONNINFO_MAX bytes, holding len) as a single-quoted conninfo value, with \ and ' escaped.
 * Returns the new length, or 0 when it does not fit.
 */
static size_t
append_quoted(char *buf, size_t len, const char *s)
{
	if (len + 1 >= CONNINFO_MAX)
		return 0;
	buf[len++] = '\'';
	for (; *s != '\0'; s++) {
		if (len + 3 >= CONNINFO_MAX)
			return 0;
		if (*s == '\\' || *s == '\'')
			buf[len++] = '\\';
		buf[len++] = *s;
	}
	buf[len++] = '\'';
	buf[len] = '\0';
	return len;
}

const char *
conf_database(void)
{
	static char	 buf[CONNINFO_MAX];
	const char	*v = env(CONF_DATABASE_ENV);
	size_t		 len;
	int		 n;

	if (v != NULL)
		return v;
	if (buf[0] != '\0')
		return buf;
	len = (size_t)snprintf(buf, sizeof(buf), "host=");
	len = append_quoted(buf, len, SPOOLKEEPER_SRCDIR "/var/run");
	if (len == 0) {
		/* An absurdly long source path: leave the host to libpq. */
		len = 0;
		buf[0] = '\0';
	}
	n = snprintf(buf + len, sizeof(buf) - len,
	    "%sport=%d dbname=spoolkeeper user=spoolkeeper",
	    len > 0 ? " " : "", CONF_DEFAULT_PORT);
	if (n < 0 || (size_t)n >= sizeof(buf) - len)
		buf[0] = '\0';
	return buf;
}

int
conf_database_is_default(void)
{
	return env(CONF_DATABASE_ENV) == NULL;
}

const char *
conf_sql_dir(void)
{
	const char	*v = env(CONF_SQL_DIR_ENV);

	return v != NULL ? v : SPOOLKEEPER_SRCDIR "/sql";
}

const char *
conf_key_file(void)
{
	const char	*v = env(CONF_KEY_FILE_ENV);

	return v != NULL ? v : SPOOLKEEPER_SRCDIR "/var/secret.key";
}
