/* main.c: spoolkeeper-web, the FastCGI JSON API: a small prefork pool on a unix socket (or on fd 0). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "conf.h"
#include "epoch.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "token.h"

#define MAX_PROCESSES	64

static volatile sig_atomic_t	 stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: spoolkeeper-web [--socket PATH] [--socket-mode OCTAL] [--processes N] "
	    "[--key-file PATH]\n"
	    "  Without --socket, fd 0 is the FastCGI listen socket (spawn-fcgi, systemd socket activation).\n"
	    "  Environment: SPOOLKEEPER_DATABASE, SPOOLKEEPER_KEY_FILE, SPOOLKEEPER_SESSION_IDLE,\n"
	    "  SPOOLKEEPER_SESSION_MAX, SPOOLKEEPER_SPOOLMAN_TIMEOUT_MS.\n");
	exit(2);
}

/* Reads the request body: at most HTTP_MAX_BODY bytes, as many as CONTENT_LENGTH says. */
static char *
read_body(FCGX_Request *fr, struct http_request *req)
{
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	char		*end, *buf;
	long		 len;
	int		 got;

	if (cl == NULL || *cl == '\0')
		return NULL;
	errno = 0;
	len = strtol(cl, &end, 10);
	if (errno != 0 || *end != '\0' || len < 0) {
		req->body_error = 400;
		return NULL;
	}
	if (len > HTTP_MAX_BODY) {
		req->body_error = 413;
		return NULL;
	}
	if (len == 0)
		return NULL;
	if ((buf = malloc((size_t)len)) == NULL) {
		req->body_error = 413;
		return NULL;
	}
	got = FCGX_GetStr(buf, (int)len, fr->in);
	if (got != len) {
		req->body_error = 400;
		free(buf);
		return NULL;
	}
	req->body = buf;
	req->body_len = (size_t)len;
	return buf;
}

static void
write_response(FCGX_Request *fr, const struct http_response *res, int head)
{
	int	 i;

	FCGX_FPrintF(fr->out, "Status: %d %s\r\n", res->status, http_reason(res->status));
	if (res->content_type != NULL)
		FCGX_FPrintF(fr->out, "Content-Type: %s\r\n", res->content_type);
	for (i = 0; i < res->nheaders; i++)
		FCGX_FPrintF(fr->out, "%s\r\n", res->headers[i]);
	/* libfcgi's own printf knows no %zu (it drops the rest of the format): hence %lu. */
	FCGX_FPrintF(fr->out, "Content-Length: %lu\r\n\r\n", (unsigned long)res->body_len);
	if (!head && res->body_len > 0)
		FCGX_PutStr(res->body, (int)res->body_len, fr->out);
}

