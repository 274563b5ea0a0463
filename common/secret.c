/* secret.c: XChaCha20-Poly1305 encryption of small secrets under a key kept in a file outside the database. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "errbuf.h"
#include "secret.h"
#include "token.h"
#include "xmalloc.h"

#define NONCE_BYTES	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES	/* 24 */
#define TAG_BYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES	/* 16 */
#define HEX_LEN		(2 * SECRET_KEY_BYTES)
#define PREFIX_LEN	(sizeof(SECRET_PREFIX) - 1)
#define B64_VARIANT	sodium_base64_VARIANT_ORIGINAL
#define FILE_MAX	(HEX_LEN + 3)	/* read a little more than a key file may hold */

struct secret_key {
	unsigned char	 k[SECRET_KEY_BYTES];
};

/* Writes all of buf to fd.  0, or -1 with errno set. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
secret_key_create(const char *path, char *err)
{
	unsigned char	 raw[SECRET_KEY_BYTES];
	char		 hex[HEX_LEN + 2];
	int		 fd, saved;

	if (crypto_ready() == -1)
		return errbuf_set(err, "libsodium cannot start (no entropy source?)");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600)) == -1) {
		if (errno == EEXIST)
			return 1;
		return errbuf_set(err, "cannot create the key file %s: %s", path, strerror(errno));
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, HEX_LEN + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	hex[HEX_LEN] = '\n';
	hex[HEX_LEN + 1] = '\0';
	/* The umask may have taken the owner's bits away too: 0600 exactly. */
	if (fchmod(fd, 0600) == -1 || write_all(fd, hex, HEX_LEN + 1) == -1 || fsync(fd) == -1) {
		saved = errno;
		sodium_memzero(hex, sizeof(hex));
		close(fd);
		unlink(path);
		return errbuf_set(err, "cannot write the key file %s: %s", path, strerror(saved));
	}
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) == -1) {
		saved = errno;
		unlink(path);
		return errbuf_set(err, "cannot write the key file %s: %s", path, strerror(saved));
	}
	return 0;
}

