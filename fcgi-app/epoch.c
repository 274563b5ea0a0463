/* epoch.c: a write counter shared by every process of the pool, so that per-process caches see each other's writes. */
#define _DEFAULT_SOURCE	/* MAP_ANONYMOUS */
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

#include "epoch.h"

static atomic_ulong	 own;
static atomic_ulong	*counter = &own;

int
epoch_share(void)
{
	void	*p;

	p = mmap(NULL, sizeof(atomic_ulong), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	counter = p;
	atomic_init(counter, atomic_load(&own));
	return 0;
}

unsigned long
epoch_now(void)
{
	return atomic_load(counter);
}

void
epoch_bump(void)
{
	atomic_fetch_add(counter, 1);
}
