/* wt_spoolman.h: the Spoolman stand-in (tests/spoolman/spoolman_standin.py) as a child of a web handler test. */
#ifndef WT_SPOOLMAN_H
#define WT_SPOOLMAN_H

#include <sys/types.h>

struct app;

/* One running stand-in. */
struct wt_spoolman {
	pid_t	 pid;
	int	 port;
	char	 url[64];	/* "http://127.0.0.1:<port>" */
};

/*
 * Starts python3 tests/spoolman/spoolman_standin.py --port 0 with the extra arguments args (NULL-terminated; NULL:
 * none) and waits (up to 15 s, never a fixed sleep) for its "LISTENING <port>" line.  The script is
 * $SK_SPOOLMAN_STANDIN when set.  The child gets SIGTERM when the test process ends.  Asserts on failure.
 */
void	 wt_spoolman_start(struct wt_spoolman *, const char *const *args);

/* Stops it (SIGTERM, then waits for it). */
void	 wt_spoolman_stop(struct wt_spoolman *);

/* POSTs body (JSON) to its /_control/<what> ("fault", "reset"...) and asserts 200. */
void	 wt_spoolman_control(const struct wt_spoolman *, const char *what, const char *body);

/* Sends method /api/v1<path> with the JSON body to it (as a client would, to set up data) and asserts a 2xx. */
void	 wt_spoolman_api(const struct wt_spoolman *, const char *method, const char *path, const char *body);

/* Points the app at it: the setting spoolman_url (user and password removed). */
void	 wt_spoolman_use(struct app *, const struct wt_spoolman *);

#endif
