/* forecast_calc.c: the runout forecast's arithmetic: when a spool runs out, and at about what time (pure, no I/O). */
#include <math.h>

#include "forecast_calc.h"

#define EPS_G	1e-9	/* grams below which a shortfall is rounding */

double
forecast_need_from(const double *need, int n, int from)
{
	double	sum = 0;
	int	k;

	for (k = from < 0 ? 0 : from; k < n; k++)
		sum += need[k];
	return sum;
}

int
forecast_runout_layer(const double *need, int n, int from, double remaining)
{
	double	sum = 0;
	int	k;

	if (!isfinite(remaining))
		return -1;
	for (k = from < 0 ? 0 : from; k < n; k++) {
		sum += need[k];
		if (need[k] > 0 && sum > remaining + EPS_G)
			return k;
	}
	return -1;
}

time_t
forecast_eta(const struct forecast_clock *c, int target)
{
	double	per_layer;

	if (c->layer < 0)
		return 0;
	if (target <= c->layer)
		return c->now;
	if (c->remaining_min >= 0 && c->total_layers > c->layer)
		per_layer = c->remaining_min * 60.0 / (c->total_layers - c->layer);
	else if (c->first_layer_at > 0 && c->layer > 0 && c->now > c->first_layer_at)
		per_layer = (double)(c->now - c->first_layer_at) / c->layer;
	else
		return 0;
	return c->now + (time_t)llround(per_layer * (target - c->layer));
}
