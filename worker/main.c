/* main.c: spoolkeeper-worker: follows the printers, charges finished layers, drains the Spoolman outbox. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "errbuf.h"
#include "fleet.h"
#include "notify.h"
#include "log.h"
#include "outbox.h"
#include "planner.h"
#include "queue.h"
#include "secret.h"
#include "session.h"
#include "spoolman.h"

#define SYNC_EVERY	5	/* seconds between lease renewals and printer reloads, at most */
#define DEFAULT_CAFILE	"/etc/spoolkeeper/bambu-ca.pem"

struct options {
	char		 worker_id[128];
	const char	*cafile;
	const char	*cache_dir;
	const char	*key_file;
	int		 max_printers;
	int		 lease_ttl;
};

static atomic_int stop;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: spoolkeeper-worker [--worker-id ID] [--cafile "
	    "PATH] [--cache-dir DIR] [--key-file PATH] [--max-printers N] "
	    "[--lease-ttl S]\n");
	exit(2);
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
	char	host[64] = "worker";
	int	i;

	gethostname(host, sizeof(host) - 1);
	snprintf(o->worker_id, sizeof(o->worker_id), "%s-%d", host,
	    (int)getpid());
	o->cafile = getenv("SPOOLKEEPER_CA_FILE") != NULL ?
	    getenv("SPOOLKEEPER_CA_FILE") : DEFAULT_CAFILE;
	o->cache_dir = getenv("SPOOLKEEPER_CACHE_DIR") != NULL ?
	    getenv("SPOOLKEEPER_CACHE_DIR") : "/tmp";
	o->key_file = conf_key_file();
	o->max_printers = 0;
	o->lease_ttl = 0;
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--worker-id") == 0)
			snprintf(o->worker_id, sizeof(o->worker_id), "%s",
			    argv[++i]);
		else if (strcmp(argv[i], "--cafile") == 0)
			o->cafile = argv[++i];
		else if (strcmp(argv[i], "--cache-dir") == 0)
			o->cache_dir = argv[++i];
		else if (strcmp(argv[i], "--key-file") == 0)
			o->key_file = argv[++i];
		else if (strcmp(argv[i], "--max-printers") == 0)
			o->max_printers = atoi(argv[++i]);
		else if (strcmp(argv[i], "--lease-ttl") == 0)
			o->lease_ttl = atoi(argv[++i]);
		else
			usage();
	}
}

/*
 * Loads the key file into *kp.  A missing file is only warned about (*kp NULL: printers with a plain access code
 * still work, encrypted ones are skipped); a file that cannot be used is fatal.  0 or -1 (message printed).
 */
static int
load_key(const char *path, struct secret_key **kp)
{
	char	err[ERRBUF_LEN];

	if (secret_key_load(path, kp, err) == 0)
		return 0;
	if (errno == ENOENT) {
		log_msg(LOGL_WARN, 0, 0, "%s; printers whose access code is stored encrypted are skipped", err);
		return 0;
	}
	log_msg(LOGL_ERROR, 0, 0, "%s", err);
	return -1;
}

static int
listen_all(struct db *db, char *err)
{
	if (db_listen(db, "spoolkeeper_printers", err) == -1 ||
	    db_listen(db, "spoolkeeper_planned", err) == -1)
		return -1;
	return 0;
}

/* Handles notifications; sets *sync when the printers changed. */
static int
notifications(struct db *db, struct fleet *f, int *sync, char *err)
{
	struct db_notify *n;

	if (db_wait(db, 0, err) == -1)
		return -1;
	for (;;) {
		if (db_notify_next(db, &n, err) == -1)
			return -1;
		if (n == NULL)
			return 0;
		if (strcmp(n->channel, "spoolkeeper_printers") == 0)
			*sync = 1;
		else if (strcmp(n->channel, "spoolkeeper_planned") == 0)
			fleet_planned(f, atoll(n->payload));
		db_notify_free(n);
	}
}

static void
drain_queue(struct queue *q, struct fleet *f)
{
	struct queue_msg *m;

	queue_drain_fd(q);
	while ((m = queue_pop(q)) != NULL) {
		fleet_dispatch(f, m, time(NULL));
		free(m);
	}
}

