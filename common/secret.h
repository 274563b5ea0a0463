/* secret.h: small secrets (printer access codes, the Spoolman password) encrypted at rest with a key file. */
#ifndef COMMON_SECRET_H
#define COMMON_SECRET_H

#include <stddef.h>

#define SECRET_KEY_BYTES	32	/* crypto_aead_xchacha20poly1305_ietf_KEYBYTES */
#define SECRET_PREFIX		"v1:"	/* an encrypted value: "v1:" + base64(nonce || ciphertext || tag) */
#define SECRET_PLAIN_MAX	512	/* bytes; the value then fits the schema's 1024-character limit */

/* The purposes (associated data) of the values the programs encrypt: a ciphertext only opens in its column. */
#define SECRET_ACCESS_CODE	"printers.access_code"
#define SECRET_SPOOLMAN_PASSWORD "settings.spoolman_password"
#define SECRET_WEBHOOK_SECRET	"settings.webhook_secret"

/* A loaded key (opaque): in locked, read-only memory (sodium_malloc); zeroed by secret_key_free(). */
struct secret_key;

/*
 * Creates a new key file at path: SECRET_KEY_BYTES from the CSPRNG as 64 lower-case hex digits and a newline,
 * mode 0600, created with O_EXCL and synced.  Never overwrites: returns 1 (nothing written) when path exists,
 * 0 when the file was created, -1 with err (ERRBUF_LEN) set otherwise.  The directory must exist.
 */
int	 secret_key_create(const char *path, char *err) __attribute__((warn_unused_result));

/*
 * Reads the key file at path into *kp (new; secret_key_free() it).  Refuses a file that is not a regular file,
 * that group or others may read or write (mode & 077), or that is not exactly 64 hex digits with an optional
 * newline.  Returns 0, or -1 with *kp NULL and err set to one line naming the file, never its content ("no key
 * file at PATH: run `spoolkeeper key init`" when it does not exist; errno is then ENOENT).
 */
int	 secret_key_load(const char *path, struct secret_key **kp, char *err)
	    __attribute__((warn_unused_result));

/* Zeroes and frees a key; NULL is allowed. */
void	 secret_key_free(struct secret_key *);

/*
 * Encrypts plain (at most SECRET_PLAIN_MAX bytes) with XChaCha20-Poly1305 under a new random nonce, with purpose
 * (SECRET_ACCESS_CODE...) as associated data.  *out becomes a new string "v1:" + base64 (with padding) of the
 * 24-byte nonce, the ciphertext and the 16-byte tag; the caller frees it.  Returns 0, or -1 with err set (no key,
 * a value too long); err never holds the plain text.
 */
int	 secret_encrypt(const struct secret_key *, const char *purpose, const char *plain, char **out,
	    char *err) __attribute__((warn_unused_result));

/*
 * Decrypts a value of secret_encrypt() made for the same purpose.  *out becomes the new plain text (free it with
 * secret_wipe_free()).  Returns 0, or -1 with *out NULL and err set to one line: no key, no "v1:" prefix, bad
 * base64, too short, a NUL inside, or "cannot decrypt PURPOSE: wrong key file or tampered value" when the
 * authentication fails (another key, another purpose, any changed byte).
 */
int	 secret_decrypt(const struct secret_key *, const char *purpose, const char *enc, char **out,
	    char *err) __attribute__((warn_unused_result));

/*
 * The secret of a column pair as the schema keeps it (printers: access_code_enc, or the plain access_code of a
 * row from before encryption): enc decrypted when it is not NULL, else a copy of plain.  *out is new (free it
 * with secret_wipe_free()).  0, or -1 with err set as secret_decrypt() (also when both are NULL).
 */
int	 secret_open(const struct secret_key *, const char *purpose, const char *plain, const char *enc,
	    char **out, char *err) __attribute__((warn_unused_result));

/* 1 when value starts with "v1:" (an encrypted value), else 0; NULL gives 0. */
int	 secret_is_encrypted(const char *value);

/* Overwrites a plain-text string with zeros and frees it; NULL is allowed. */
void	 secret_wipe_free(char *plain);

#endif
