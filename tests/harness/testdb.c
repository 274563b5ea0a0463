/* testdb.c: SQL helpers of the Check programs that run on a database: statements that must succeed, first values. */
#include <stdio.h>
#include <stdlib.h>

#include <check.h>

#include "db.h"
#include "errbuf.h"
#include "testdb.h"

/* Runs a statement that must succeed. */
void
testdb_ok(struct db *db, const char *sql, int n, const char *const *p)
{
	char	err[ERRBUF_LEN];

	ck_assert_msg(db_exec(db, sql, n, p, NULL, err) == 0, "%s: %s", sql,
	    err);
}

/* Runs a statement that must succeed and returns the first column of its first row (static; "NULL" for NULL). */
const char *
testdb_one(struct db *db, const char *sql, int n, const char *const *p)
{
	static char		 buf[1024];
	struct db_result	*r;
	const char		*v;
	char			 err[ERRBUF_LEN];

	ck_assert_msg(db_exec(db, sql, n, p, &r, err) == 0, "%s: %s", sql, err);
	ck_assert_msg(db_result_rows(r) >= 1, "%s: no row", sql);
	v = db_result_get(r, 0, 0);
	snprintf(buf, sizeof(buf), "%s", v != NULL ? v : "NULL");
	db_result_free(r);
	return buf;
}

/* testdb_one() as a number (strtoll). */
long long
testdb_one_int(struct db *db, const char *sql, int n, const char *const *p)
{
	return strtoll(testdb_one(db, sql, n, p), NULL, 10);
}
