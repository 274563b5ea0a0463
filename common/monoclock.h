/* monoclock.h: the monotonic clock, for ages, deadlines and durations (never for wall time). */
#ifndef COMMON_MONOCLOCK_H
#define COMMON_MONOCLOCK_H

/* Milliseconds on CLOCK_MONOTONIC (from an unspecified start). */
long long	 monoclock_ms(void);

/* Seconds on CLOCK_MONOTONIC, with nanosecond resolution. */
double		 monoclock_s(void);

#endif