/* Opens the key file and checks its type and mode.  The descriptor, or -1 with err set (errno kept). */
static int
open_key_file(const char *path, char *err)
{
	struct stat	 st;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		saved = errno;
		if (saved == ENOENT)
			errbuf_set(err, "no key file at %s: run `spoolkeeper key init`", path);
		else
			errbuf_set(err, "cannot read the key file %s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		errbuf_set(err, "cannot read the key file %s: %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(err, "the key file %s is not a regular file", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		errbuf_set(err, "the key file %s may be read or changed by others (mode %04o): run "
		    "chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Reads up to FILE_MAX bytes of fd into buf (FILE_MAX + 1 bytes).  The length, or -1 with errno set. */
static ssize_t
read_some(int fd, char *buf)
{
	size_t	 len = 0;
	ssize_t	 n;

	while (len < FILE_MAX) {
		if ((n = read(fd, buf + len, FILE_MAX - len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* Parses 64 hex digits and an optional newline into k.  0 or -1. */
static int
parse_key(const char *buf, size_t len, unsigned char *k)
{
	size_t	 i, bin_len;

	if (len == HEX_LEN + 1 && buf[HEX_LEN] == '\n')
		len = HEX_LEN;
	if (len != HEX_LEN)
		return -1;
	for (i = 0; i < HEX_LEN; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f') ||
		    (buf[i] >= 'A' && buf[i] <= 'F')))
			return -1;
	if (sodium_hex2bin(k, SECRET_KEY_BYTES, buf, HEX_LEN, NULL, &bin_len, NULL) != 0 ||
	    bin_len != SECRET_KEY_BYTES)
		return -1;
	return 0;
}

int
secret_key_load(const char *path, struct secret_key **kp, char *err)
{
	struct secret_key	*k;
	char			 buf[FILE_MAX + 1];
	ssize_t			 len;
	int			 fd, saved;

	*kp = NULL;
	if (crypto_ready() == -1) {
		errno = EIO;
		return errbuf_set(err, "libsodium cannot start (no entropy source?)");
	}
	if ((fd = open_key_file(path, err)) == -1)
		return -1;
	len = read_some(fd, buf);
	saved = errno;
	close(fd);
	if (len == -1) {
		errno = saved;
		return errbuf_set(err, "cannot read the key file %s: %s", path, strerror(saved));
	}
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		sodium_memzero(buf, sizeof(buf));
		errno = ENOMEM;
		return errbuf_set(err, "cannot lock memory for the key");
	}
	if (parse_key(buf, (size_t)len, k->k) == -1) {
		sodium_memzero(buf, sizeof(buf));
		sodium_free(k);
		errno = EINVAL;
		return errbuf_set(err, "%s is not a Spoolkeeper key file (64 hexadecimal digits and a newline, "
		    "as `spoolkeeper key init` writes)", path);
	}
	sodium_memzero(buf, sizeof(buf));
	sodium_mprotect_readonly(k);
	*kp = k;
	return 0;
}

void
secret_key_free(struct secret_key *k)
{
	if (k != NULL)
		sodium_free(k);	/* makes it writable again and zeroes it */
}

int
secret_encrypt(const struct secret_key *k, const char *purpose, const char *plain, char **out,
    char *err)
{
	unsigned char	*raw;
	size_t		 plen = strlen(plain), rlen, b64len;
	unsigned long long clen;
	char		*s;

	*out = NULL;
	if (k == NULL)
		return errbuf_set(err, "cannot encrypt %s: no key file was loaded", purpose);
	if (plen > SECRET_PLAIN_MAX)
		return errbuf_set(err, "cannot encrypt %s: longer than %d bytes", purpose, SECRET_PLAIN_MAX);
	rlen = NONCE_BYTES + plen + TAG_BYTES;
	raw = xmalloc(rlen);
	randombytes_buf(raw, NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE_BYTES, &clen, (const unsigned char *)plain,
	    plen, (const unsigned char *)purpose, strlen(purpose), NULL, raw, k->k);
	b64len = sodium_base64_ENCODED_LEN(rlen, B64_VARIANT);
	s = xmalloc(PREFIX_LEN + b64len);
	memcpy(s, SECRET_PREFIX, PREFIX_LEN);
	sodium_bin2base64(s + PREFIX_LEN, b64len, raw, NONCE_BYTES + (size_t)clen, B64_VARIANT);
	free(raw);
	*out = s;
	return 0;
}

/* Decodes the base64 after the prefix into new memory.  0 with *rawp and *rlen, or -1 with err set. */
static int
decode(const char *purpose, const char *b64, unsigned char **rawp, size_t *rlen, char *err)
{
	unsigned char	*raw;
	size_t		 len = strlen(b64), max = len / 4 * 3 + 3;
	const char	*end;

	*rawp = NULL;
	raw = xmalloc(max);
	if (sodium_base642bin(raw, max, b64, len, NULL, rlen, &end, B64_VARIANT) != 0 ||
	    end != b64 + len) {
		free(raw);
		return errbuf_set(err, "cannot decrypt %s: the value is damaged (not base64)", purpose);
	}
	if (*rlen < NONCE_BYTES + TAG_BYTES) {
		free(raw);
		return errbuf_set(err, "cannot decrypt %s: the value is damaged (too short)", purpose);
	}
	*rawp = raw;
	return 0;
}

int
secret_decrypt(const struct secret_key *k, const char *purpose, const char *enc, char **out,
    char *err)
{
	unsigned char	*raw, *plain;
	size_t		 rlen;
	unsigned long long plen;
	int		 rc;

	*out = NULL;
	if (k == NULL)
		return errbuf_set(err, "cannot decrypt %s: no key file was loaded", purpose);
	if (!secret_is_encrypted(enc))
		return errbuf_set(err, "cannot decrypt %s: not an encrypted value (no %s prefix)", purpose,
		    SECRET_PREFIX);
	if (decode(purpose, enc + PREFIX_LEN, &raw, &rlen, err) == -1)
		return -1;
	plain = xmalloc(rlen - NONCE_BYTES - TAG_BYTES + 1);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, raw + NONCE_BYTES,
	    rlen - NONCE_BYTES, (const unsigned char *)purpose, strlen(purpose), raw, k->k);
	free(raw);
	if (rc != 0) {
		free(plain);
		return errbuf_set(err, "cannot decrypt %s: wrong key file or tampered value", purpose);
	}
	plain[plen] = '\0';
	if (memchr(plain, '\0', (size_t)plen) != NULL) {
		sodium_memzero(plain, (size_t)plen);
		free(plain);
		return errbuf_set(err, "cannot decrypt %s: the plain text holds a NUL byte", purpose);
	}
	*out = (char *)plain;
	return 0;
}

int
secret_open(const struct secret_key *k, const char *purpose, const char *plain, const char *enc,
    char **out, char *err)
{
	*out = NULL;
	if (enc != NULL)
		return secret_decrypt(k, purpose, enc, out, err);
	if (plain == NULL)
		return errbuf_set(err, "%s: no value stored", purpose);
	*out = xstrdup(plain);
	return 0;
}

int
secret_is_encrypted(const char *value)
{
	return value != NULL && strncmp(value, SECRET_PREFIX, PREFIX_LEN) == 0;
}

void
secret_wipe_free(char *plain)
{
	if (plain == NULL)
		return;
	sodium_memzero(plain, strlen(plain));
	free(plain);
}
