/* testdb.h: SQL helpers of the Check programs that run on a database (tests/db, tests/worker). */
#ifndef TESTDB_H
#define TESTDB_H

struct db;

/* A parameter list: PARAMS("a", NULL) gives the count and the array. */
#define PARAMS(...) \
	(int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)), \
	(const char *[]){ __VA_ARGS__ }

void		 testdb_ok(struct db *, const char *, int, const char *const *);
const char	*testdb_one(struct db *, const char *, int,
		    const char *const *);
long long	 testdb_one_int(struct db *, const char *, int,
		    const char *const *);

#endif
