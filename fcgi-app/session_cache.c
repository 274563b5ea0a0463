/* session_cache.c: the sessions one process checked in the last second, so that a dashboard poll costs no query. */
#include <stdio.h>
#include <string.h>

#include "epoch.h"
#include "monoclock.h"
#include "session_cache.h"

#define SLOTS	64	/* sessions one process keeps; the oldest goes first */

struct entry {
	unsigned char		 hash[TOKEN_HASH_LEN];
	int			 used;
	unsigned long		 epoch;
	long long		 at;	/* monoclock_ms() when it was checked */
	struct app_user		 user;
	char			 csrf[65];
};

static struct entry	 slots[SLOTS];

static struct entry *
find(const unsigned char hash[TOKEN_HASH_LEN])
{
	int	 i;

	for (i = 0; i < SLOTS; i++)
		if (slots[i].used && memcmp(slots[i].hash, hash, TOKEN_HASH_LEN) == 0)
			return &slots[i];
	return NULL;
}

int
session_cache_get(const unsigned char hash[TOKEN_HASH_LEN], long ttl_ms, struct app_user *user, char *csrf,
    size_t csrfsz)
{
	struct entry	*e;

	if (ttl_ms <= 0 || (e = find(hash)) == NULL)
		return 0;
	if (e->epoch != epoch_now() || monoclock_ms() - e->at >= ttl_ms) {
		e->used = 0;
		return 0;
	}
	*user = e->user;
	snprintf(csrf, csrfsz, "%s", e->csrf);
	return 1;
}

void
session_cache_put(const unsigned char hash[TOKEN_HASH_LEN], unsigned long epoch, const struct app_user *user,
    const char *csrf)
{
	struct entry	*e, *oldest = &slots[0];
	int		 i;

	if ((e = find(hash)) == NULL) {
		for (i = 0; i < SLOTS && e == NULL; i++) {
			if (!slots[i].used)
				e = &slots[i];
			else if (slots[i].at < oldest->at)
				oldest = &slots[i];
		}
		if (e == NULL)
			e = oldest;
	}
	memcpy(e->hash, hash, TOKEN_HASH_LEN);
	e->used = 1;
	e->epoch = epoch;
	e->at = monoclock_ms();
	e->user = *user;
	snprintf(e->csrf, sizeof(e->csrf), "%s", csrf);
}

void
session_cache_drop(const unsigned char hash[TOKEN_HASH_LEN])
{
	struct entry	*e;

	if ((e = find(hash)) != NULL)
		e->used = 0;
}
