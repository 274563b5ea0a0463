/* epoch.h: a write counter shared by every process of the pool, so that per-process caches see each other's writes. */
#ifndef SPOOLKEEPER_EPOCH_H
#define SPOOLKEEPER_EPOCH_H

/*
 * Moves the counter into memory shared with the processes forked after this call (the pool's main process calls
 * it once, before it forks).  Without it the counter is the calling process's own, which is what the handler
 * tests want.  0, or -1 with errno when the memory cannot be mapped.
 */
int		 epoch_share(void);

/* The counter's value now.  A cached answer made under another value is stale. */
unsigned long	 epoch_now(void);

/* Moves the counter on: every process's caches made before this call are stale from now on. */
void		 epoch_bump(void);

#endif
