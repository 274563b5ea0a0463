/* check_forecast.c: the runout forecast's arithmetic, the webhook signature and backoff (no database, no network). */
#include <math.h>
#include <string.h>

#include <check.h>

#include "forecast_calc.h"
#include "webhook.h"
#include "../harness/ckrun.h"

/* Layer 0 = start gcode; grams per layer of one spool. */
static const double need[] = { 0.5, 2.0, 2.0, 0.0, 3.0, 1.5 };
#define N	((int)(sizeof(need) / sizeof(need[0])))

START_TEST(need_from)
{
	ck_assert_double_eq_tol(forecast_need_from(need, N, 0), 9.0, 1e-12);
	ck_assert_double_eq_tol(forecast_need_from(need, N, 4), 4.5, 1e-12);
	ck_assert_double_eq(forecast_need_from(need, N, N), 0);
	ck_assert_double_eq(forecast_need_from(need, N, 99), 0);
	ck_assert_double_eq_tol(forecast_need_from(need, N, -3), 9.0, 1e-12);
}
END_TEST

START_TEST(runout_layer)
{
	/* Cumulative from 0: 0.5 2.5 4.5 4.5 7.5 9.0 */
	ck_assert_int_eq(forecast_runout_layer(need, N, 0, 9.0), -1);	/* exactly enough */
	ck_assert_int_eq(forecast_runout_layer(need, N, 0, 8.99), 5);
	ck_assert_int_eq(forecast_runout_layer(need, N, 0, 4.5), 4);	/* layer 3 needs nothing */
	ck_assert_int_eq(forecast_runout_layer(need, N, 0, 4.4), 2);
	ck_assert_int_eq(forecast_runout_layer(need, N, 0, 0.4), 0);
	/* From the middle: 2.0 2.0 5.0 6.5 */
	ck_assert_int_eq(forecast_runout_layer(need, N, 2, 4.0), 4);
	ck_assert_int_eq(forecast_runout_layer(need, N, 2, 6.5), -1);
	/* Nothing left: the first layer that needs something. */
	ck_assert_int_eq(forecast_runout_layer(need, N, 3, 0), 4);
	ck_assert_int_eq(forecast_runout_layer(need, N, 3, -2), 4);
	/* Rounding: a sum a hair above the remaining weight is enough. */
	ck_assert_int_eq(forecast_runout_layer(need, N, 0, 9.0 - 1e-12), -1);
	/* Unknown weight never runs out. */
	ck_assert_int_eq(forecast_runout_layer(need, N, 0, NAN), -1);
}
END_TEST

START_TEST(runout_retraction)
{
	/* A long retraction (negative) and its re-extrusion: the dip never makes the runout earlier. */
	static const double r[] = { 1.0, -0.5, 1.5, 1.0 };

	ck_assert_int_eq(forecast_runout_layer(r, 4, 0, 2.0), 3);
	ck_assert_int_eq(forecast_runout_layer(r, 4, 0, 0.9), 0);
	ck_assert_int_eq(forecast_runout_layer(r, 4, 1, 2.0), -1);
	ck_assert_int_eq(forecast_runout_layer(r, 4, 1, 1.0), 3);
}
END_TEST

START_TEST(eta_remaining_time)
{
	struct forecast_clock	c = { .now = 1000000, .layer = 10, .total_layers = 110, .remaining_min = 100,
				    .first_layer_at = 0 };

	/* 100 min over 100 layers: a minute a layer. */
	ck_assert_int_eq(forecast_eta(&c, 40), 1000000 + 30 * 60);
	ck_assert_int_eq(forecast_eta(&c, 10), 1000000);
	ck_assert_int_eq(forecast_eta(&c, 3), 1000000);
}
END_TEST

START_TEST(eta_layer_rate)
{
	struct forecast_clock	c = { .now = 1000000, .layer = 20, .total_layers = -1, .remaining_min = -1,
				    .first_layer_at = 1000000 - 400 };

	/* 20 s a layer so far. */
	ck_assert_int_eq(forecast_eta(&c, 25), 1000000 + 100);
	c.first_layer_at = 0;
	ck_assert_int_eq(forecast_eta(&c, 25), 0);	/* nothing to go by */
	c.first_layer_at = 1000000 - 400;
	c.layer = -1;
	ck_assert_int_eq(forecast_eta(&c, 25), 0);
}
END_TEST

START_TEST(signature)
{
	char	hex[65];

	/* RFC 4231 test case 2. */
	webhook_sign("Jefe", "what do ya want for nothing?", 28, hex);
	ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(backoff)
{
	ck_assert_double_eq(webhook_backoff_s(1, 2.0), 2.0);
	ck_assert_double_eq(webhook_backoff_s(2, 2.0), 4.0);
	ck_assert_double_eq(webhook_backoff_s(5, 2.0), 32.0);
	ck_assert_double_eq(webhook_backoff_s(30, 2.0), WEBHOOK_BACKOFF_CAP_S);
}
END_TEST

static Suite *
forecast_suite(void)
{
	Suite	*s = suite_create("forecast");

	suite_add_tcase(s, ck_tcase("need from a layer", need_from, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("runout layer", runout_layer, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("runout with a retraction", runout_retraction, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("eta from the remaining time", eta_remaining_time, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("eta from the layer rate", eta_layer_rate, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("HMAC-SHA256 signature", signature, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("webhook backoff", backoff, NULL, NULL, 0));
	return s;
}

int
main(void)
{
	return ck_run(forecast_suite());
}
