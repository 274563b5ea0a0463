/* doctor_net.c: `spoolkeeper doctor`'s checks of one printer: TCP to MQTT and FTPS, the TLS certificate, both logins. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "doctor.h"
#include "tcp_open.h"

#define LOGIN_TIMEOUT_S	10	/* MQTT CONNACK and the FTPS listing */
#define FIX_UNREACHABLE	"check that the printer is on and in the network, that its address (host) is right " \
			"and that no firewall is in the way; on the printer, LAN mode must be enabled"
#define FIX_CODE	"read the access code on the printer's screen (Settings, Network / LAN Only) and store it: " \
			"PATCH /api/v1/printers/{id} or the web app's printer page; it changes when LAN mode is " \
			"switched off and on again"

/* TCP reachability of one port: one check line.  0 when reachable. */
static int
check_port(struct doctor_report *r, const struct doctor_target *t, const char *what, int port)
{
	char	 err[ERRBUF_LEN], check[32];
	int	 fd;

	snprintf(check, sizeof(check), "%s port", what);
	if ((fd = tcp_open(t->host, port, t->timeout_ms, err)) == -1) {
		doctor_add(r, DOCTOR_FAIL, check, t->name, FIX_UNREACHABLE, "unreachable: %s:%d: %s", t->host, port,
		    err);
		return -1;
	}
	close(fd);
	doctor_add(r, DOCTOR_OK, check, t->name, NULL, "%s:%d answers", t->host, port);
	return 0;
}

/* The certificate's subject CN into buf ("?" when it has none). */
static void
subject_cn(X509 *cert, char *buf, size_t len)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, (int)len) < 0)
		snprintf(buf, len, "?");
}

/* Judges a finished handshake: chain against the CA file, then the name against the serial.  0 when both hold. */
static int
judge_cert(struct doctor_report *r, const struct doctor_target *t, SSL *ssl)
{
	X509	*cert = SSL_get1_peer_certificate(ssl);
	long	 v = SSL_get_verify_result(ssl);
	char	 cn[256];
	int	 rc = -1;

	if (cert == NULL) {
		doctor_add(r, DOCTOR_FAIL, "tls certificate", t->name, "is this a Bambu printer's MQTT port?",
		    "the printer sent no certificate");
		return -1;
	}
	subject_cn(cert, cn, sizeof(cn));
	if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID)
		doctor_add(r, DOCTOR_FAIL, "tls certificate", t->name, "check the clock of this machine (and of the "
		    "printer)", "the certificate of %s is %s", cn, X509_verify_cert_error_string(v));
	else if (v != X509_V_OK)
		doctor_add(r, DOCTOR_FAIL, "tls certificate", t->name, "use the Bambu CA bundle as the CA file "
		    "(SPOOLKEEPER_CA_FILE or --cafile); if it is the right one, the device at this address is not the "
		    "printer you think", "certificate not signed by the Bambu CA (the CA file %s): %s", t->cafile,
		    X509_verify_cert_error_string(v));
	else if (X509_check_host(cert, t->serial, 0, 0, NULL) != 1)
		doctor_add(r, DOCTOR_FAIL, "tls certificate", t->name, "check the serial stored for this printer "
		    "(printer list) against the one on the printer's screen, and that the address reaches that printer",
		    "name mismatch: the certificate is for %s, not the serial %s stored for this printer", cn,
		    t->serial);
	else {
		doctor_add(r, DOCTOR_OK, "tls certificate", t->name, NULL, "%s, signed by the CA in %s", cn,
		    t->cafile);
		rc = 0;
	}
	X509_free(cert);
	return rc;
}

