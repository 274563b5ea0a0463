/* session_cache.h: the sessions one process checked in the last second, so that a dashboard poll costs no query. */
#ifndef WEB_SESSION_CACHE_H
#define WEB_SESSION_CACHE_H

#include <stddef.h>

#include "app.h"
#include "token.h"

/*
 * Finds the session whose token hashes to hash, checked by the database less than ttl_ms ago and under the
 * current epoch_now() (no write request of any process since).  On a hit fills *user and csrf (csrfsz bytes)
 * and returns 1; else 0.
 */
int	 session_cache_get(const unsigned char hash[TOKEN_HASH_LEN], long ttl_ms, struct app_user *user,
	    char *csrf, size_t csrfsz);

/* Keeps a session the database has just accepted; epoch is epoch_now() from before that query. */
void	 session_cache_put(const unsigned char hash[TOKEN_HASH_LEN], unsigned long epoch,
	    const struct app_user *user, const char *csrf);

/* Forgets the session whose token hashes to hash (the database refused it). */
void	 session_cache_drop(const unsigned char hash[TOKEN_HASH_LEN]);

#endif
