/* fetch.h: downloads the sliced file of a print job from its printer (FTPS) or the cloud (HTTPS) with libcurl. */
#ifndef WORKER_FETCH_H
#define WORKER_FETCH_H

#include <stdatomic.h>
#include <stddef.h>

#define FETCH_MAX_BYTES		(512LL * 1024 * 1024)	/* a bigger file is refused */
#define FETCH_TIMEOUT_S		10800	/* whole transfer; 512 MiB at 70 KB/s is about 2 h */
#define FETCH_CONNECT_TIMEOUT_S	20
#define FETCH_LOW_SPEED_BYTES	1024	/* abort when slower than this ... */
#define FETCH_LOW_SPEED_S	60	/* ... for this many seconds */
#define FETCH_FTPS_PORT		990

/*
 * Where a job's file is and how to reach the printer.  All strings are
 * borrowed; NULL or "" means absent.  Numbers at 0 take the defaults above.
 */
struct fetch_target {
	const char	*host;		/* printer address: IPv4, IPv6 literal or host name */
	const char	*serial;	/* the name in the printer's certificate */
	const char	*access_code;	/* FTPS password of user bblp */
	int		 ftps_port;	/* 0: 990 */
	int		 insecure;	/* 1: do not check the printer's certificate */
	const char	*ca_file;	/* Bambu CA bundle (PEM) the printer certificate is checked against */
	int		 clear_data;	/* 1: PROT C, clear data channel (A1 firmware that hangs under TLS) */

	const char	*url;		/* project_file url (ftp://, file://, https://) */
	const char	*gcode_file;	/* print.gcode_file */
	const char	*subtask_name;	/* print.subtask_name */

	const char	*https_ca_file;	/* CA for https:// (NULL: the system's store) */
	long long	 max_bytes;	/* 0: FETCH_MAX_BYTES */
	long		 timeout_s;	/* 0: FETCH_TIMEOUT_S */
	long		 connect_timeout_s;	/* 0: FETCH_CONNECT_TIMEOUT_S */
	long		 low_speed_bytes;	/* 0: FETCH_LOW_SPEED_BYTES */
	long		 low_speed_s;	/* 0: FETCH_LOW_SPEED_S */
	atomic_int	*cancel;	/* not NULL: the transfer stops soon after *cancel becomes non-zero */
};

/* Why a fetch failed, for the caller's retry decision. */
enum fetch_error {
	FETCH_OK,
	FETCH_E_UNREACHABLE,	/* connect refused, timed out, name not resolved */
	FETCH_E_AUTH,		/* login refused (530): wrong access code */
	FETCH_E_TLS,		/* handshake failed, certificate not trusted or not for the serial */
	FETCH_E_NOT_FOUND,	/* 550 / HTTP 404 / no file of that name on the printer */
	FETCH_E_TOO_LARGE,	/* over max_bytes */
	FETCH_E_SLOW,		/* low-speed limit or total timeout */
	FETCH_E_CANCELLED,	/* *cancel was set */
	FETCH_E_LOCAL,		/* writing the local file failed, out of memory */
	FETCH_E_OTHER,		/* anything else: HTTP 403, transfer error... */
	FETCH_E_USAGE		/* the target lacks what is needed (no host, no url and no name...) */
};

/*
 * Initialises libcurl once for the process (curl_global_init); safe to call
 * from several threads and more than once.  fetch_model() calls it, but a
 * program that uses libcurl elsewhere should call it (or curl_global_init)
 * in main() before it starts threads.  Returns 0, or -1 if libcurl failed.
 */
int	 fetch_init(void);

/*
 * Downloads the job's file into dest_path.  The bytes go to dest_path.tmp,
 * which is renamed to dest_path only when the transfer completed; on every
 * failure nothing is left behind (neither file).  Order of attempts:
 *   1. the url: https:// is fetched directly (TLS checked against the system
 *      store or https_ca_file, redirects followed, at most 5, https only);
 *      ftp://NAME, ftp:///PATH, file:///sdcard/PATH, file:///media/usb0/PATH
 *      are fetched from the printer's FTPS;
 *   2. when the url is absent, of another kind, or names no file (550, 404,
 *      HTTP error), by name: the printer's /cache/, /, /sdcard/, /model/ and
 *      /models/ are listed and the entry that matches subtask_name or
 *      gcode_file (with the .gcode.3mf / .3mf forms the printer uses, ':'
 *      written as '_') is fetched.
 * FTPS is implicit TLS (ftps://), user bblp, TLS 1.2 only, the TLS session
 * of the control connection reused on the data connections; the URL names
 * the serial and the connection goes to host, so the certificate is checked
 * against ca_file with the serial as the expected name (unless insecure).
 * Returns 0, or -1 with a one-line message in err (ERRBUF_LEN bytes) that
 * never holds the access code or a presigned URL's query.  kind (may be
 * NULL) receives the reason.
 */
int	 fetch_model(const struct fetch_target *t, const char *dest_path,
	    char *err);
int	 fetch_model_kind(const struct fetch_target *t, const char *dest_path,
	    enum fetch_error *kind, char *err);

/*
 * Maps a project_file url that points at the printer's storage to the FTPS
 * path ("/cache/a b.3mf"): ftp://NAME, ftp:///PATH, file:///sdcard/PATH,
 * file:///media/usb0/PATH, file:///PATH.  Returns 1 with path set (size
 * bytes), 0 when the url is not of that kind (https://, brtc://, empty) or
 * the path does not fit.
 */
int	 fetch_url_ftps_path(const char *url, char *path, size_t size);

#endif
