/* cmd_doctor.c: `spoolkeeper doctor`: checks the database, migrations, key file, Spoolman and every printer. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mosquitto.h>

#include "cli.h"
#include "conf.h"
#include "db.h"
#include "doctor.h"
#include "secret.h"
#include "spoolman_http.h"
#include "spoolman_url.h"

#define DEFAULT_CAFILE		"/etc/spoolkeeper/bambu-ca.pem"	/* as spoolkeeper-worker */
#define SPOOLMAN_TIMEOUT_S	5
#define MAX_MIGRATIONS		1000

struct doctor_opts {
	const char	*printer;	/* --printer NAME|ID, or NULL: every enabled printer */
	const char	*cafile;
	int		 timeout_ms;
};

static int
usage(void)
{
	fprintf(stderr, "usage: spoolkeeper doctor [--printer NAME|ID] [--cafile PATH] [--timeout SECONDS] "
	    "[--json]\n");
	return 2;
}

/* The database: reachable, and which server.  0 when it is. */
static int
check_database(struct doctor_report *r, struct db **dbp)
{
	struct db_result	*res;
	char			 err[ERRBUF_LEN];

	if (db_open(conf_database(), dbp, err) == -1) {
		doctor_add(r, DOCTOR_FAIL, "database", NULL, conf_database_is_default() ? "start the embedded "
		    "PostgreSQL, or set " CONF_DATABASE_ENV " to the database's conninfo" : "check " CONF_DATABASE_ENV
		    " and that PostgreSQL runs and lets this user in", "unreachable: %s", err);
		*dbp = NULL;
		return -1;
	}
	if (db_exec(*dbp, "SELECT current_database(), current_setting('server_version')", 0, NULL, &res,
	    err) == -1) {
		doctor_add(r, DOCTOR_FAIL, "database", NULL, NULL, "connected, but a first query fails: %s", err);
		return -1;
	}
	doctor_add(r, DOCTOR_OK, "database", NULL, NULL, "reachable: database %s on PostgreSQL %s",
	    db_result_get(res, 0, 0), db_result_get(res, 0, 1));
	db_result_free(res);
	return 0;
}

