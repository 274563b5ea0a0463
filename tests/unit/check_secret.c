/* check_secret.c: unit tests of common/secret.c: key files, encryption round trips and refused values. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "errbuf.h"
#include "secret.h"
#include "../harness/ckrun.h"

static char			 dir[64];
static char			 path[256], path2[256];
static struct secret_key	*key, *key2;

/* A fresh directory with two new keys, loaded. */
static void
setup(void)
{
	char	err[ERRBUF_LEN];

	snprintf(dir, sizeof(dir), "/tmp/check_secret.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	snprintf(path2, sizeof(path2), "%s/other.key", dir);
	ck_assert_msg(secret_key_create(path, err) == 0, "create: %s", err);
	ck_assert_msg(secret_key_create(path2, err) == 0, "create: %s", err);
	ck_assert_msg(secret_key_load(path, &key, err) == 0, "load: %s", err);
	ck_assert_msg(secret_key_load(path2, &key2, err) == 0, "load: %s", err);
}

static void
teardown(void)
{
	char	cmd[300];

	secret_key_free(key);
	secret_key_free(key2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to dir/name with mode; returns the path (static). */
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char	 p[256];
	FILE		*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(p, mode), 0);
	return p;
}

START_TEST(key_file_format)
{
	struct stat	 st;
	char		 buf[100];
	FILE		*f;
	size_t		 n, i;

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_uint_eq(n, 65);
	ck_assert_int_eq(buf[64], '\n');
	for (i = 0; i < 64; i++)
		ck_assert_msg(strchr("0123456789abcdef", buf[i]) != NULL, "byte %zu", i);
}
END_TEST

START_TEST(round_trip)
{
	static const char *const plains[] = { "12345678", "", "é ü ß and a long one: "
	    "0123456789012345678901234567890123456789012345678901234567890123456789" };
	char	*enc, *dec, err[ERRBUF_LEN];
	size_t	 i;

	for (i = 0; i < sizeof(plains) / sizeof(plains[0]); i++) {
		ck_assert_msg(secret_encrypt(key, SECRET_ACCESS_CODE, plains[i], &enc, err) == 0, "%s", err);
		ck_assert(secret_is_encrypted(enc));
		ck_assert_ptr_null(strstr(enc, plains[i][0] != '\0' ? plains[i] : "no such"));
		ck_assert_msg(secret_decrypt(key, SECRET_ACCESS_CODE, enc, &dec, err) == 0, "%s", err);
		ck_assert_str_eq(dec, plains[i]);
		secret_wipe_free(dec);
		free(enc);
	}
}
END_TEST

START_TEST(fits_the_schema)
{
	char	 plain[SECRET_PLAIN_MAX + 2], *enc, err[ERRBUF_LEN];
	size_t	 i;

	memset(plain, 'x', SECRET_PLAIN_MAX);
	plain[SECRET_PLAIN_MAX] = '\0';
	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, plain, &enc, err), 0);
	/* printers_access_code_enc_check: ^v1:[A-Za-z0-9+/]+={0,2}$ and at most 1024 characters. */
	ck_assert_uint_le(strlen(enc), 1024);
	ck_assert(strncmp(enc, "v1:", 3) == 0);
	for (i = 3; enc[i] != '\0' && enc[i] != '='; i++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", enc[i]) != NULL);
	ck_assert(strspn(enc + i, "=") == strlen(enc + i) && strlen(enc + i) <= 2);
	free(enc);
	plain[SECRET_PLAIN_MAX] = 'x';
	plain[SECRET_PLAIN_MAX + 1] = '\0';
	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, plain, &enc, err), -1);
	ck_assert_ptr_null(enc);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
}
END_TEST

START_TEST(new_nonce_each_time)
{
	char	*a, *b, err[ERRBUF_LEN];

	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, "12345678", &a, err), 0);
	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, "12345678", &b, err), 0);
	ck_assert_str_ne(a, b);
	/* The first 24 bytes (32 base64 characters) are the nonce. */
	ck_assert(strncmp(a + 3, b + 3, 32) != 0);
	free(a);
	free(b);
}
END_TEST

