/* token.h: random tokens for sessions, CSRF and setup, and the hash under which the database keeps them. */
#ifndef COMMON_TOKEN_H
#define COMMON_TOKEN_H

#include <stddef.h>

#define TOKEN_BYTES	32			/* 256 bits from the CSPRNG */
#define TOKEN_HEX_LEN	(2 * TOKEN_BYTES)	/* characters, without the NUL */
#define TOKEN_HASH_LEN	32			/* SHA-256 */

/*
 * Initialises libsodium (sodium_init) once for the process; safe to call again.  Returns 0, or -1 when the
 * library cannot start (no entropy source).  token_new(), the password and secret functions call it themselves.
 */
int	 crypto_ready(void) __attribute__((warn_unused_result));

/* A new random token: TOKEN_HEX_LEN lower-case hex digits and a NUL into hex.  0, or -1 when crypto_ready() fails. */
int	 token_new(char hex[TOKEN_HEX_LEN + 1]) __attribute__((warn_unused_result));

/* The SHA-256 of a token's text, as stored in sessions.token_hash and setup_tokens.token_hash. */
void	 token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN]);

/*
 * 1 if s is exactly TOKEN_HEX_LEN lower-case hex digits, else 0: a cheap check before any database lookup, so
 * that a malformed cookie never costs a query.
 */
int	 token_well_formed(const char *s);

/* Constant-time comparison of two strings of the same length (sodium_memcmp); 1 if equal, else 0. */
int	 token_equal(const char *a, const char *b);

/* The hash as "\\x" and 64 hex digits: a bytea parameter in text form for db_exec().  out holds 67 bytes. */
void	 token_hash_param(const unsigned char hash[TOKEN_HASH_LEN], char out[2 * TOKEN_HASH_LEN + 3]);

#endif
