/* password.h: password hashing (libsodium Argon2id), verification and the rules a new password must meet. */
#ifndef COMMON_PASSWORD_H
#define COMMON_PASSWORD_H

#include <stddef.h>

#define PASSWORD_HASH_MAX	128	/* crypto_pwhash_STRBYTES */
#define PASSWORD_MIN_LEN	8	/* ASVS 6.2.1 */
#define PASSWORD_MAX_LEN	256	/* bytes; longer ones are refused, not truncated */

/*
 * Hashes a password with crypto_pwhash_str: Argon2id, opslimit 2, memlimit 64 MiB (libsodium's INTERACTIVE; above
 * OWASP's minimum of 19 MiB, t=2).  out receives the "$argon2id$v=19$m=65536,t=2,p=1$..." string.  Returns 0, or -1
 * with err (ERRBUF_LEN) set when memory runs out.  Takes ~0.1 s and 64 MiB: callers bound how many run at once.
 */
int	 password_hash(const char *password, char out[PASSWORD_HASH_MAX], char *err)
	    __attribute__((warn_unused_result));

/* 1 if password matches hash, 0 if not (also for a malformed hash).  Same cost as password_hash(). */
int	 password_verify(const char *hash, const char *password);

/*
 * Spends the time of one verification against a fixed hash, so that a login for an unknown user takes as long as
 * one for a known user (no user enumeration by timing).
 */
void	 password_dummy_verify(const char *password);

/* 1 if hash was made with other parameters than password_hash() uses now (rehash at the next login), else 0. */
int	 password_needs_rehash(const char *hash);

/*
 * Checks a new password against the rules (ASVS 6.2): PASSWORD_MIN_LEN to PASSWORD_MAX_LEN bytes, valid UTF-8
 * without control characters, not one of the most common passwords, not the user name.  No composition rules.
 * Returns 0, or -1 with err set to a sentence for the user.
 */
int	 password_acceptable(const char *password, const char *username, char *err)
	    __attribute__((warn_unused_result));

#endif
