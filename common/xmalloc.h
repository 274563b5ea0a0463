/* xmalloc.h: allocation that aborts on out-of-memory instead of returning NULL. */
#ifndef COMMON_XMALLOC_H
#define COMMON_XMALLOC_H

#include <stddef.h>

/* Each returns new memory (the caller frees it) or aborts the process. */
void	*xmalloc(size_t size);
void	*xcalloc(size_t n, size_t size);
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *s);

/* Memory aligned to align (a power of two; size a multiple of it), freed with free(), or aborts. */
void	*xaligned_alloc(size_t align, size_t size);

#endif
