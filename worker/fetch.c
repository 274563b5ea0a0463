/* fetch.c: downloads a print job's file from the printer's FTPS or a cloud URL (libcurl), never leaving partial files. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "errbuf.h"
#include "fetch.h"

#define PATH_LEN	2048
#define URL_LEN		(4 * PATH_LEN)
#define LIST_MAX	(4 * 1024 * 1024)	/* a directory listing bigger than this is cut */
#define NCANDS		24
#define USER_AGENT	"spoolkeeper"

/* Where a transfer writes: a file, or (fp NULL) a memory buffer. */
struct sink {
	FILE		*fp;
	char		*mem;
	size_t		 len, cap;
	long long	 got, max;
	int		 too_big;
	int		 write_errno;	/* 0, or the errno of a failed write */
};

/* One fetch_model() call: the FTPS handle is kept for all its transfers (TLS session and connection reuse). */
struct fetch {
	const struct fetch_target *t;
	CURL			*ftp;
	struct curl_slist	*connect_to;
	char			 base[128];	/* ftps://SERIAL:PORT */
	char			 where[300];	/* "printer HOST:PORT" for messages */
	char			 curlerr[CURL_ERROR_SIZE];
	long long		 max;
};

/* The file names a job's file may have on the printer, best first. */
struct cands {
	char	name[NCANDS][512];
	int	n;
};

static pthread_once_t	 init_once = PTHREAD_ONCE_INIT;
static int		 init_rc = -1;

static void
init_curl(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int
fetch_init(void)
{
	pthread_once(&init_once, init_curl);
	return init_rc;
}

static int
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Sets *kind (if not NULL) and the message; returns -1. */
static int
fail(enum fetch_error *kind, enum fetch_error k, char *err, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static int
fail(enum fetch_error *kind, enum fetch_error k, char *err, const char *fmt,
    ...)
{
	va_list	ap;

	if (kind != NULL)
		*kind = k;
	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, ERRBUF_LEN, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* snprintf into dst that may cut the text (messages only). */
static void
say(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *dst, size_t size, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

/* --- transfers --- */

/* libcurl write callback: counts, caps at s->max, writes to the file or memory.  Returns len, or 0 to abort. */
static size_t
sink_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		 len = size * n;
	char		*m;

	if (s->got + (long long)len > s->max) {
		s->too_big = 1;
		return 0;
	}
	s->got += (long long)len;
	if (s->fp != NULL) {
		if (fwrite(ptr, 1, len, s->fp) != len) {
			s->write_errno = errno != 0 ? errno : EIO;
			return 0;
		}
		return len;
	}
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap != 0 ? s->cap : 4096;

		while (cap < s->len + len + 1)
			cap *= 2;
		if ((m = realloc(s->mem, cap)) == NULL) {
			s->write_errno = ENOMEM;
			return 0;
		}
		s->mem = m;
		s->cap = cap;
	}
	memcpy(s->mem + s->len, ptr, len);
	s->len += len;
	s->mem[s->len] = '\0';
	return len;
}

/* libcurl progress callback: a non-zero return aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int
xfer_info(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	atomic_int	*cancel = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancel != NULL && atomic_load(cancel) != 0;
}

/* The options every handle gets: limits, timeouts, cancel, error buffer. */
static void
set_common(CURL *c, const struct fetch_target *t, char *curlerr)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, t->timeout_s > 0 ? t->timeout_s :
	    (long)FETCH_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t->connect_timeout_s > 0 ?
	    t->connect_timeout_s : (long)FETCH_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, t->low_speed_bytes > 0 ?
	    t->low_speed_bytes : (long)FETCH_LOW_SPEED_BYTES);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, t->low_speed_s > 0 ?
	    t->low_speed_s : (long)FETCH_LOW_SPEED_S);
	curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, t->low_speed_s > 0 ?
	    t->low_speed_s : (long)FETCH_LOW_SPEED_S);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_info);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, t->cancel);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
}

/* The curl error buffer, or curl's text for rc when it is empty. */
static const char *
detail(CURLcode rc, const char *curlerr)
{
	return curlerr[0] != '\0' ? curlerr : curl_easy_strerror(rc);
}

