/* xmalloc.c: allocation that aborts on out-of-memory instead of returning NULL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static void
oom(size_t size)
{
	fprintf(stderr, "spoolkeeper: out of memory allocating %zu bytes\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void *q;

	if (size != 0 && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	q = realloc(p, n * size != 0 ? n * size : 1);
	if (q == NULL)
		oom(n * size);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(xmalloc(len), s, len);
}

void *
xaligned_alloc(size_t align, size_t size)
{
	void *p = aligned_alloc(align, size ? size : align);

	if (p == NULL)
		oom(size);
	return p;
}
