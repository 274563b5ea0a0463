/* fetch_tool.c: runs fetch_model() once from the command line, for tests/worker/test_fetch.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "fetch.h"

#define USAGE "usage: fetch_tool [--host H] [--serial S] [--code C] [--port N] " \
	"[--ca FILE] [--insecure] [--url U] [--gcode-file G] [--subtask S] " \
	"[--https-ca FILE] [--max BYTES] [--timeout S] [--low-speed-s S] DEST"

static const char *const kinds[] = {
	"ok", "unreachable", "auth", "tls", "not_found", "too_large", "slow",
	"cancelled", "local", "other", "usage"
};

/* A whole number in [1, max] from s, or exits with status 2. */
static long long
number(const char *s, long long max)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "fetch_tool: bad number %s\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct fetch_target	 t;
	enum fetch_error	 kind;
	char			 err[ERRBUF_LEN];
	const char		*a, *v;
	int			 i;

	memset(&t, 0, sizeof(t));
	for (i = 1; i < argc - 1; i++) {
		a = argv[i];
		v = argv[i + 1];
		if (strcmp(a, "--insecure") == 0) {
			t.insecure = 1;
			continue;
		}
		i++;
		if (strcmp(a, "--host") == 0)
			t.host = v;
		else if (strcmp(a, "--serial") == 0)
			t.serial = v;
		else if (strcmp(a, "--code") == 0)
			t.access_code = v;
		else if (strcmp(a, "--port") == 0)
			t.ftps_port = (int)number(v, 65535);
		else if (strcmp(a, "--ca") == 0)
			t.ca_file = v;
		else if (strcmp(a, "--url") == 0)
			t.url = v;
		else if (strcmp(a, "--gcode-file") == 0)
			t.gcode_file = v;
		else if (strcmp(a, "--subtask") == 0)
			t.subtask_name = v;
		else if (strcmp(a, "--https-ca") == 0)
			t.https_ca_file = v;
		else if (strcmp(a, "--max") == 0)
			t.max_bytes = number(v, 1LL << 40);
		else if (strcmp(a, "--timeout") == 0)
			t.timeout_s = (long)number(v, 100000);
		else if (strcmp(a, "--low-speed-s") == 0)
			t.low_speed_s = (long)number(v, 100000);
		else {
			fprintf(stderr, "%s\n", USAGE);
			return 2;
		}
	}
	if (i != argc - 1) {
		fprintf(stderr, "%s\n", USAGE);
		return 2;
	}
	if (fetch_model_kind(&t, argv[argc - 1], &kind, err) == -1) {
		printf("error %s: %s\n", kinds[kind], err);
		return 1;
	}
	printf("ok\n");
	return 0;
}
