/* doctor.h: `spoolkeeper doctor`: its report (one line per check) and the network probes of a printer. */
#ifndef WORKER_CLI_DOCTOR_H
#define WORKER_CLI_DOCTOR_H

#include <jansson.h>

#include "errbuf.h"

enum doctor_status {
	DOCTOR_OK,
	DOCTOR_WARN,
	DOCTOR_FAIL
};

/* The checks made so far: a JSON array of {"check", "printer", "status", "message", "fix"}. */
struct doctor_report {
	json_t	*checks;
	int	 failed;	/* how many FAIL */
	int	 json;		/* print nothing until the end (--json) */
};

/*
 * doctor.c: adds one check: status, what was checked ("database", "mqtt login"...), the printer's name (NULL: none), a
 * plain-words message and, for warn and FAIL, what to do (fix, NULL: nothing to add).  Without --json the line
 * is printed at once: "ok    <check>: <message>", "FAIL  <printer>: <check>: <message>" followed by an indented
 * "-> <fix>" line.  Copies every string.
 */
void	 doctor_add(struct doctor_report *, enum doctor_status, const char *check, const char *printer,
	    const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * doctor.c: ends the report: with --json prints {"ok": bool, "failed": N, "checks": [...]} on stdout, else a
 * last line "N checks: all ok" or "N checks, N failed".  Frees the checks.  Returns the exit status: 0 when
 * nothing failed (warnings allowed), else 1.
 */
int	 doctor_finish(struct doctor_report *);

/* What the probes of one printer need.  Strings are borrowed. */
struct doctor_target {
	const char	*name;
	const char	*host;
	const char	*serial;
	const char	*access_code;	/* NULL: it could not be read (the logins are then not tried) */
	const char	*cafile;
	int		 mqtt_port, ftps_port;
	int		 insecure;	/* printers.insecure_tls: the certificate is not checked */
	int		 timeout_ms;
};

/* doctor_net.c: runs every check of one printer (TCP to MQTT and FTPS, TLS certificate, MQTT login, FTPS login) into r. */
void	 doctor_net_check(struct doctor_report *r, const struct doctor_target *t);

#endif
