/* ckrun.h: the main() and the one-test cases of the Check programs (tests/unit, tests/db, tests/worker). */
#ifndef CKRUN_H
#define CKRUN_H

#include <check.h>

int	 ck_run(Suite *);
TCase	*ck_tcase(const char *, const TTest *, SFun, SFun, double);

#endif
