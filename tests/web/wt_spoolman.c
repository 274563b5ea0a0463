/* wt_spoolman.c: starts and stops the Spoolman stand-in for the web handler tests, and drives its /_control. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "webtest.h"
#include "wt_spoolman.h"

#define START_MS	15000

/* In the child: stdout to the pipe, then exec the stand-in.  Never returns. */
static void
exec_standin(int out, const char *const *args)
{
	const char	*script = getenv("SK_SPOOLMAN_STANDIN");
	const char	*argv[32];
	int		 n = 0;

	if (script == NULL || *script == '\0')
		script = "tests/spoolman/spoolman_standin.py";
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(out, STDOUT_FILENO) == -1)
		_exit(127);
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--port";
	argv[n++] = "0";
	while (args != NULL && *args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	execvp("python3", (char *const *)argv);
	_exit(127);
}

/* Reads lines from fd until "LISTENING <port>"; the port, or -1 after START_MS or at end of file. */
static int
read_port(int fd)
{
	char	 buf[512];
	size_t	 len = 0;
	char	*nl, *p;

	for (;;) {
		struct pollfd	 pfd = { fd, POLLIN, 0 };
		ssize_t		 n;

		if (poll(&pfd, 1, START_MS) <= 0)
			return -1;
		if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if ((p = strstr(buf, "LISTENING ")) != NULL && (nl = strchr(p, '\n')) != NULL)
			return (int)strtol(p + 10, NULL, 10);
		if (len == sizeof(buf) - 1)
			return -1;
	}
}

void
wt_spoolman_start(struct wt_spoolman *sm, const char *const *args)
{
	int	 fds[2];

	memset(sm, 0, sizeof(*sm));
	ck_assert(pipe(fds) == 0);
	sm->pid = fork();
	ck_assert(sm->pid >= 0);
	if (sm->pid == 0) {
		close(fds[0]);
		exec_standin(fds[1], args);
	}
	close(fds[1]);
	sm->port = read_port(fds[0]);
	close(fds[0]);
	ck_assert_msg(sm->port > 0, "the Spoolman stand-in did not print LISTENING within %d ms", START_MS);
	snprintf(sm->url, sizeof(sm->url), "http://127.0.0.1:%d", sm->port);
}

void
wt_spoolman_stop(struct wt_spoolman *sm)
{
	int	 st;

	if (sm->pid <= 0)
		return;
	kill(sm->pid, SIGTERM);
	while (waitpid(sm->pid, &st, 0) == -1 && errno == EINTR)
		;
	sm->pid = 0;
}

static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* Sends method url with the JSON body; the HTTP status (0: no answer). */
static long
request(const char *method, const char *url, const char *body)
{
	CURL			*c = curl_easy_init();
	struct curl_slist	*h = curl_slist_append(NULL, "Content-Type: application/json");
	long			 status = 0;

	ck_assert(c != NULL && h != NULL);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "{}");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

void
wt_spoolman_control(const struct wt_spoolman *sm, const char *what, const char *body)
{
	char	 url[128];
	long	 status;

	snprintf(url, sizeof(url), "%s/_control/%s", sm->url, what);
	status = request("POST", url, body);
	ck_assert_msg(status == 200, "stand-in /_control/%s: HTTP %ld", what, status);
}

void
wt_spoolman_api(const struct wt_spoolman *sm, const char *method, const char *path, const char *body)
{
	char	 url[256];
	long	 status;

	snprintf(url, sizeof(url), "%s/api/v1%s", sm->url, path);
	status = request(method, url, body);
	ck_assert_msg(status >= 200 && status < 300, "stand-in %s %s: HTTP %ld", method, path, status);
}

void
wt_spoolman_use(struct app *app, const struct wt_spoolman *sm)
{
	const char	*params[1] = { sm->url };

	wt_sql(app, "DELETE FROM settings WHERE key IN ('spoolman_user', 'spoolman_password')", 0, NULL);
	wt_sql(app, "INSERT INTO settings (key, value) VALUES ('spoolman_url', $1) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", 1, params);
}