/*
 * Turns the outcome of one transfer into a kind and a message "WHAT: why".  Returns 0 when it succeeded, else -1.
 */
static int
classify(CURL *c, CURLcode rc, const struct sink *s, const char *what,
    const char *curlerr, long long max, enum fetch_error *kind, char *err)
{
	long		 code = 0;
	curl_off_t	 connected = 0;

	if (rc == CURLE_OK && !s->too_big && s->write_errno == 0)
		return 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
	if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return fail(kind, FETCH_E_TOO_LARGE, err, "%s: file larger "
		    "than %lld %s, refused", what, max >= 1024 * 1024 ?
		    max / (1024 * 1024) : max, max >= 1024 * 1024 ? "MiB" :
		    "bytes");
	if (s->write_errno != 0)
		return fail(kind, FETCH_E_LOCAL, err, "%s: writing the local "
		    "file: %s", what, strerror(s->write_errno));
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return fail(kind, FETCH_E_CANCELLED, err, "%s: cancelled", what);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return fail(kind, FETCH_E_UNREACHABLE, err, "%s: unreachable: %s",
		    what, detail(rc, curlerr));
	case CURLE_OPERATION_TIMEDOUT:
		if (connected == 0)
			return fail(kind, FETCH_E_UNREACHABLE, err, "%s: "
			    "unreachable: %s", what, detail(rc, curlerr));
		return fail(kind, FETCH_E_SLOW, err, "%s: too slow or timed "
		    "out: %s", what, detail(rc, curlerr));
	case CURLE_LOGIN_DENIED:
		return fail(kind, FETCH_E_AUTH, err, "%s: login refused (530): "
		    "wrong access code?", what);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_USE_SSL_FAILED:
		return fail(kind, FETCH_E_TLS, err, "%s: TLS: %s", what,
		    detail(rc, curlerr));
	case CURLE_REMOTE_FILE_NOT_FOUND:
		return fail(kind, FETCH_E_NOT_FOUND, err, "%s: not found (%ld)",
		    what, code != 0 ? code : 550L);
	case CURLE_REMOTE_ACCESS_DENIED:
		if (code == 550)
			return fail(kind, FETCH_E_NOT_FOUND, err, "%s: not found "
			    "(550)", what);
		break;
	case CURLE_HTTP_RETURNED_ERROR:
		return fail(kind, code == 404 || code == 410 ? FETCH_E_NOT_FOUND :
		    FETCH_E_OTHER, err, "%s: HTTP %ld", what, code);
	case CURLE_UNSUPPORTED_PROTOCOL:
		return fail(kind, FETCH_E_OTHER, err, "%s: redirected to a "
		    "refused protocol (only https is followed)", what);
	default:
		break;
	}
	return fail(kind, FETCH_E_OTHER, err, "%s: %s", what,
	    detail(rc, curlerr));
}

/*
 * Runs one transfer of url on handle c into the file tmp (removed first, then created 0600 with O_EXCL and
 * O_NOFOLLOW, so a link planted in a shared directory is never followed).  On failure tmp is removed.
 * Returns 0 or -1 with kind and err set ("WHAT: why").
 */
static int
download(CURL *c, const char *url, const char *tmp, const char *what,
    char *curlerr, long long max, enum fetch_error *kind, char *err)
{
	struct sink	 s;
	CURLcode	 rc;
	int		 fd, ret, close_errno = 0;

	memset(&s, 0, sizeof(s));
	s.max = max;
	/* a new file, never through a link planted in a shared directory */
	if (unlink(tmp) == -1 && errno != ENOENT)
		return fail(kind, FETCH_E_LOCAL, err, "%s: %s", tmp,
		    strerror(errno));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 || (s.fp = fdopen(fd, "wb")) == NULL) {
		ret = errno;
		if (fd != -1)
			close(fd);
		return fail(kind, FETCH_E_LOCAL, err, "%s: %s", tmp,
		    strerror(ret));
	}
	curlerr[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	rc = curl_easy_perform(c);
	if (fclose(s.fp) != 0)
		close_errno = errno;
	ret = classify(c, rc, &s, what, curlerr, max, kind, err);
	if (ret == 0 && close_errno != 0)
		ret = fail(kind, FETCH_E_LOCAL, err, "%s: %s", tmp,
		    strerror(close_errno));
	if (ret != 0)
		unlink(tmp);
	return ret;
}