/* The TLS handshake on the MQTT port and the certificate checks.  0 when the certificate is good. */
static int
check_tls(struct doctor_report *r, const struct doctor_target *t)
{
	SSL_CTX		*ctx = NULL;
	SSL		*ssl = NULL;
	struct timeval	 tv = { t->timeout_ms / 1000, (t->timeout_ms % 1000) * 1000 };
	char		 err[ERRBUF_LEN];
	int		 fd = -1, rc = -1;

	if (t->insecure) {
		doctor_add(r, DOCTOR_WARN, "tls certificate", t->name, "turn insecure_tls off for this printer once "
		    "the CA file is right", "not checked: insecure_tls is on for this printer");
		return 0;
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(ctx, t->cafile, NULL) != 1) {
		doctor_add(r, DOCTOR_FAIL, "tls certificate", t->name, "set SPOOLKEEPER_CA_FILE or --cafile to the "
		    "Bambu CA bundle", "the CA file %s cannot be read or holds no certificate", t->cafile);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);	/* judged after the handshake, to say why */
	if ((fd = tcp_open(t->host, t->mqtt_port, t->timeout_ms, err)) == -1) {
		doctor_add(r, DOCTOR_WARN, "tls certificate", t->name, NULL, "not checked: MQTT port unreachable");
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
		unsigned long	 e = ERR_get_error();

		doctor_add(r, DOCTOR_FAIL, "tls certificate", t->name, "is this port the printer's MQTT over TLS "
		    "(8883)?", "no TLS handshake with %s:%d: %s", t->host, t->mqtt_port,
		    e != 0 ? ERR_reason_error_string(e) : "the connection closed or timed out");
		goto out;
	}
	rc = judge_cert(r, t, ssl);
out:
	ERR_clear_error();
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd != -1)
		close(fd);
	SSL_CTX_free(ctx);
	return rc;
}

/* libmosquitto's connect callback: keeps the CONNACK code. */
static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	*(int *)arg = rc;
}

/* MQTT login as bblp with the access code: the CONNACK code says whether the printer takes it. */
static void
check_mqtt_login(struct doctor_report *r, const struct doctor_target *t)
{
	struct mosquitto	*m;
	char			 id[64];
	int			 connack = -1, rc;
	time_t			 end = time(NULL) + LOGIN_TIMEOUT_S;

	snprintf(id, sizeof(id), "spoolkeeper-doctor-%ld", (long)getpid());
	if ((m = mosquitto_new(id, true, &connack)) == NULL) {
		doctor_add(r, DOCTOR_FAIL, "mqtt login", t->name, NULL, "cannot create an MQTT client");
		return;
	}
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_username_pw_set(m, "bblp", t->access_code);
	if ((rc = mosquitto_tls_set(m, t->cafile, NULL, NULL, NULL, NULL)) != MOSQ_ERR_SUCCESS ||
	    (rc = mosquitto_tls_opts_set(m, t->insecure ? 0 : 1, "tlsv1.2", NULL)) != MOSQ_ERR_SUCCESS ||
	    (rc = mosquitto_tls_insecure_set(m, true)) != MOSQ_ERR_SUCCESS ||	/* names: see check_tls */
	    (rc = mosquitto_connect(m, t->host, t->mqtt_port, 30)) != MOSQ_ERR_SUCCESS) {
		doctor_add(r, DOCTOR_FAIL, "mqtt login", t->name, FIX_UNREACHABLE, "unreachable: %s:%d: %s",
		    t->host, t->mqtt_port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		goto out;
	}
	while (connack == -1 && time(NULL) < end)
		if (mosquitto_loop(m, 200, 1) != MOSQ_ERR_SUCCESS && connack == -1)
			break;
	if (connack == 0)
		doctor_add(r, DOCTOR_OK, "mqtt login", t->name, NULL, "the printer accepts bblp with the access code");
	else if (connack == 4 || connack == 5)
		doctor_add(r, DOCTOR_FAIL, "mqtt login", t->name, FIX_CODE, "the printer rejects the access code "
		    "(CONNACK %d: %s)", connack, mosquitto_connack_string(connack));
	else if (connack > 0)
		doctor_add(r, DOCTOR_FAIL, "mqtt login", t->name, NULL, "the printer refuses the connection (CONNACK "
		    "%d: %s)", connack, mosquitto_connack_string(connack));
	else
		doctor_add(r, DOCTOR_FAIL, "mqtt login", t->name, FIX_UNREACHABLE, "no answer to the login within "
		    "%d s", LOGIN_TIMEOUT_S);
	mosquitto_disconnect(m);
out:
	mosquitto_destroy(m);
}

/* Counts the lines of the listing (the names in "/"). */
static size_t
count_lines(char *data, size_t size, size_t n, void *arg)
{
	size_t	 i, *lines = arg;

	for (i = 0; i < size * n; i++)
		if (data[i] == '\n')
			(*lines)++;
	return size * n;
}

/* Sets the options of the FTPS listing: implicit TLS 1.2 to host, named as the serial (as the worker does). */
static void
ftps_setup(CURL *c, const struct doctor_target *t, struct curl_slist *to, char *url, size_t urllen,
    char *curlerr, size_t *lines)
{
	snprintf(url, urllen, "ftps://%s:%d/", t->serial, t->ftps_port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "ftps");
	curl_easy_setopt(c, CURLOPT_CONNECT_TO, to);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
	/* For FTP the connect phase includes the login, which a server delays after a wrong password. */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)LOGIN_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)LOGIN_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_USERNAME, "bblp");
	curl_easy_setopt(c, CURLOPT_PASSWORD, t->access_code);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
	curl_easy_setopt(c, CURLOPT_CAINFO, t->cafile);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, t->insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, t->insecure ? 0L : 2L);
	curl_easy_setopt(c, CURLOPT_FTP_SKIP_PASV_IP, 1L);
	curl_easy_setopt(c, CURLOPT_DIRLISTONLY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_lines);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, lines);
}

