/* password.c: Argon2id password hashes with libsodium, and the checks on a new password. */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "errbuf.h"
#include "password.h"
#include "token.h"

#define OPSLIMIT	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEMLIMIT	crypto_pwhash_MEMLIMIT_INTERACTIVE

/*
 * The most common passwords of at least PASSWORD_MIN_LEN characters (from the public top lists: SecLists'
 * 10-million-password-list-top-1000, NCSC's 100k list), compared without regard to case.
 */
static const char *const common_passwords[] = {
	"password", "password1", "password12", "password123", "password1234", "passw0rd", "p@ssw0rd", "p@ssword",
	"12345678", "123456789", "1234567890", "12345678910", "123123123", "987654321", "11111111", "00000000",
	"88888888", "66666666", "12341234", "11223344", "qwertyuiop", "qwerty123", "qwerty12", "qwertyui",
	"1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "zaq12wsx", "asdfghjkl", "asdfasdf", "zxcvbnm1", "iloveyou",
	"iloveyou1", "sunshine", "princess", "football", "baseball", "welcome1", "welcome123", "trustno1",
	"superman", "starwars", "whatever", "computer", "michelle", "jennifer", "corvette", "mercedes",
	"abcd1234", "abc12345", "abcdefgh", "letmein1", "changeme", "administrator", "admin123", "admin1234",
	"adminadmin", "rootroot", "spoolman", "spoolkeeper", "bambulab", "printer1", "3dprinter", "aa123456",
	"qazwsxedc", "1234qwer", "q1w2e3r4", "q1w2e3r4t5", "passport", "maverick", "internet", "samsung1",
	"chocolate", "butterfly", "liverpool", "jordan23", "midnight", "charlie1", "shadow12", "master12",
	"monkey12", "dragon12", "access14", "killer12", "hello123", "freedom1", "whatever1", "secret12",
};

int
password_hash(const char *password, char out[PASSWORD_HASH_MAX], char *err)
{
	if (crypto_ready() == -1) {
		errbuf_set(err, "password: libsodium cannot start");
		return -1;
	}
	if (crypto_pwhash_str(out, password, strlen(password), OPSLIMIT, MEMLIMIT) != 0) {
		errbuf_set(err, "password: out of memory while hashing");
		return -1;
	}
	return 0;
}

int
password_verify(const char *hash, const char *password)
{
	if (crypto_ready() == -1 || hash == NULL || strlen(hash) >= crypto_pwhash_STRBYTES)
		return 0;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void
password_dummy_verify(const char *password)
{
	static char	 dummy[PASSWORD_HASH_MAX];

	if (dummy[0] == '\0') {
		char	 err[ERRBUF_LEN];

		if (password_hash("spoolkeeper dummy password", dummy, err) == -1)
			return;
	}
	(void)password_verify(dummy, password);
}

int
password_needs_rehash(const char *hash)
{
	if (crypto_ready() == -1)
		return 0;
	return crypto_pwhash_str_needs_rehash(hash, OPSLIMIT, MEMLIMIT) != 0;
}

/* 1 if s is valid UTF-8 without control characters (C0, DEL, C1). */
static int
clean_utf8(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t	 n, i;
		unsigned cp;

		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp <= 0x9f))
			return 0;
		p += n + 1;
	}
	return 1;
}

int
password_acceptable(const char *password, const char *username, char *err)
{
	size_t	 len = strlen(password), i;

	if (len < PASSWORD_MIN_LEN) {
		errbuf_set(err, "the password must have at least %d characters", PASSWORD_MIN_LEN);
		return -1;
	}
	if (len > PASSWORD_MAX_LEN) {
		errbuf_set(err, "the password must have at most %d bytes", PASSWORD_MAX_LEN);
		return -1;
	}
	if (!clean_utf8(password)) {
		errbuf_set(err, "the password must be UTF-8 text without control characters");
		return -1;
	}
	if (username != NULL && strcasecmp(password, username) == 0) {
		errbuf_set(err, "the password must not be the user name");
		return -1;
	}
	for (i = 0; i < sizeof(common_passwords) / sizeof(common_passwords[0]); i++)
		if (strcasecmp(password, common_passwords[i]) == 0) {
			errbuf_set(err, "this password is one of the most common ones; choose another");
			return -1;
		}
	return 0;
}