/* The tracker's loop: MQTT events, notifications, and timers, until a signal. */
static void
run(struct db *db, struct queue *q, struct fleet *f, int sync_every)
{
	struct pollfd	pfd[2];
	time_t		now, last_sync = 0, last_tick = 0;
	int		sync = 1, db_ok = 1;
	char		err[ERRBUF_LEN];

	while (!atomic_load(&stop)) {
		pfd[0].fd = queue_fd(q);
		pfd[0].events = POLLIN;
		pfd[1].fd = db_ok ? db_socket(db) : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR)
			break;
		drain_queue(q, f);
		if (db_ok && (pfd[1].revents & POLLIN) &&
		    notifications(db, f, &sync, err) == -1)
			db_ok = 0;
		now = time(NULL);
		if (!db_ok) {
			if (db_check(db, err) == -1 || listen_all(db, err) == -1) {
				log_msg(LOGL_ERROR, 0, 0, "database: %s", err);
				sleep(1);
				continue;
			}
			db_ok = sync = 1;
		}
		if (sync || now - last_sync >= sync_every) {
			if (fleet_sync(f, now, err) == -1) {
				log_msg(LOGL_ERROR, 0, 0, "sync: %s", err);
				db_ok = 0;
			}
			last_sync = now;
			sync = 0;
		}
		if (now != last_tick) {	/* throttles and watchdogs count seconds */
			fleet_tick(f, now);
			last_tick = now;
		}
	}
}

int
main(int argc, char *argv[])
{
	struct options		 o;
	struct fleet_conf	 fc;
	struct outbox_ctx	 oc;
	struct planner_ctx	 pc;
	struct notify_ctx	 nc;
	struct sigaction	 sa;
	struct secret_key	*key;
	struct db		*db;
	struct queue		*q;
	struct fleet		*f;
	pthread_t		 outbox_tid, planner_tid, notify_tid;
	char			 err[ERRBUF_LEN];

	parse_options(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (load_key(o.key_file, &key) == -1)
		return 1;
	if (db_open(conf_database(), &db, err) == -1 ||
	    listen_all(db, err) == -1) {
		log_msg(LOGL_ERROR, 0, 0, "database: %s", err);
		return 1;
	}
	if ((q = queue_new()) == NULL || session_lib_init() == -1) {
		log_msg(LOGL_ERROR, 0, 0, "cannot set up MQTT");
		return 1;
	}
	if (spoolman_global_init(err) == -1) {
		log_msg(LOGL_ERROR, 0, 0, "%s", err);
		return 1;
	}
	fc.worker_id = o.worker_id;
	fc.cafile = o.cafile;
	fc.key = key;
	fc.max_printers = o.max_printers;
	fc.lease_ttl = o.lease_ttl;
	f = fleet_new(&fc, db, q);
	memset(&oc, 0, sizeof(oc));
	oc.conninfo = conf_database();
	oc.worker_id = o.worker_id;
	oc.stop = &stop;
	oc.key = key;
	memset(&pc, 0, sizeof(pc));
	pc.conninfo = conf_database();
	pc.worker_id = o.worker_id;
	pc.cache_dir = o.cache_dir;
	pc.ca_file = o.cafile;
	pc.stop = &stop;
	pc.key = key;
	memset(&nc, 0, sizeof(nc));
	nc.conninfo = conf_database();
	nc.worker_id = o.worker_id;
	nc.stop = &stop;
	nc.key = key;
	notify_ctx_init(&nc);
	if (pthread_create(&outbox_tid, NULL, outbox_thread_main, &oc) != 0 ||
	    pthread_create(&planner_tid, NULL, planner_thread_main, &pc) != 0 ||
	    pthread_create(&notify_tid, NULL, notify_thread_main, &nc) != 0) {
		log_msg(LOGL_ERROR, 0, 0, "cannot start threads");
		return 1;
	}
	log_msg(LOGL_INFO, 0, 0, "worker %s: started", o.worker_id);
	/* Renew well within the lease: a third of its time. */
	run(db, q, f, o.lease_ttl > 0 && o.lease_ttl / 3 < SYNC_EVERY ?
	    (o.lease_ttl / 3 > 0 ? o.lease_ttl / 3 : 1) : SYNC_EVERY);
	atomic_store(&stop, 1);
	pthread_join(outbox_tid, NULL);
	pthread_join(planner_tid, NULL);
	pthread_join(notify_tid, NULL);
	fleet_free(f);
	queue_free(q);
	session_lib_cleanup();
	spoolman_global_cleanup();
	db_close(db);
	secret_key_free(key);
	log_msg(LOGL_INFO, 0, 0, "worker %s: stopped", o.worker_id);
	return 0;
}