/* One process of the pool: accepts and answers requests until told to stop. */
static int
serve(int listen_fd, const char *key_file)
{
	FCGX_Request		 fr;
	struct app		*app;
	struct sigaction	 sa;

	/* No SA_RESTART: SIGTERM must interrupt accept() so the process ends between requests. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);	/* the parent stops us on Ctrl-C */
	signal(SIGPIPE, SIG_IGN);
	app = app_new(conf_database(), key_file);
	if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		return 1;
	while (!stopping && FCGX_Accept_r(&fr) == 0) {
		struct http_request	 req;
		struct http_response	 res;
		const char		*https, *path;
		char			*body;

		memset(&req, 0, sizeof(req));
		req.method = FCGX_GetParam("REQUEST_METHOD", fr.envp);
		path = FCGX_GetParam("DOCUMENT_URI", fr.envp);
		req.path = path != NULL ? path : FCGX_GetParam("SCRIPT_NAME", fr.envp);
		req.query = FCGX_GetParam("QUERY_STRING", fr.envp);
		req.host = FCGX_GetParam("HTTP_HOST", fr.envp);
		req.content_type = FCGX_GetParam("CONTENT_TYPE", fr.envp);
		req.cookie = FCGX_GetParam("HTTP_COOKIE", fr.envp);
		req.origin = FCGX_GetParam("HTTP_ORIGIN", fr.envp);
		req.fetch_site = FCGX_GetParam("HTTP_SEC_FETCH_SITE", fr.envp);
		req.csrf_token = FCGX_GetParam("HTTP_X_CSRF_TOKEN", fr.envp);
		req.user_agent = FCGX_GetParam("HTTP_USER_AGENT", fr.envp);
		req.remote_addr = FCGX_GetParam("REMOTE_ADDR", fr.envp);
		https = FCGX_GetParam("HTTPS", fr.envp);
		req.https = https != NULL && strcmp(https, "on") == 0;
		body = read_body(&fr, &req);
		http_response_init(&res);
		app_handle(app, &req, &res);
		write_response(&fr, &res, req.method != NULL && strcmp(req.method, "HEAD") == 0);
		http_response_free(&res);
		free(body);
		FCGX_Finish_r(&fr);
	}
	app_free(app);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket",	 required_argument, NULL, 's' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "processes",	 required_argument, NULL, 'p' },
		{ "key-file",	 required_argument, NULL, 'k' },
		{ "help",	 no_argument,	    NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*socket_path = NULL, *key_file = NULL;
	long			 mode = 0660, nproc = 4;
	pid_t			 kids[MAX_PROCESSES];
	int			 ch, fd, i, alive;
	struct sigaction	 sa;
	char			*end;

	while ((ch = getopt_long(argc, argv, "s:m:p:k:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			socket_path = optarg;
			break;
		case 'm':
			mode = strtol(optarg, &end, 8);
			if (*end != '\0' || mode < 0 || mode > 0777)
				usage();
			break;
		case 'p':
			nproc = strtol(optarg, &end, 10);
			if (*end != '\0' || nproc < 1 || nproc > MAX_PROCESSES)
				usage();
			break;
		case 'k':
			key_file = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (crypto_ready() == -1 || FCGX_Init() != 0) {
		log_msg(LOGL_ERROR, 0, 0, "cannot initialise libsodium or libfcgi");
		return 1;
	}
	if (epoch_share() == -1) {
		log_msg(LOGL_ERROR, 0, 0, "cannot map the shared write counter: %s", strerror(errno));
		return 1;
	}
	if (socket_path != NULL) {
		(void)unlink(socket_path);
		if ((fd = FCGX_OpenSocket(socket_path, 128)) < 0) {
			log_msg(LOGL_ERROR, 0, 0, "cannot listen on %s: %s", socket_path, strerror(errno));
			return 1;
		}
		if (chmod(socket_path, (mode_t)mode) == -1) {
			log_msg(LOGL_ERROR, 0, 0, "chmod %s: %s", socket_path, strerror(errno));
			return 1;
		}
	} else
		fd = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(kids, 0, sizeof(kids));
	if (metrics_init() == -1)
		log_msg(LOGL_WARN, 0, 0, "metrics: mmap: %s; each process counts its own requests", strerror(errno));
	log_msg(LOGL_INFO, 0, 0, "listening on %s (%ld processes)", socket_path != NULL ? socket_path : "fd 0", nproc);
	while (!stopping) {
		pid_t	 pid;
		int	 st;

		for (i = 0; i < nproc; i++) {
			if (kids[i] != 0)
				continue;
			pid = fork();
			if (pid == 0)
				_exit(serve(fd, key_file));
			if (pid == -1) {
				log_msg(LOGL_ERROR, 0, 0, "fork: %s", strerror(errno));
				break;
			}
			kids[i] = pid;
		}
		pid = wait(&st);
		if (pid == -1)
			continue;	/* EINTR: a signal; the loop checks stopping */
		for (i = 0; i < nproc; i++)
			if (kids[i] == pid) {
				kids[i] = 0;
				if (!stopping)
					log_msg(LOGL_ERROR, 0, 0, "process %ld ended (status %d); starting another",
					    (long)pid, st);
			}
		if (!stopping) {
			struct timespec ts = { 0, 200 * 1000 * 1000 };

			nanosleep(&ts, NULL);	/* no tight loop when a process dies at once */
		}
	}
	for (i = 0; i < nproc; i++)
		if (kids[i] != 0)
			kill(kids[i], SIGTERM);
	do {
		alive = 0;
		for (i = 0; i < nproc; i++)
			if (kids[i] != 0) {
				if (waitpid(kids[i], NULL, 0) == kids[i] || errno == ECHILD)
					kids[i] = 0;
				else
					alive = 1;
			}
	} while (alive);
	if (socket_path != NULL)
		(void)unlink(socket_path);
	return 0;
}