/* --- FTPS --- */

/* 1 if s is a printer serial as the schema allows it (letters and digits, 1..64). */
static int
serial_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <=
		    'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i >= 1 && i <= 64;
}

/* 1 if h is a host as the schema allows it (a name, IPv4 or IPv6 literal; never a URL). */
static int
host_ok(const char *h)
{
	size_t	i;

	for (i = 0; h[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._:%-", h[i]) == NULL)
			return 0;
	return i >= 1 && i <= 253;
}

/*
 * Opens the FTPS handle of f: implicit TLS, TLS 1.2 only, user bblp, the URL host is the serial and
 * CURLOPT_CONNECT_TO sends the connection to the printer's address, so the certificate is checked against the
 * serial.  Returns 0 or -1 with kind and err set.
 */
static int
ftps_open(struct fetch *f, enum fetch_error *kind, char *err)
{
	const struct fetch_target	*t = f->t;
	char				 map[600];
	int				 port, v6;

	if (f->ftp != NULL)
		return 0;
	if (empty(t->host) || empty(t->serial) || empty(t->access_code))
		return fail(kind, FETCH_E_USAGE, err, "printer FTPS: host, "
		    "serial and access code are needed");
	if (!serial_ok(t->serial) || !host_ok(t->host))
		return fail(kind, FETCH_E_USAGE, err, "printer FTPS: invalid "
		    "host or serial");
	if (!t->insecure && empty(t->ca_file))
		return fail(kind, FETCH_E_USAGE, err, "printer FTPS: no CA "
		    "bundle to check the printer's certificate");
	port = t->ftps_port > 0 && t->ftps_port <= 65535 ? t->ftps_port :
	    FETCH_FTPS_PORT;
	v6 = strchr(t->host, ':') != NULL;
	snprintf(f->base, sizeof(f->base), "ftps://%s:%d", t->serial, port);
	snprintf(f->where, sizeof(f->where), "printer %s%s%s:%d", v6 ? "[" : "",
	    t->host, v6 ? "]" : "", port);
	snprintf(map, sizeof(map), "%s:%d:%s%s%s:%d", t->serial, port,
	    v6 ? "[" : "", t->host, v6 ? "]" : "", port);
	if ((f->connect_to = curl_slist_append(NULL, map)) == NULL ||
	    (f->ftp = curl_easy_init()) == NULL)
		return fail(kind, FETCH_E_LOCAL, err, "printer FTPS: libcurl "
		    "initialisation failed");
	set_common(f->ftp, t, f->curlerr);
	curl_easy_setopt(f->ftp, CURLOPT_PROTOCOLS_STR, "ftps");
	curl_easy_setopt(f->ftp, CURLOPT_CONNECT_TO, f->connect_to);
	curl_easy_setopt(f->ftp, CURLOPT_USERNAME, "bblp");
	curl_easy_setopt(f->ftp, CURLOPT_PASSWORD, t->access_code);
	curl_easy_setopt(f->ftp, CURLOPT_USE_SSL, t->clear_data ?
	    (long)CURLUSESSL_CONTROL : (long)CURLUSESSL_ALL);
	curl_easy_setopt(f->ftp, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
	curl_easy_setopt(f->ftp, CURLOPT_SSL_SESSIONID_CACHE, 1L);
	if (t->insecure) {
		curl_easy_setopt(f->ftp, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(f->ftp, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(f->ftp, CURLOPT_CAINFO, t->ca_file);
		curl_easy_setopt(f->ftp, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(f->ftp, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	curl_easy_setopt(f->ftp, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_NOCWD);
	curl_easy_setopt(f->ftp, CURLOPT_FTP_SKIP_PASV_IP, 1L);
	return 0;
}

static void
ftps_close(struct fetch *f)
{
	if (f->ftp != NULL)
		curl_easy_cleanup(f->ftp);
	curl_slist_free_all(f->connect_to);
	f->ftp = NULL;
	f->connect_to = NULL;
}

/*
 * Writes into url (URL_LEN bytes) f->base followed by path with each segment percent-encoded (spaces, ';', '%',
 * '#', '?' and every non-ASCII byte); a trailing '/' is kept (a directory).  "." segments are dropped.
 * Returns 0, or -1 for a ".." segment, an over-long result or no memory.
 */
static int
ftps_url(struct fetch *f, const char *path, char *url)
{
	const char	*p = path, *e;
	size_t		 n = strlen(f->base);
	char		*esc;
	int		 dir = path[0] != '\0' && path[strlen(path) - 1] == '/';

	memcpy(url, f->base, n + 1);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (!(e - p == 1 && p[0] == '.')) {
			if ((esc = curl_easy_escape(f->ftp, p, (int)(e - p))) == NULL)
				return -1;
			if (n + 1 + strlen(esc) + 2 > URL_LEN) {
				curl_free(esc);
				return -1;
			}
			url[n++] = '/';
			memcpy(url + n, esc, strlen(esc) + 1);
			n += strlen(esc);
			curl_free(esc);
		}
		p = e;
	}
	if (dir || n == strlen(f->base)) {
		url[n++] = '/';
		url[n] = '\0';
	}
	return 0;
}

/* Downloads the printer's file at path into tmp.  Returns 0 or -1 with kind and err set. */
static int
ftps_get(struct fetch *f, const char *path, const char *tmp,
    enum fetch_error *kind, char *err)
{
	char	url[URL_LEN], what[ERRBUF_LEN];

	if (ftps_open(f, kind, err) == -1)
		return -1;
	say(what, sizeof(what), "%s: %s", f->where, path);
	if (ftps_url(f, path, url) == -1)
		return fail(kind, FETCH_E_NOT_FOUND, err, "%s: not a file name",
		    what);
	curl_easy_setopt(f->ftp, CURLOPT_DIRLISTONLY, 0L);
	return download(f->ftp, url, tmp, what, f->curlerr, f->max, kind, err);
}

/*
 * Lists the names in the printer's directory dir ("/cache/") into *s (memory, NUL-terminated; mem NULL when
 * empty).  Returns 0, or -1 with kind and err set.  A directory that does not exist gives an empty listing on
 * vsftpd (the printers' server), a 450 or 550 on others.
 */
static int
ftps_list(struct fetch *f, const char *dir, struct sink *s,
    enum fetch_error *kind, char *err)
{
	char		url[URL_LEN], what[ERRBUF_LEN];
	CURLcode	rc;

	if (ftps_open(f, kind, err) == -1)
		return -1;
	say(what, sizeof(what), "%s: listing %s", f->where, dir);
	if (ftps_url(f, dir, url) == -1)
		return fail(kind, FETCH_E_USAGE, err, "%s: bad path", what);
	memset(s, 0, sizeof(*s));
	s->max = LIST_MAX;
	f->curlerr[0] = '\0';
	curl_easy_setopt(f->ftp, CURLOPT_URL, url);
	curl_easy_setopt(f->ftp, CURLOPT_DIRLISTONLY, 1L);
	curl_easy_setopt(f->ftp, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(f->ftp, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
	rc = curl_easy_perform(f->ftp);
	curl_easy_setopt(f->ftp, CURLOPT_DIRLISTONLY, 0L);
	if (s->too_big) {	/* a huge directory: use what was read */
		s->too_big = 0;
		rc = CURLE_OK;
	}
	if (classify(f->ftp, rc, s, what, f->curlerr, LIST_MAX, kind, err) == -1) {
		free(s->mem);
		memset(s, 0, sizeof(*s));
		return -1;
	}
	return 0;
}

/* --- names --- */

static int
ends_with(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static void
cand_add(struct cands *c, const char *name, const char *suffix)
{
	char	buf[sizeof(c->name[0])];
	int	i;

	if (snprintf(buf, sizeof(buf), "%s%s", name, suffix) >= (int)sizeof(buf) ||
	    buf[0] == '\0' || c->n == NCANDS)
		return;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->name[i], buf) == 0)
			return;
	memcpy(c->name[c->n++], buf, sizeof(buf));
}

/* Adds the forms the printer gives a job called v: "v.gcode.3mf" and "v.3mf", or v itself if it has a suffix. */
static void
cand_forms(struct cands *c, const char *v)
{
	char	stem[sizeof(c->name[0])];
	size_t	n = strlen(v);

	if (n == 0 || n >= sizeof(stem))
		return;
	if (ends_with(v, ".gcode.3mf")) {
		cand_add(c, v, "");
	} else if (ends_with(v, ".3mf")) {
		cand_add(c, v, "");
		memcpy(stem, v, n - 4);
		stem[n - 4] = '\0';
		cand_add(c, stem, ".gcode.3mf");
	} else if (ends_with(v, ".gcode")) {
		cand_add(c, v, ".3mf");
		cand_add(c, v, "");
	} else {
		cand_add(c, v, ".gcode.3mf");
		cand_add(c, v, ".3mf");
	}
}

/*
 * Adds the forms of one name: as given, with the characters a FAT file system refuses written as '_' (the
 * printer saves "Size: M" as "Size_ M"), and with surrounding spaces removed.
 */
static void
cand_name(struct cands *c, const char *name)
{
	char	v[sizeof(c->name[0])], *p;
	size_t	n;

	if (empty(name) || strlen(name) >= sizeof(v))
		return;
	cand_forms(c, name);
	memcpy(v, name, strlen(name) + 1);
	for (p = v; *p != '\0'; p++)
		if (strchr("\\:*?\"<>|", *p) != NULL)
			*p = '_';
	cand_forms(c, v);
	for (p = v; *p == ' '; p++)
		;
	memmove(v, p, strlen(p) + 1);
	for (n = strlen(v); n > 0 && v[n - 1] == ' '; n--)
		v[n - 1] = '\0';
	cand_forms(c, v);
}

/*
 * The candidate names of t: gcode_file's base name first (it is the file's name on the printer; not for an X1's
 * "/data/Metadata/plate_1.gcode", a RAM disk), then subtask_name's forms.
 */
static void
cands_make(const struct fetch_target *t, struct cands *c)
{
	const char	*g = t->gcode_file, *b;

	memset(c, 0, sizeof(*c));
	if (!empty(g) && strstr(g, "Metadata/") == NULL) {
		b = strrchr(g, '/');
		cand_name(c, b != NULL ? b + 1 : g);
	}
	cand_name(c, t->subtask_name);
}

/*
 * Looks for a candidate in one listing (lines, CRLF or LF, bare names or full paths).  Returns the best score
 * (2 * candidate rank, +1 for a match that ignores ASCII case) or -1, and copies the entry's name.
 */
static int
match_listing(char *list, const struct cands *c, char *name, size_t size)
{
	char	*line, *save = NULL, *b;
	int	 best = -1, i, sc;

	for (line = strtok_r(list, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		b = strrchr(line, '/');
		b = b != NULL ? b + 1 : line;
		for (i = 0; i < c->n; i++) {
			if (strcmp(b, c->name[i]) == 0)
				sc = 2 * i;
			else if (strcasecmp(b, c->name[i]) == 0)
				sc = 2 * i + 1;
			else
				continue;
			if (best == -1 || sc < best) {
				best = sc;
				snprintf(name, size, "%s", b);
			}
			break;
		}
	}
	return best;
}

static const char *const search_dirs[] = {
	"/cache/", "/", "/sdcard/", "/model/", "/models/"
};

/*
 * Finds the job's file by name in the printer's directories and downloads it into tmp.  Returns 0 or -1 with
 * kind and err set.
 */
static int
ftps_by_name(struct fetch *f, const char *tmp, enum fetch_error *kind,
    char *err)
{
	struct cands	 c;
	struct sink	 s;
	char		 name[512], best_name[512], path[PATH_LEN];
	size_t		 d, best_dir = 0;
	int		 sc, best = -1;

	cands_make(f->t, &c);
	if (c.n == 0)
		return fail(kind, FETCH_E_USAGE, err, "no url and no file name "
		    "to look for on the printer");
	for (d = 0; d < sizeof(search_dirs) / sizeof(search_dirs[0]); d++) {
		if (ftps_list(f, search_dirs[d], &s, kind, err) == -1) {
			long code = 0;

			curl_easy_getinfo(f->ftp, CURLINFO_RESPONSE_CODE, &code);
			if (*kind == FETCH_E_NOT_FOUND || code == 450 ||
			    code == 550)
				continue;	/* no such directory */
			return -1;
		}
		sc = s.mem != NULL ? match_listing(s.mem, &c, name,
		    sizeof(name)) : -1;
		free(s.mem);
		if (sc != -1 && (best == -1 || sc < best)) {
			best = sc;
			best_dir = d;
			memcpy(best_name, name, sizeof(name));
		}
		if (best == 0)
			break;
	}
	if (best == -1)
		return fail(kind, FETCH_E_NOT_FOUND, err, "%s: no file named "
		    "\"%s\" in /cache, /, /sdcard, /model(s)", f->where,
		    c.name[0]);
	snprintf(path, sizeof(path), "%s%s", search_dirs[best_dir], best_name);
	return ftps_get(f, path, tmp, kind, err);
}

/* --- URLs --- */

int
fetch_url_ftps_path(const char *url, char *path, size_t size)
{
	const char	*p;
	int		 n;

	if (empty(url))
		return 0;
	if (strncasecmp(url, "ftp://", 6) == 0 ||
	    strncasecmp(url, "ftps://", 7) == 0) {
		p = strstr(url, "://") + 3;
		/* ftp:///PATH and ftp://NAME: both from the root */
		while (*p == '/')
			p++;
		n = snprintf(path, size, "/%s", p);
	} else if (strncasecmp(url, "file://", 7) == 0) {
		p = url + 7;
		if (*p != '/')
			return 0;
		if (strncmp(p, "/sdcard/", 8) == 0)
			p += 7;
		else if (strncmp(p, "/media/usb0/", 12) == 0)
			p += 11;
		else if (strncmp(p, "/mnt/sdcard/", 12) == 0)
			p += 11;
		n = snprintf(path, size, "%s", p);
	} else {
		return 0;
	}
	return n > 1 && (size_t)n < size && path[n - 1] != '/';
}

/* 1 if path holds a %XX sequence (the url may have been percent-encoded). */
static int
has_pct(const char *path)
{
	const char	*p;

	for (p = strchr(path, '%'); p != NULL; p = strchr(p + 1, '%'))
		if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]))
			return 1;
	return 0;
}

/* Fetches the printer path of an ftp:// or file:// url (and its percent-decoded form if that is not found). */
static int
ftps_by_url(struct fetch *f, const char *path, const char *tmp,
    enum fetch_error *kind, char *err)
{
	char	*dec, e2[ERRBUF_LEN];
	int	 n, rc;

	if (ftps_get(f, path, tmp, kind, err) == 0)
		return 0;
	if (*kind != FETCH_E_NOT_FOUND || !has_pct(path))
		return -1;
	if ((dec = curl_easy_unescape(f->ftp, path, 0, &n)) == NULL ||
	    memchr(dec, '\0', (size_t)n) != NULL) {
		curl_free(dec);
		return -1;
	}
	rc = ftps_get(f, dec, tmp, kind, e2);
	curl_free(dec);
	if (rc == 0 || *kind != FETCH_E_NOT_FOUND)
		memcpy(err, e2, ERRBUF_LEN);
	return rc;
}

/* Downloads an https:// url into tmp.  Returns 0 or -1 with kind and err set (never the url's query). */
static int
https_get(const struct fetch_target *t, long long max, const char *tmp,
    enum fetch_error *kind, char *err)
{
	CURLU	*u;
	CURL	*c;
	char	*host = NULL, *scheme = NULL, what[ERRBUF_LEN];
	char	 curlerr[CURL_ERROR_SIZE];
	int	 rc;

	if ((u = curl_url()) == NULL)
		return fail(kind, FETCH_E_LOCAL, err, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, t->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "https") != 0 ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		curl_free(scheme);
		curl_url_cleanup(u);
		return fail(kind, FETCH_E_USAGE, err, "cloud download: the url "
		    "is not a valid https:// URL");
	}
	snprintf(what, sizeof(what), "cloud download from %s", host);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if ((c = curl_easy_init()) == NULL)
		return fail(kind, FETCH_E_LOCAL, err, "libcurl initialisation "
		    "failed");
	set_common(c, t, curlerr);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (!empty(t->https_ca_file))
		curl_easy_setopt(c, CURLOPT_CAINFO, t->https_ca_file);
	rc = download(c, t->url, tmp, what, curlerr, max, kind, err);
	curl_easy_cleanup(c);
	return rc;
}

/* --- the entry point --- */

/*
 * The attempts of fetch_model_kind() into tmp: url first, then by name.  Returns 0 (tmp complete) or -1 with
 * kind and err set.
 */
static int
fetch_tmp(struct fetch *f, const char *tmp, enum fetch_error *kind, char *err)
{
	const struct fetch_target	*t = f->t;
	char				 path[PATH_LEN], first[ERRBUF_LEN];
	int				 https, ftp, names, printer;

	https = !empty(t->url) && strncasecmp(t->url, "https://", 8) == 0;
	ftp = fetch_url_ftps_path(t->url, path, sizeof(path));
	names = !empty(t->subtask_name) || !empty(t->gcode_file);
	printer = !empty(t->host) && !empty(t->serial);
	first[0] = '\0';
	if (https) {
		if (https_get(t, f->max, tmp, kind, err) == 0)
			return 0;
		if (!names || !printer || (*kind != FETCH_E_NOT_FOUND &&
		    *kind != FETCH_E_OTHER && *kind != FETCH_E_TLS &&
		    *kind != FETCH_E_UNREACHABLE && *kind != FETCH_E_SLOW))
			return -1;
		memcpy(first, err, sizeof(first));
	} else if (ftp) {
		if (ftps_by_url(f, path, tmp, kind, err) == 0)
			return 0;
		if (!names || *kind != FETCH_E_NOT_FOUND)
			return -1;
		memcpy(first, err, sizeof(first));
	} else if (!names) {
		return fail(kind, FETCH_E_USAGE, err, "no usable url (%s) and "
		    "no file name to look for on the printer", empty(t->url) ?
		    "none" : "unknown scheme");
	}
	if (ftps_by_name(f, tmp, kind, err) == 0)
		return 0;
	if (first[0] != '\0') {
		char	second[ERRBUF_LEN];

		memcpy(second, err, sizeof(second));
		say(err, ERRBUF_LEN, "%s; by name: %s", first, second);
	}
	return -1;
}

int
fetch_model_kind(const struct fetch_target *t, const char *dest_path,
    enum fetch_error *kind, char *err)
{
	struct fetch		 f;
	enum fetch_error	 k = FETCH_OK;
	char			 tmp[PATH_LEN + 8];
	int			 rc;

	if (kind == NULL)
		kind = &k;
	*kind = FETCH_OK;
	if (t == NULL || empty(dest_path) || strlen(dest_path) >= PATH_LEN)
		return fail(kind, FETCH_E_USAGE, err, "fetch: no target or "
		    "destination");
	if (fetch_init() == -1)
		return fail(kind, FETCH_E_LOCAL, err, "libcurl initialisation "
		    "failed");
	snprintf(tmp, sizeof(tmp), "%s.tmp", dest_path);
	if (unlink(dest_path) == -1 && errno != ENOENT)
		return fail(kind, FETCH_E_LOCAL, err, "%s: %s", dest_path,
		    strerror(errno));
	memset(&f, 0, sizeof(f));
	f.t = t;
	f.max = t->max_bytes > 0 ? t->max_bytes : FETCH_MAX_BYTES;
	rc = fetch_tmp(&f, tmp, kind, err);
	ftps_close(&f);
	if (rc == 0 && rename(tmp, dest_path) == -1) {
		rc = fail(kind, FETCH_E_LOCAL, err, "%s: %s", dest_path,
		    strerror(errno));
	}
	if (rc != 0)
		unlink(tmp);
	else
		*kind = FETCH_OK;
	return rc;
}

int
fetch_model(const struct fetch_target *t, const char *dest_path, char *err)
{
	return fetch_model_kind(t, dest_path, NULL, err);
}