/* FTPS login as bblp and a listing of the root, as the worker's downloads do. */
static void
check_ftps_login(struct doctor_report *r, const struct doctor_target *t)
{
	CURL			*c;
	struct curl_slist	*to;
	char			 map[600], url[160], curlerr[CURL_ERROR_SIZE] = "";
	size_t			 lines = 0;
	CURLcode		 rc;

	snprintf(map, sizeof(map), "%s:%d:%s%s%s:%d", t->serial, t->ftps_port, strchr(t->host, ':') ? "[" : "",
	    t->host, strchr(t->host, ':') ? "]" : "", t->ftps_port);
	if ((to = curl_slist_append(NULL, map)) == NULL || (c = curl_easy_init()) == NULL) {
		curl_slist_free_all(to);
		doctor_add(r, DOCTOR_FAIL, "ftps login", t->name, NULL, "libcurl initialisation failed");
		return;
	}
	ftps_setup(c, t, to, url, sizeof(url), curlerr, &lines);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		doctor_add(r, DOCTOR_OK, "ftps login", t->name, NULL, "logged in as bblp and listed / (%zu names)",
		    lines);
	else if (rc == CURLE_LOGIN_DENIED)
		doctor_add(r, DOCTOR_FAIL, "ftps login", t->name, FIX_CODE, "the printer rejects the access code "
		    "(FTPS login refused)");
	else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
		doctor_add(r, DOCTOR_FAIL, "ftps login", t->name, "see the tls certificate check above",
		    "the certificate is refused: %s", curlerr[0] != '\0' ? curlerr : curl_easy_strerror(rc));
	else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_RESOLVE_HOST)
		doctor_add(r, DOCTOR_FAIL, "ftps login", t->name, FIX_UNREACHABLE, "unreachable: %s",
		    curlerr[0] != '\0' ? curlerr : curl_easy_strerror(rc));
	else
		doctor_add(r, DOCTOR_FAIL, "ftps login", t->name, NULL, "failed: %s",
		    curlerr[0] != '\0' ? curlerr : curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(to);
}

void
doctor_net_check(struct doctor_report *r, const struct doctor_target *t)
{
	int	 mqtt_up, ftps_up, tls_ok = 0;	/* 0: good or not checked (the MQTT port is down) */

	mqtt_up = check_port(r, t, "mqtt", t->mqtt_port) == 0;
	ftps_up = check_port(r, t, "ftps", t->ftps_port) == 0;
	if (mqtt_up)
		tls_ok = check_tls(r, t);
	if (t->access_code == NULL) {
		doctor_add(r, DOCTOR_WARN, "logins", t->name, NULL, "not tried: the access code cannot be read "
		    "(see the key file check)");
		return;
	}
	if (!mqtt_up || tls_ok == -1)
		doctor_add(r, DOCTOR_WARN, "mqtt login", t->name, NULL, "not tried: %s", !mqtt_up ?
		    "the MQTT port is unreachable" : "the TLS certificate check failed");
	else
		check_mqtt_login(r, t);
	if (!ftps_up || tls_ok == -1)
		doctor_add(r, DOCTOR_WARN, "ftps login", t->name, NULL, "not tried: %s", !ftps_up ?
		    "the FTPS port is unreachable" : "the TLS certificate check failed");
	else
		check_ftps_login(r, t);
}
