/* ckrun.c: the main() and the one-test cases of the Check programs (see ckrun.h). */
#include <stdlib.h>

#include <check.h>

#include "ckrun.h"

/* Runs every test of s (CK_NORMAL output); returns EXIT_SUCCESS when none failed, else EXIT_FAILURE. */
int
ck_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * A test case named name holding the one test: with the checked fixture setup/teardown unless both are NULL, and
 * a timeout of timeout seconds unless it is 0 (then Check's default).
 */
TCase *
ck_tcase(const char *name, const TTest *test, SFun setup, SFun teardown,
    double timeout)
{
	TCase	*tc = tcase_create(name);

	if (setup != NULL || teardown != NULL)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout != 0)
		tcase_set_timeout(tc, timeout);
	tcase_add_test(tc, test);
	return tc;
}
