/* forecast_calc.h: the runout forecast's arithmetic: when a spool runs out, and at about what time (pure, no I/O). */
#ifndef WORKER_FORECAST_CALC_H
#define WORKER_FORECAST_CALC_H

#include <time.h>

/*
 * The grams still needed from layer `from` on: the sum of need[from..n-1] (need[k] = grams the spool gives in
 * layer k, all slicer filaments mapped to it added up).  0 when from >= n.
 */
double	 forecast_need_from(const double *need, int n, int from);

/*
 * The first layer L >= from at which the cumulative need need[from] + ... + need[L] exceeds remaining (grams the
 * spool held when layer `from` began), or -1 when the spool lasts to the end of the plan.  A spool holding
 * remaining <= 0 runs out at the first layer from `from` on that needs anything.  Sums below 1e-9 g of the
 * remaining weight count as enough (rounding).  need, n: as forecast_need_from().
 */
int	 forecast_runout_layer(const double *need, int n, int from, double remaining);

/* What the printer says of its progress, for the clock estimate. */
struct forecast_clock {
	time_t	 now;
	int	 layer;		/* layer_num being printed; -1 unknown */
	int	 total_layers;	/* total_layer_num; -1 unknown */
	int	 remaining_min;	/* mc_remaining_time; -1 unknown */
	time_t	 first_layer_at;	/* when the job's layers began (the job's start); 0 unknown */
};

/*
 * About when layer `target` begins: with the printer's remaining time, now + remaining_min * (target - layer) /
 * (total_layers - layer) (its estimate spread evenly over the layers left); without it, the layer rate so far,
 * now + (target - layer) * (now - first_layer_at) / layer.  A target at or below the layer being printed is now.
 * Returns the time, or 0 when neither figure is known.
 */
time_t	 forecast_eta(const struct forecast_clock *, int target);

#endif
