/* session.c: one printer's MQTT session: TLS to its broker, subscribe, pushall, events into the queue. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "counters.h"
#include "errbuf.h"
#include "session.h"
#include "tcp_open.h"
#include "xmalloc.h"

#define KEEPALIVE	30
#define PROBE_MS	3000	/* the TCP probe that names why a connection failed */
#define PUSHALL		"{\"pushing\":{\"sequence_id\":\"0\",\"command\":\"pushall\"}}"

struct session {
	struct mosquitto	*m;
	int			 insecure;
	char			 serial[64];
	struct queue		*q;
	long long		 printer_id;
	char			 report[128];	/* device/<serial>/report */
	char			 request[128];	/* device/<serial>/request */
	char			 host[256];
	int			 port;
	int			 up;		/* the printer accepted the login on this connection */
	int			 refused;	/* the last CONNACK refused the login */
	char			 tls_err[200];	/* the last TLS error libmosquitto logged, "" if none */
};

int
session_lib_init(void)
{
	return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : -1;
}

void
session_lib_cleanup(void)
{
	mosquitto_lib_cleanup();
}

/* True when the peer's certificate names the printer's serial (or checking is off). */
static int
peer_is_serial(struct session *s)
{
	SSL	*ssl;
	X509	*cert;
	int	 ok;

	if (s->insecure)
		return 1;
	if ((ssl = mosquitto_ssl_get(s->m)) == NULL ||
	    (cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return 0;
	ok = X509_check_host(cert, s->serial, 0, 0, NULL) == 1;
	X509_free(cert);
	return ok;
}

/*
 * Pushes a disconnect whose payload names the problem, "KIND\tmessage" (KIND: auth, tls or unreachable), for
 * the fleet to show (worker/conn_error.h).
 */
static void
problem(struct session *s, int rc, const char *kind, const char *fmt, ...)
{
	char	buf[ERRBUF_LEN + 16];
	int	n;
	va_list	ap;

	n = snprintf(buf, sizeof(buf), "%s\t", kind);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	queue_push(s->q, s->printer_id, QUEUE_DISCONNECTED, rc, buf, strlen(buf));
}

/*
 * Names the first TLS error libmosquitto logs before a login ("OpenSSL Error[0]: ...: certificate verify
 * failed"): its network thread then ends without a disconnect callback, so this is the only word of it.
 */
static void
on_log(struct mosquitto *m, void *arg, int level, const char *str)
{
	struct session	*s = arg;
	const char	*p;

	(void)m;
	if (!(level & MOSQ_LOG_ERR) || strstr(str, "SSL") == NULL || s->up || s->tls_err[0] != '\0')
		return;
	p = strstr(str, "]: ");
	snprintf(s->tls_err, sizeof(s->tls_err), "%s", p != NULL ? p + 3 : str);
	problem(s, MOSQ_ERR_TLS, "tls", "TLS with %s:%d failed: %s", s->host, s->port, s->tls_err);
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct session *s = arg;

	if (rc == 0 && !peer_is_serial(s)) {
		/* Not the printer we were told of: say so, and let the loop retry. */
		mosquitto_disconnect(m);
		problem(s, -1, "tls", "the certificate of %s:%d does not name the printer's serial %s", s->host,
		    s->port, s->serial);
		return;
	}
	if (rc != 0) {
		counters_add(COUNTER_MQTT_REFUSED, 1);	/* CONNACK: bad login or identifier */
		s->refused = 1;
		if (rc == 4 || rc == 5)
			problem(s, rc, "auth", "the printer rejects the access code (MQTT user bblp)");
		else
			problem(s, rc, "auth", "the printer refused the MQTT login: %s", mosquitto_connack_string(rc));
		return;
	}
	s->up = 1;
	s->refused = 0;
	s->tls_err[0] = '\0';
	mosquitto_subscribe(m, NULL, s->report, 0);
	mosquitto_publish(m, NULL, s->request, (int)strlen(PUSHALL), PUSHALL, 0, false);
	queue_push(s->q, s->printer_id, QUEUE_CONNECTED, 0, NULL, 0);
}

/*
 * A connection that failed before the login: unless on_log() named a TLS error, a TCP probe of host:port (on
 * this session's own network thread, so no other printer waits) names the problem.
 */
static void
diagnose(struct session *s, int rc)
{
	char	err[ERRBUF_LEN];
	int	fd;

	if (s->tls_err[0] != '\0') {
		/* on_log() named it. */
		queue_push(s->q, s->printer_id, QUEUE_DISCONNECTED, rc, NULL, 0);
		return;
	}
	if ((fd = tcp_open(s->host, s->port, PROBE_MS, err)) == -1) {
		problem(s, rc, "unreachable", "cannot reach %s:%d: %s", s->host, s->port, err);
		return;
	}
	close(fd);
	problem(s, rc, "tls", "%s:%d accepts connections but the TLS session failed: %s", s->host, s->port,
	    mosquitto_strerror(rc));
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct session *s = arg;

	(void)m;
	if (s->up || s->refused || rc == 0) {
		/* A connection that was up, or a refused login (already said): no new problem to name. */
		s->up = 0;
		s->refused = 0;
		queue_push(s->q, s->printer_id, QUEUE_DISCONNECTED, rc, NULL, 0);
		return;
	}
	diagnose(s, rc);
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct session *s = arg;

	(void)m;
	if (msg->payloadlen > 0)
		queue_push(s->q, s->printer_id, QUEUE_REPORT, 0, msg->payload,
		    (size_t)msg->payloadlen);
}

/*
 * Bambu printers present a certificate named after their serial, not their
 * address: libmosquitto checks the chain against the CA file but not the
 * name (tls_insecure), and on_connect() checks the serial itself.
 */
static int
tls_setup(struct session *s, const struct session_conf *c, char *err)
{
	int rc;

	if ((rc = mosquitto_tls_set(s->m, c->cafile, NULL, NULL, NULL,
	    NULL)) != 0 || (rc = mosquitto_tls_opts_set(s->m, c->insecure ? 0 :
	    1, "tlsv1.2", NULL)) != 0 ||
	    (rc = mosquitto_tls_insecure_set(s->m, true)) != 0)
		return errbuf_set(err, "TLS with CA file %s: %s", c->cafile,
		    mosquitto_strerror(rc));
	return 0;
}

static int
configure(struct session *s, const struct session_conf *c, char *err)
{
	if (tls_setup(s, c, err) == -1)
		return -1;
	mosquitto_username_pw_set(s->m, "bblp", c->access_code);
	mosquitto_connect_callback_set(s->m, on_connect);
	mosquitto_disconnect_callback_set(s->m, on_disconnect);
	mosquitto_message_callback_set(s->m, on_message);
	mosquitto_log_callback_set(s->m, on_log);
	mosquitto_reconnect_delay_set(s->m, 1, 60, true);
	return 0;
}

struct session *
session_start(const struct session_conf *c, struct queue *q, char *err)
{
	struct session	*s = xcalloc(1, sizeof(*s));
	int		 rc;

	s->q = q;
	s->printer_id = c->printer_id;
	s->insecure = c->insecure;
	snprintf(s->serial, sizeof(s->serial), "%s", c->serial);
	snprintf(s->host, sizeof(s->host), "%s", c->host);
	s->port = c->port;
	snprintf(s->report, sizeof(s->report), "device/%s/report", c->serial);
	snprintf(s->request, sizeof(s->request), "device/%s/request",
	    c->serial);
	if ((s->m = mosquitto_new(c->client_id, true, s)) == NULL) {
		errbuf_set(err, "cannot create an MQTT client");
		goto fail;
	}
	if (configure(s, c, err) == -1)
		goto fail;
	/* A first connect that fails is retried by the loop like any other; its problem is named now. */
	if ((rc = mosquitto_connect_async(s->m, c->host, c->port, KEEPALIVE)) == MOSQ_ERR_EAI)
		problem(s, rc, "unreachable", "cannot resolve %s: %s", s->host, mosquitto_strerror(rc));
	else if (rc == MOSQ_ERR_ERRNO)
		problem(s, rc, "unreachable", "cannot reach %s:%d: %s", s->host, s->port, strerror(errno));
	if ((rc = mosquitto_loop_start(s->m)) != MOSQ_ERR_SUCCESS) {
		errbuf_set(err, "MQTT loop: %s", mosquitto_strerror(rc));
		goto fail;
	}
	return s;
fail:
	if (s->m != NULL)
		mosquitto_destroy(s->m);
	free(s);
	return NULL;
}

int
session_pushall(struct session *s)
{
	return mosquitto_publish(s->m, NULL, s->request, (int)strlen(PUSHALL),
	    PUSHALL, 0, false) == MOSQ_ERR_SUCCESS ? 0 : -1;
}

void
session_stop(struct session *s)
{
	if (s == NULL)
		return;
	mosquitto_disconnect(s->m);
	mosquitto_loop_stop(s->m, true);
	mosquitto_destroy(s->m);
	free(s);
}
