/* check_log.c: unit tests of common/log.c: the line format, journald's form, levels and the threshold. */
#include <check.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "../harness/ckrun.h"

static char	 path[64];
static int	 saved_fd = -1;

/* Sends fd 2 to a new temporary file (restored by stop_capture). */
static void
start_capture(void)
{
	int	 fd;

	snprintf(path, sizeof(path), "/tmp/check_log.XXXXXX");
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_ge(saved_fd = dup(2), 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
}

/* Restores fd 2 and returns what was written meanwhile (static). */
static const char *
stop_capture(void)
{
	static char	 text[8192];
	FILE		*f;
	size_t		 n;

	ck_assert_int_eq(dup2(saved_fd, 2), 2);
	close(saved_fd);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(path);
	return text;
}

static int
matches(const char *re, const char *s)
{
	regex_t	 r;
	int	 ok;

	ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

START_TEST(format_plain)
{
	char	 buf[256];
	size_t	 n;

	/* 2026-11-24 09:56:14 UTC */
	n = log_format(buf, sizeof(buf), 1795514174, 0, LOGL_WARN, 3, 17,
	    "outbox: Spoolman answered 503, retry in 8 s");
	ck_assert_str_eq(buf, "2026-11-24T09:56:14Z warn printer=3 job=17: outbox: Spoolman answered 503, retry in 8 s\n");
	ck_assert_uint_eq(n, strlen(buf));
	log_format(buf, sizeof(buf), 0, 0, LOGL_INFO, 0, 0, "started");
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z info: started\n");
	log_format(buf, sizeof(buf), 0, 0, LOGL_ERROR, 0, 9, "x");
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z error job=9: x\n");
	log_format(buf, sizeof(buf), 0, 0, LOGL_DEBUG, 5, 0, "y");
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z debug printer=5: y\n");
}
END_TEST

START_TEST(format_journald)
{
	char	 buf[256];

	log_format(buf, sizeof(buf), 1795514174, 1, LOGL_WARN, 3, 17, "outbox: retry");
	ck_assert_str_eq(buf, "<4>warn printer=3 job=17: outbox: retry\n");
	log_format(buf, sizeof(buf), 0, 1, LOGL_ERROR, 0, 0, "e");
	ck_assert_str_eq(buf, "<3>error: e\n");
	log_format(buf, sizeof(buf), 0, 1, LOGL_INFO, 0, 0, "i");
	ck_assert_str_eq(buf, "<6>info: i\n");
	log_format(buf, sizeof(buf), 0, 1, LOGL_DEBUG, 0, 0, "d");
	ck_assert_str_eq(buf, "<7>debug: d\n");
}
END_TEST

START_TEST(one_line_and_bounded)
{
	char	 buf[64], big[3000];
	size_t	 n;

	log_format(buf, sizeof(buf), 0, 1, LOGL_INFO, 0, 0, "two\nlines\r\tand\x7f" "del");
	ck_assert_str_eq(buf, "<6>info: two lines  and del\n");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = log_format(buf, sizeof(buf), 0, 1, LOGL_INFO, 0, 0, big);
	ck_assert_uint_eq(n, sizeof(buf) - 1);
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_uint_eq(strlen(buf), n);
}
END_TEST

START_TEST(level_names)
{
	enum log_level	 l;

	ck_assert_int_eq(log_level_parse("error", &l), 0);
	ck_assert_int_eq(l, LOGL_ERROR);
	ck_assert_int_eq(log_level_parse("WARN", &l), 0);
	ck_assert_int_eq(l, LOGL_WARN);
	ck_assert_int_eq(log_level_parse("warning", &l), 0);
	ck_assert_int_eq(l, LOGL_WARN);
	ck_assert_int_eq(log_level_parse("Info", &l), 0);
	ck_assert_int_eq(l, LOGL_INFO);
	ck_assert_int_eq(log_level_parse("debug", &l), 0);
	ck_assert_int_eq(l, LOGL_DEBUG);
	ck_assert_int_eq(log_level_parse("verbose", &l), -1);
	ck_assert_int_eq(log_level_parse("", &l), -1);
	ck_assert_int_eq(log_level_parse(NULL, &l), -1);
	ck_assert_str_eq(log_level_name(LOGL_WARN), "warn");
}
END_TEST

/* Each test below runs in its own forked process: the environment is read on its first log call. */
START_TEST(default_info_with_timestamp)
{
	const char	*out;

	unsetenv(LOG_LEVEL_ENV);
	unsetenv("JOURNAL_STREAM");
	start_capture();
	log_msg(LOGL_DEBUG, 1, 2, "hidden %d", 1);
	log_msg(LOGL_INFO, 1, 2, "shown %d", 2);
	log_msg(LOGL_ERROR, 0, 0, "failed");
	out = stop_capture();
	ck_assert_msg(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z info printer=1 job=2: shown 2\n"
	    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z error: failed\n$", out), "got: %s", out);
	ck_assert_int_eq(log_enabled(LOGL_DEBUG), 0);
	ck_assert_int_eq(log_enabled(LOGL_INFO), 1);
}
END_TEST

START_TEST(env_threshold_and_journald)
{
	const char	*out;

	setenv(LOG_LEVEL_ENV, "warn", 1);
	setenv("JOURNAL_STREAM", "8:12345", 1);
	start_capture();
	log_msg(LOGL_INFO, 0, 0, "hidden");
	log_msg(LOGL_WARN, 3, 17, "outbox: Spoolman answered %d, retry in %d s", 503, 8);
	out = stop_capture();
	ck_assert_str_eq(out, "<4>warn printer=3 job=17: outbox: Spoolman answered 503, retry in 8 s\n");
}
END_TEST

START_TEST(env_debug)
{
	const char	*out;

	setenv(LOG_LEVEL_ENV, "debug", 1);
	setenv("JOURNAL_STREAM", "8:1", 1);
	start_capture();
	log_msg(LOGL_DEBUG, 0, 4, "detail");
	out = stop_capture();
	ck_assert_str_eq(out, "<7>debug job=4: detail\n");
}
END_TEST

START_TEST(env_unknown_level)
{
	const char	*out;

	setenv(LOG_LEVEL_ENV, "loud", 1);
	setenv("JOURNAL_STREAM", "8:1", 1);
	start_capture();
	log_msg(LOGL_DEBUG, 0, 0, "hidden");
	log_msg(LOGL_INFO, 0, 0, "shown");
	log_msg(LOGL_INFO, 0, 0, "again");
	out = stop_capture();
	ck_assert_str_eq(out, "<4>warn: SPOOLKEEPER_LOG_LEVEL=loud is not a level (error, warn, info, debug): "
	    "using info\n<6>info: shown\n<6>info: again\n");
}
END_TEST

START_TEST(configure_overrides)
{
	const char	*out;

	setenv(LOG_LEVEL_ENV, "debug", 1);
	unsetenv("JOURNAL_STREAM");
	log_configure(LOGL_ERROR, 1);
	start_capture();
	log_msg(LOGL_WARN, 0, 0, "hidden");
	log_msg(LOGL_ERROR, 0, 0, "shown");
	out = stop_capture();
	ck_assert_str_eq(out, "<3>error: shown\n");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");

	suite_add_tcase(s, ck_tcase("format_plain", format_plain, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("format_journald", format_journald, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("one_line_and_bounded", one_line_and_bounded, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("level_names", level_names, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("default_info_with_timestamp", default_info_with_timestamp, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("env_threshold_and_journald", env_threshold_and_journald, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("env_debug", env_debug, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("env_unknown_level", env_unknown_level, NULL, NULL, 0));
	suite_add_tcase(s, ck_tcase("configure_overrides", configure_overrides, NULL, NULL, 0));
	return s;
}

int
main(void)
{
	return ck_run(log_suite());
}
