/* token.c: random tokens (libsodium's CSPRNG) and their SHA-256 for storage. */
#include <string.h>

#include <sodium.h>

#include "token.h"

int
crypto_ready(void)
{
	/* sodium_init() returns 1 when already initialised; it is thread-safe. */
	return sodium_init() < 0 ? -1 : 0;
}

int
token_new(char hex[TOKEN_HEX_LEN + 1])
{
	unsigned char	 raw[TOKEN_BYTES];

	if (crypto_ready() == -1)
		return -1;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, TOKEN_HEX_LEN + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void
token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN])
{
	crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

int
token_well_formed(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < TOKEN_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

int
token_equal(const char *a, const char *b)
{
	size_t	 n = strlen(a);

	if (n != strlen(b))
		return 0;
	return sodium_memcmp(a, b, n) == 0;
}

void
token_hash_param(const unsigned char hash[TOKEN_HASH_LEN], char out[2 * TOKEN_HASH_LEN + 3])
{
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 2 * TOKEN_HASH_LEN + 1, hash, TOKEN_HASH_LEN);
}