/* 1 if name is a migration file name NNNN_<a-z0-9_>.sql (as `spoolkeeper migrate` reads them); sets *version. */
static int
migration_name(const char *name, int *version)
{
	size_t	 i, len = strlen(name);

	if (len < 10 || len > 200 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
		return 0;
	for (i = 0; i < len - 4; i++)
		if (i != 4 && !(i < 4 ? name[i] >= '0' && name[i] <= '9' : (name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	*version = atoi(name);	/* four digits, checked above */
	return *version > 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The migration files of dir, sorted (new strings in names[], *n of them).  0, or -1 with errno. */
static int
migration_files(const char *dir, char **names, int *n)
{
	DIR		*d;
	struct dirent	*e;
	int		 v;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && *n < MAX_MIGRATIONS)
		if (migration_name(e->d_name, &v))
			names[(*n)++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)*n, sizeof(*names), by_name);
	return 0;
}

/* Migrations: every file of the sql directory applied (pending ones listed), none applied that it lacks. */
static void
check_migrations(struct doctor_report *r, struct db *db)
{
	static char		*names[MAX_MIGRATIONS];
	struct db_result	*res = NULL;
	char			 err[ERRBUF_LEN], pending[1024] = "", unknown[512] = "";
	const char		*dir = conf_sql_dir();
	int			 n, i, j, np = 0, nu = 0, found;

	errno = 0;
	if (migration_files(dir, names, &n) == -1 || n == 0) {
		doctor_add(r, DOCTOR_FAIL, "migrations", NULL, "set " CONF_SQL_DIR_ENV " to the sql/ directory of "
		    "this Spoolkeeper", "no migration files in %s%s%s", dir, errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
		return;
	}
	if (db_exec(db, "SELECT name FROM schema_migrations ORDER BY version", 0, NULL, &res, err) == -1 &&
	    !db_is(db, "42P01")) {
		doctor_add(r, DOCTOR_FAIL, "migrations", NULL, NULL, "cannot read schema_migrations: %s", err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		for (found = 0, j = 0; res != NULL && j < db_result_rows(res) && !found; j++)
			found = strcmp(db_result_get(res, j, 0), names[i]) == 0;
		if (!found && ++np)
			snprintf(pending + strlen(pending), sizeof(pending) - strlen(pending), "%s%s",
			    np > 1 ? ", " : "", names[i]);
	}
	for (j = 0; res != NULL && j < db_result_rows(res); j++) {
		for (found = 0, i = 0; i < n && !found; i++)
			found = strcmp(db_result_get(res, j, 0), names[i]) == 0;
		if (!found && ++nu)
			snprintf(unknown + strlen(unknown), sizeof(unknown) - strlen(unknown), "%s%s",
			    nu > 1 ? ", " : "", db_result_get(res, j, 0));
	}
	if (np > 0)
		doctor_add(r, DOCTOR_FAIL, "migrations", NULL, "run `spoolkeeper migrate` (the worker and the web app "
		    "need the schema of this version)", "%d of %d not applied (from %s): %s", np, n, dir, pending);
	else
		doctor_add(r, DOCTOR_OK, "migrations", NULL, NULL, "all %d applied (from %s)", n, dir);
	if (nu > 0)
		doctor_add(r, DOCTOR_WARN, "migrations", NULL, "a newer Spoolkeeper migrated this database: upgrade "
		    "this one", "applied but not in %s: %s", dir, unknown);
out:
	db_result_free(res);
	for (i = 0; i < n; i++)
		free(names[i]);
}

/* The key file: there, readable, mode 0600, loaded into *kp.  0 when usable. */
static int
check_key_file(struct doctor_report *r, struct secret_key **kp)
{
	const char	*path = conf_key_file();
	struct stat	 st;
	char		 err[ERRBUF_LEN];

	*kp = NULL;
	if (stat(path, &st) == -1) {
		doctor_add(r, errno == ENOENT ? DOCTOR_WARN : DOCTOR_FAIL, "key file", NULL, errno == ENOENT ?
		    "run `spoolkeeper key init` (then `spoolkeeper migrate` encrypts the codes stored in plain text)" :
		    NULL, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		doctor_add(r, DOCTOR_FAIL, "key file", NULL, "chmod 600 the file (and keep it owned by the user "
		    "of the worker and the web app)", "%s has mode %04o: others may read it; it must be 0600", path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (access(path, R_OK) == -1) {
		doctor_add(r, DOCTOR_FAIL, "key file", NULL, "run the doctor as the user of the worker and the web "
		    "app", "%s cannot be read by this user: %s", path, strerror(errno));
		return -1;
	}
	if (secret_key_load(path, kp, err) == -1) {
		doctor_add(r, DOCTOR_FAIL, "key file", NULL, "restore the key file from the backup", "%s", err);
		return -1;
	}
	doctor_add(r, DOCTOR_OK, "key file", NULL, NULL, "%s: present, mode 0600, a valid key", path);
	return 0;
}

/* Every printer's access code opens with the key (or is plain text: warned).  Reported once for all. */
static void
check_codes(struct doctor_report *r, struct db *db, const struct secret_key *key)
{
	struct db_result	*res;
	char			 err[ERRBUF_LEN], bad[512] = "", why[ERRBUF_LEN] = "", *plain;
	int			 i, nbad = 0, nplain = 0;

	if (db_exec(db, "SELECT name, access_code, access_code_enc FROM printers ORDER BY id", 0, NULL, &res,
	    err) == -1) {
		doctor_add(r, DOCTOR_FAIL, "access codes", NULL, NULL, "cannot read the printers: %s", err);
		return;
	}
	for (i = 0; i < db_result_rows(res); i++) {
		if (db_result_get(res, i, 2) == NULL) {
			nplain++;
			continue;
		}
		if (secret_open(key, SECRET_ACCESS_CODE, NULL, db_result_get(res, i, 2), &plain, err) == 0) {
			secret_wipe_free(plain);
			continue;
		}
		snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "%s%s", nbad++ ? ", " : "",
		    db_result_get(res, i, 0));
		snprintf(why, sizeof(why), "%s", err);
	}
	if (nbad > 0)
		doctor_add(r, DOCTOR_FAIL, "access codes", NULL, key == NULL ? "create or restore the key file" :
		    "use the key file these codes were stored with, or store the codes again", "%d of %d cannot "
		    "be decrypted (%s): %s", nbad, db_result_rows(res), why, bad);
	else
		doctor_add(r, DOCTOR_OK, "access codes", NULL, NULL, "all %d decrypt with the key file",
		    db_result_rows(res) - nplain);
	if (nplain > 0)
		doctor_add(r, DOCTOR_WARN, "access codes", NULL, "run `spoolkeeper migrate` with the key file in "
		    "place: it encrypts them", "%d stored in plain text", nplain);
	db_result_free(res);
}

/* The three Spoolman settings into new strings (NULL when unset), the password decrypted.  0 or -1 with err. */
static int
spoolman_settings(struct db *db, const struct secret_key *key, char **url, char **user, char **pw, char *err)
{
	struct db_result	*res;
	const char		*k, *v;
	int			 i, rc = 0;

	*url = *user = *pw = NULL;
	if (db_exec(db, "SELECT key, value FROM settings WHERE key IN ('spoolman_url', 'spoolman_user', "
	    "'spoolman_password')", 0, NULL, &res, err) == -1)
		return -1;
	for (i = 0; i < db_result_rows(res); i++) {
		k = db_result_get(res, i, 0);
		v = db_result_get(res, i, 1);
		if (strcmp(k, "spoolman_url") == 0)
			*url = strdup(v);
		else if (strcmp(k, "spoolman_user") == 0 && *v != '\0')
			*user = strdup(v);
		else if (strcmp(k, "spoolman_password") == 0 && secret_is_encrypted(v))
			rc = secret_decrypt(key, SECRET_SPOOLMAN_PASSWORD, v, pw, err);
		else if (strcmp(k, "spoolman_password") == 0)
			*pw = strdup(v);
	}
	db_result_free(res);
	return rc;
}

/* GET <api>/info: reachable, and Spoolman's version (from the JSON answer). */
static void
spoolman_info(struct doctor_report *r, const char *url, const char *user, const char *pw)
{
	struct spoolman_body	 body = { NULL, 0, 0, 65536, 0 };
	char			*api = spoolman_url_api(url), *redacted = spoolman_url_redact(url), info[2200];
	char			 curlerr[CURL_ERROR_SIZE] = "";
	CURL			*c = curl_easy_init();
	CURLcode		 rc = CURLE_FAILED_INIT;
	long			 status = 0;
	json_t			*j = NULL;

	snprintf(info, sizeof(info), "%s/info", api);
	if (c != NULL && spoolman_http_setup(c, &body, NULL, "spoolkeeper-doctor", curlerr, user, pw) == CURLE_OK) {
		curl_easy_setopt(c, CURLOPT_URL, info);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SPOOLMAN_TIMEOUT_S);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	}
	if (rc == CURLE_OK && status == 200)
		j = json_loadb(body.data != NULL ? body.data : "", body.len, 0, NULL);
	if (rc != CURLE_OK)
		doctor_add(r, DOCTOR_FAIL, "spoolman", NULL, "start Spoolman, or correct the setting spoolman_url "
		    "(web app: Settings)", "unreachable at %s: %s", redacted, curlerr[0] != '\0' ? curlerr :
		    curl_easy_strerror(rc));
	else if (status == 401 || status == 403 || status == 407)
		doctor_add(r, DOCTOR_FAIL, "spoolman", NULL, "check the settings spoolman_user and spoolman_password",
		    "%s refuses the login (HTTP %ld)", redacted, status);
	else if (!json_is_string(json_object_get(j, "version")))
		doctor_add(r, DOCTOR_FAIL, "spoolman", NULL, "spoolman_url must be Spoolman's address (the part "
		    "before /api/v1)", "%s answers GET /api/v1/info with HTTP %ld, not Spoolman's info", redacted,
		    status);
	else
		doctor_add(r, DOCTOR_OK, "spoolman", NULL, NULL, "reachable at %s: Spoolman %s", redacted,
		    json_string_value(json_object_get(j, "version")));
	json_decref(j);
	if (c != NULL)
		curl_easy_cleanup(c);
	spoolman_body_free(&body);
	free(api);
	free(redacted);
}

static void
check_spoolman(struct doctor_report *r, struct db *db, const struct secret_key *key)
{
	char	*url, *user, *pw, err[ERRBUF_LEN];

	if (spoolman_settings(db, key, &url, &user, &pw, err) == -1)
		doctor_add(r, DOCTOR_FAIL, "spoolman", NULL, "set the Spoolman password again (web app: Settings)",
		    "the settings cannot be read: %s", err);
	else if (url == NULL)
		doctor_add(r, DOCTOR_WARN, "spoolman", NULL, "set it in the web app (Settings) or: INSERT INTO "
		    "settings (key, value) VALUES ('spoolman_url', 'http://spoolman:7912')", "the setting spoolman_url "
		    "is not set: filament use is recorded but not sent to Spoolman");
	else
		spoolman_info(r, url, user, pw);
	free(url);
	free(user);
	if (pw != NULL)
		secret_wipe_free(pw);
}

/* A worker runs: a heartbeat less than a minute old (the worker writes one every few seconds). */
static void
check_worker(struct doctor_report *r, struct db *db)
{
	struct db_result	*res;
	char			 err[ERRBUF_LEN];
	long long		 n = 0;

	if (db_exec(db, "SELECT count(*), round(extract(epoch FROM now() - max(seen_at)))::bigint, "
	    "string_agg(worker_id, ', ' ORDER BY worker_id) FROM worker_heartbeats "
	    "WHERE seen_at > now() - interval '1 minute'", 0, NULL, &res, err) == -1) {
		doctor_add(r, DOCTOR_FAIL, "worker", NULL, NULL, "cannot read the heartbeats: %s", err);
		return;
	}
	if (db_result_int64(res, 0, 0, &n) == 0 && n > 0)
		doctor_add(r, DOCTOR_OK, "worker", NULL, NULL, "%lld running (heartbeat %s s ago): %s", n,
		    db_result_get(res, 0, 1), db_result_get(res, 0, 2));
	else
		doctor_add(r, DOCTOR_WARN, "worker", NULL, "start it (systemctl start spoolkeeper-worker) and read "
		    "its log (journalctl -u spoolkeeper-worker)", "no worker has written a heartbeat in the last "
		    "minute: nothing follows the printers");
	db_result_free(res);
}

/* One printer row (the columns of PRINTERS_SQL) through every network check. */
static void
check_printer(struct doctor_report *r, const struct db_result *res, int i, const struct secret_key *key,
    const struct doctor_opts *o)
{
	struct doctor_target	 t;
	char			*code = NULL, err[ERRBUF_LEN];
	long long		 v;

	memset(&t, 0, sizeof(t));
	t.name = db_result_get(res, i, 1);
	t.host = db_result_get(res, i, 2);
	t.serial = db_result_get(res, i, 3);
	t.mqtt_port = db_result_int64(res, i, 4, &v) == 0 ? (int)v : 8883;
	t.ftps_port = db_result_int64(res, i, 5, &v) == 0 ? (int)v : 990;
	t.insecure = db_result_bool(res, i, 6) == 1;
	t.cafile = o->cafile;
	t.timeout_ms = o->timeout_ms;
	if (db_result_bool(res, i, 9) != 1)
		doctor_add(r, DOCTOR_WARN, "enabled", t.name, "enable it in the web app when it should be followed",
		    "the printer is disabled: the worker does not follow it");
	if (secret_open(key, SECRET_ACCESS_CODE, db_result_get(res, i, 7), db_result_get(res, i, 8), &code,
	    err) == -1)
		doctor_add(r, DOCTOR_FAIL, "access code", t.name, "see the key file check", "%s", err);
	t.access_code = code;
	doctor_net_check(r, &t);
	if (code != NULL)
		secret_wipe_free(code);
}

/* Every enabled printer, or the one of --printer (by name or id, enabled or not). */
static void
check_printers(struct doctor_report *r, struct db *db, const struct secret_key *key, const struct doctor_opts *o)
{
	struct db_result	*res;
	const char		*p[1] = { o->printer };
	char			 err[ERRBUF_LEN];
	int			 i;

	if (db_exec(db, "SELECT id, name, host, serial, mqtt_port, ftps_port, insecure_tls, access_code, "
	    "access_code_enc, enabled FROM printers WHERE CASE WHEN $1::text IS NULL THEN enabled "
	    "ELSE lower(name) = lower($1) OR id::text = $1 END ORDER BY id", 1, p, &res, err) == -1) {
		doctor_add(r, DOCTOR_FAIL, "printers", NULL, NULL, "cannot read the printers: %s", err);
		return;
	}
	if (db_result_rows(res) == 0) {
		if (o->printer != NULL)
			doctor_add(r, DOCTOR_FAIL, "printers", NULL, "see `spoolkeeper printer list`",
			    "no printer named or numbered \"%s\"", o->printer);
		else
			doctor_add(r, DOCTOR_WARN, "printers", NULL, "add one: `spoolkeeper printer add ...` or the web "
			    "app", "no enabled printer: nothing to follow");
	}
	for (i = 0; i < db_result_rows(res); i++)
		check_printer(r, res, i, key, o);
	db_result_free(res);
}

/* Reads the options into o; 0, or -1 on a usage error. */
static int
parse_options(int argc, char *argv[], struct doctor_opts *o, int *json)
{
	static const struct option longopts[] = {
		{ "printer",	required_argument, NULL, 'p' },
		{ "cafile",	required_argument, NULL, 'c' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	char	*end;
	long	 s;
	int	 ch;

	o->printer = NULL;
	o->cafile = getenv("SPOOLKEEPER_CA_FILE") != NULL && *getenv("SPOOLKEEPER_CA_FILE") != '\0' ?
	    getenv("SPOOLKEEPER_CA_FILE") : DEFAULT_CAFILE;
	o->timeout_ms = 3000;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o->printer = optarg;
			break;
		case 'c':
			o->cafile = optarg;
			break;
		case 't':
			s = strtol(optarg, &end, 10);
			if (*end != '\0' || s < 1 || s > 60)
				return -1;
			o->timeout_ms = (int)s * 1000;
			break;
		case 'j':
			*json = 1;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int
cmd_doctor(int argc, char *argv[])
{
	struct doctor_report	 r;
	struct doctor_opts	 o;
	struct secret_key	*key = NULL;
	struct db		*db = NULL;
	int			 db_ok, st;

	memset(&r, 0, sizeof(r));
	if (parse_options(argc, argv, &o, &r.json) == -1)
		return usage();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "spoolkeeper: doctor: cannot initialise libcurl or libmosquitto\n");
		return 1;
	}
	db_ok = check_database(&r, &db) == 0;
	if (db_ok)
		check_migrations(&r, db);
	(void)check_key_file(&r, &key);
	if (db_ok) {
		check_codes(&r, db, key);
		check_spoolman(&r, db, key);
		check_worker(&r, db);
		check_printers(&r, db, key, &o);
	} else
		doctor_add(&r, DOCTOR_WARN, "the rest", NULL, NULL, "migrations, Spoolman and printers not checked: "
		    "their settings are in the database");
	st = doctor_finish(&r);
	secret_key_free(key);
	db_close(db);
	mosquitto_lib_cleanup();
	curl_global_cleanup();
	return st;
}