/* Every changed character of the text, and every changed byte under the base64, is refused. */
START_TEST(tampering_refused)
{
	unsigned char	 raw[200];
	char		*enc, *dec, *t, err[ERRBUF_LEN], b64[300];
	size_t		 i, len, rlen;

	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, "Acc355x1", &enc, err), 0);
	len = strlen(enc);
	t = strdup(enc);
	for (i = 0; i < len; i++) {
		memcpy(t, enc, len + 1);
		t[i] ^= 0x01;
		ck_assert_msg(secret_decrypt(key, SECRET_ACCESS_CODE, t, &dec, err) == -1, "char %zu", i);
		ck_assert_ptr_null(dec);
		ck_assert_ptr_null(strstr(err, "Acc355x1"));
	}
	ck_assert_int_eq(sodium_base642bin(raw, sizeof(raw), enc + 3, len - 3, NULL, &rlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	for (i = 0; i < rlen; i++) {
		raw[i] ^= 0x80;
		memcpy(b64, "v1:", 3);
		sodium_bin2base64(b64 + 3, sizeof(b64) - 3, raw, rlen, sodium_base64_VARIANT_ORIGINAL);
		raw[i] ^= 0x80;
		ck_assert_msg(secret_decrypt(key, SECRET_ACCESS_CODE, b64, &dec, err) == -1, "byte %zu", i);
		ck_assert_str_eq(err, "cannot decrypt printers.access_code: wrong key file or tampered value");
	}
	/* Cut short, or with a byte added. */
	memcpy(t, enc, len + 1);
	t[len - 4] = '\0';
	ck_assert_int_eq(secret_decrypt(key, SECRET_ACCESS_CODE, t, &dec, err), -1);
	ck_assert_int_eq(secret_decrypt(key, SECRET_ACCESS_CODE, "v1:AAAA", &dec, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too short"));
	free(t);
	free(enc);
}
END_TEST

START_TEST(wrong_purpose_or_key)
{
	char	*enc, *dec, err[ERRBUF_LEN];

	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, "12345678", &enc, err), 0);
	ck_assert_int_eq(secret_decrypt(key, SECRET_SPOOLMAN_PASSWORD, enc, &dec, err), -1);
	ck_assert_str_eq(err, "cannot decrypt settings.spoolman_password: wrong key file or tampered value");
	ck_assert_int_eq(secret_decrypt(key2, SECRET_ACCESS_CODE, enc, &dec, err), -1);
	ck_assert_str_eq(err, "cannot decrypt printers.access_code: wrong key file or tampered value");
	ck_assert_int_eq(secret_decrypt(NULL, SECRET_ACCESS_CODE, enc, &dec, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no key file was loaded"));
	ck_assert_ptr_null(dec);
	free(enc);
}
END_TEST

START_TEST(bad_values)
{
	char	*dec, err[ERRBUF_LEN];

	ck_assert_int_eq(secret_decrypt(key, SECRET_ACCESS_CODE, "12345678", &dec, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not an encrypted value"));
	ck_assert_ptr_null(strstr(err, "12345678"));
	ck_assert_int_eq(secret_decrypt(key, SECRET_ACCESS_CODE, "v1:not base64!", &dec, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not base64"));
	ck_assert_int_eq(secret_decrypt(key, SECRET_ACCESS_CODE, "v1:", &dec, err), -1);
	ck_assert(!secret_is_encrypted(NULL));
	ck_assert(!secret_is_encrypted("v2:abc"));
	ck_assert(secret_is_encrypted("v1:abc"));
}
END_TEST

START_TEST(open_column_pair)
{
	char	*enc, *dec, err[ERRBUF_LEN];

	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, "from enc", &enc, err), 0);
	ck_assert_int_eq(secret_open(key, SECRET_ACCESS_CODE, NULL, enc, &dec, err), 0);
	ck_assert_str_eq(dec, "from enc");
	secret_wipe_free(dec);
	/* A legacy row: the plain column, with or without a key. */
	ck_assert_int_eq(secret_open(NULL, SECRET_ACCESS_CODE, "legacy", NULL, &dec, err), 0);
	ck_assert_str_eq(dec, "legacy");
	secret_wipe_free(dec);
	ck_assert_int_eq(secret_open(key, SECRET_ACCESS_CODE, NULL, NULL, &dec, err), -1);
	ck_assert_int_eq(secret_open(key2, SECRET_ACCESS_CODE, NULL, enc, &dec, err), -1);
	ck_assert_ptr_null(dec);
	free(enc);
}
END_TEST

START_TEST(create_never_overwrites)
{
	struct secret_key	*k;
	char			*enc, *dec, err[ERRBUF_LEN];

	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, "12345678", &enc, err), 0);
	ck_assert_int_eq(secret_key_create(path, err), 1);
	ck_assert_int_eq(secret_key_load(path, &k, err), 0);
	ck_assert_int_eq(secret_decrypt(k, SECRET_ACCESS_CODE, enc, &dec, err), 0);
	secret_wipe_free(dec);
	secret_key_free(k);
	free(enc);
	ck_assert_int_eq(secret_key_create("/nonexistent-dir/secret.key", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot create the key file"));
}
END_TEST

START_TEST(readable_key_refused)
{
	struct secret_key	*k = (struct secret_key *)&k;
	char			 err[ERRBUF_LEN];

	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(secret_key_load(path, &k, err), -1);
	ck_assert_ptr_null(k);
	ck_assert_ptr_nonnull(strstr(err, "may be read or changed by others (mode 0644): run chmod 600"));
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(secret_key_load(path, &k, err), -1);
	ck_assert_int_eq(chmod(path, 0602), 0);
	ck_assert_int_eq(secret_key_load(path, &k, err), -1);
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_msg(secret_key_load(path, &k, err) == 0, "%s", err);
	secret_key_free(k);
}
END_TEST

START_TEST(bad_key_files_refused)
{
	static const char *const bad[] = {
		"",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",	/* 63 digits */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\n",	/* 65 */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n",
		" 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
		"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n",
	};
	struct secret_key	*k;
	char			 err[ERRBUF_LEN];
	const char		*p;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = write_file("bad.key", bad[i], 0600);
		ck_assert_msg(secret_key_load(p, &k, err) == -1, "case %zu", i);
		ck_assert_ptr_null(k);
		ck_assert_msg(strstr(err, "is not a Spoolkeeper key file") != NULL, "case %zu: %s", i, err);
		unlink(p);
	}
	/* Without the newline, and in upper case, it is still the key. */
	p = write_file("ok.key", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", 0600);
	ck_assert_msg(secret_key_load(p, &k, err) == 0, "%s", err);
	secret_key_free(k);
	ck_assert_int_eq(secret_key_load(dir, &k, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(missing_key_file)
{
	struct secret_key	*k;
	char			 p[300], err[ERRBUF_LEN], want[400];

	snprintf(p, sizeof(p), "%s/none.key", dir);
	errno = 0;
	ck_assert_int_eq(secret_key_load(p, &k, err), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(k);
	snprintf(want, sizeof(want), "no key file at %s: run `spoolkeeper key init`", p);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(conf_key_file_env)
{
	ck_assert_int_eq(setenv(CONF_KEY_FILE_ENV, "/etc/spoolkeeper/secret.key", 1), 0);
	ck_assert_str_eq(conf_key_file(), "/etc/spoolkeeper/secret.key");
	ck_assert_int_eq(setenv(CONF_KEY_FILE_ENV, "", 1), 0);
	ck_assert_ptr_nonnull(strstr(conf_key_file(), "/var/secret.key"));
	ck_assert_int_eq(unsetenv(CONF_KEY_FILE_ENV), 0);
	ck_assert_ptr_nonnull(strstr(conf_key_file(), "/var/secret.key"));
}
END_TEST

static Suite *
secret_suite(void)
{
	Suite	*s = suite_create("secret");

	suite_add_tcase(s, ck_tcase("key_file_format", key_file_format, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("round_trip", round_trip, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("fits_the_schema", fits_the_schema, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("new_nonce_each_time", new_nonce_each_time, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("tampering_refused", tampering_refused, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("wrong_purpose_or_key", wrong_purpose_or_key, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("bad_values", bad_values, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("open_column_pair", open_column_pair, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("create_never_overwrites", create_never_overwrites, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("readable_key_refused", readable_key_refused, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("bad_key_files_refused", bad_key_files_refused, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("missing_key_file", missing_key_file, setup, teardown, 0));
	suite_add_tcase(s, ck_tcase("conf_key_file_env", conf_key_file_env, NULL, NULL, 0));
	return s;
}

int
main(void)
{
	return ck_run(secret_suite());
}
