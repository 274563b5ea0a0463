/*
 * printer_sim.c: a simulated Bambu Lab printer (the firmware side of its MQTT broker) that plays a real
 * sliced file, for the worker's integration tests and benchmarks.
 *
 * A real printer runs an MQTT broker and its firmware publishes reports on device/<serial>/report and
 * reads requests on device/<serial>/request.  Here tests/harness/broker.sh runs the broker (a real
 * mosquitto with TLS and the bblp password) and this program is the firmware: one MQTT client per
 * simulated printer, all in one poll() loop, so one process can play 100 printers.
 *
 *   printer_sim --file F.gcode.3mf [--plate N] --host H --port P [--cafile CA] --serial SN
 *               --access-code CODE [--speed LAYERS_PER_S] [faults...]
 *
 * `printer_sim --help` lists every option; tests/printer/README.md explains the reports, the faults and
 * the lines printed on stdout (LAYER, STATE, ...) that tests wait on.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>

#include "errbuf.h"
#include "sim.h"

#define MAX_PRINTERS	1000
#define MAX_SKIPS	16
#define CANCEL_ERROR	50348044	/* 0x0300400C: print cancelled by the user (real capture) */
#define FAIL_ERROR	117473297	/* 0x07008011: an AMS "filament ran out" class error */

enum url_kind { URL_FTP, URL_SDCARD, URL_CACHE, URL_CLOUD };
enum pstate { ST_IDLE, ST_PREPARE, ST_RUNNING, ST_FINISH, ST_FAILED };
static const char *state_names[] = { "IDLE", "PREPARE", "RUNNING", "FINISH", "FAILED" };

struct opts {
	const char	*file, *name, *host, *ports, *cafile, *serial, *code, *template_path;
	const char	*down_cmd, *up_cmd, *task_id;
	int		 count, plate, keepalive;
	double		 speed, prepare, start_after, gap, exit_after, heartbeat, full_every;
	int		 prints, wait_start, fault_print;
	int		 fail_at, cancel_at, disconnect_at, silence_at, reboot_at;
	double		 disconnect_for, silence_for, reboot_for;
	int		 skip_lo[MAX_SKIPS], skip_hi[MAX_SKIPS], nskip;
	int		 no_mapping, tags, ext, ams_units, print_mapping, fail_code, quiet, dump;
	int		 mapping[PLAN_MAX_FILAMENTS], mapping_set;
	enum url_kind	 url;
	struct sim_jobopts job;
};

struct printer {
	int			 idx;
	char			 serial[64];
	char			 t_report[128], t_request[128];
	int			 port;
	struct mosquitto	*m;
	int			 connected, connecting, connect_called, refused;
	int			 connect_failed_said;
	int			 announce;	/* publish a full report on the next connect (after a reboot) */
	double			 reconnect_at, connect_started;
	int			 link_down;	/* a disconnect or reboot fault: stay off until down_until */
	double			 down_until;
	int			 rebooting;
	double			 silent_until;
	enum pstate		 st;
	int			 print_no, prints_started;
	double			 t_start;	/* next print start, < 0: none scheduled */
	double			 t_run;		/* RUNNING started (layer 0 starts here) */
	double			 t_prep_next;
	int			 prep_pct;
	size_t			 ev_i;
	size_t			 fail_after;	/* fail when ev_i reaches this, (size_t)-1: no */
	int			 fail_error;
	int			 layer, percent, total, print_error, tool;
	int			 tray_now, tray_pre, tray_tar;
	double			 t_reset, t_clear, t_idle;	/* after-end steps, < 0 none */
	char			 task_id[24], project_id[24], profile_id[24];
	char			 subtask_name[SIM_NAME_LEN], gcode_file[SIM_NAME_LEN];
	const char		*print_type;
	unsigned		 seq;
	double			 next_hb, next_full;
	int			 done;		/* every print ended */
	double			 t_done;
	int			 faults_armed;
	int			 fault_done_disc, fault_done_sil, fault_done_reboot;
	/* Tags set with the stdin command "tag" (tag_set[tray]); other trays follow --tags. */
	unsigned char		 tag_set[256];
	char			 tag_uid[256][17], tag_uuid[256][33];
};

static struct opts	 o;
static struct sim_job	 job;
static json_t		*tmpl;
static struct printer	*printers;
static int		 nprinters;
static volatile sig_atomic_t quit;
static double		 t_origin;
static unsigned long	 npublished, ndropped;

/* The monotonic clock, in seconds. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line on stdout for the tests: EVENT [VALUE] serial=SN key=value... */
static void
say(const struct printer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (p != NULL)
		printf(" serial=%s", p->serial);
	printf(" t=%.3f\n", now_s() - t_origin);
	fflush(stdout);
}

/* Prints the option summary to f. */
static void
usage(FILE *f)
{
	fprintf(f,
"usage: printer_sim --file PATH [options]\n"
"Plays PATH (.gcode.3mf or .gcode) as a Bambu printer on MQTT; prints LAYER/STATE lines on stdout.\n"
"Connection:\n"
"  --host H (127.0.0.1)  --port P[,P2,...] (8883; one per printer, or one shared)\n"
"  --cafile CA           TLS to the broker, chain checked against CA (host name not checked)\n"
"  --serial SN           (01S00A000000001); with --count N>1 the serials are SN001..SNnnn\n"
"  --access-code CODE    (12345678)   --count N (1)   --keepalive S (30)\n"
"Print:\n"
"  --plate N  --name NAME (the file's name on the printer; default the base name of PATH)\n"
"  --speed L (layers per second, float; 20)   --prepare S (PREPARE duration; 3 layers)\n"
"  --start-after S (1)   --wait (start on a \"start\" line on stdin)   --prints N (1)   --gap S (1)\n"
"  --exit-after S (exit S seconds after the last print ended; default: run until signalled)\n"
"  --no-mapping (started from the screen: no project_file echo, task_id \"0\", print_type local)\n"
"  --url ftp|sdcard|cache|cloud (project_file url; ftp)   --task-id ID\n"
"  --mapping T0,T1,... (global tray per slicer filament: 0-15 AMS, 128-135 HT, 254/255 external,\n"
"                       -1 none; default filament n -> tray n)\n"
"  --ext (no AMS: external spool, use_ams false)   --ams N (AMS units, 1)   --tags (RFID spools)\n"
"  --flow-cali 0|1 (1)   --print-mapping (new-firmware print.mapping in full reports)\n"
"  --template FILE (full-report template: a capture with a \"print\" object; default built-in A1)\n"
"  --heartbeat S (2: small deltas)   --full-every S (300: unrequested full reports)\n"
"Faults (on print --fault-print N, default 1; K is a layer number):\n"
"  --fail-at K | --cancel-at K   FAILED in the middle of layer K; layer_num/mc_percent reset to 0 after\n"
"  --fail-code N                 print_error of --fail-at (%d; cancel is %d)\n"
"  --disconnect-at K --for S     drop the MQTT connection for S s (the print goes on)\n"
"  --silence-at K --for S        stay connected, publish nothing for S s\n"
"  --reboot-at K --for S         drop, then come back IDLE with no memory of the print\n"
"  --skip-layers A-B[,C-D]       publish nothing while printing layers A..B (a jump in layer_num)\n"
"  --down-cmd CMD / --up-cmd CMD run by sh when a disconnect/reboot starts/ends (e.g. stop and\n"
"                                start this printer's broker: sh tests/harness/broker.sh down DIR)\n"
"Other: --dump (print the script and exit)   --quiet (no PERCENT/TRAY lines)\n"
"stdin lines: [SERIAL] start|fail|cancel|pushall|disconnect S|silence S|reboot S|tag T UID|none [UUID]|quit\n",
	    FAIL_ERROR, CANCEL_ERROR);
}

/* Prints a one-line message on stderr and exits 2 (usage and setup errors). */
static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "printer_sim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* The number in s for option opt, within [lo, hi]; dies otherwise. */
static double
num_arg(const char *s, const char *opt, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
		die("%s: bad value \"%s\" (%g..%g)", opt, s, lo, hi);
	return v;
}

/* --mapping: one global tray per slicer filament, -1 for none. */
static void
parse_mapping(const char *s)
{
	char	*copy, *tok, *save = NULL;
	int	 n = 0;

	copy = strdup(s);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n >= PLAN_MAX_FILAMENTS)
			die("--mapping: too many values");
		o.mapping[n++] = (int)num_arg(tok, "--mapping", -1, 255);
	}
	free(copy);
	for (; n < PLAN_MAX_FILAMENTS; n++)
		o.mapping[n] = SIM_UNMAPPED;
	o.mapping_set = 1;
}

/* --skip-layers: comma-separated layers or ranges A-B. */
static void
parse_skips(const char *s)
{
	char	*copy, *tok, *save = NULL, *dash;

	copy = strdup(s);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (o.nskip >= MAX_SKIPS)
			die("--skip-layers: at most %d ranges", MAX_SKIPS);
		if ((dash = strchr(tok, '-')) != NULL) {
			*dash = '\0';
			o.skip_lo[o.nskip] = (int)num_arg(tok, "--skip-layers", 0, 1e6);
			o.skip_hi[o.nskip] = (int)num_arg(dash + 1, "--skip-layers", 0, 1e6);
		} else
			o.skip_lo[o.nskip] = o.skip_hi[o.nskip] =
			    (int)num_arg(tok, "--skip-layers", 0, 1e6);
		o.nskip++;
	}
	free(copy);
}

/* Fills o from the command line (defaults first); dies on a usage error. */
static void
parse_args(int argc, char **argv)
{
	enum {
		O_FILE = 256, O_PLATE, O_NAME, O_HOST, O_PORT, O_CAFILE, O_SERIAL, O_CODE,
		O_COUNT, O_KEEPALIVE, O_SPEED, O_PREPARE, O_START, O_WAIT, O_PRINTS, O_GAP,
		O_EXIT, O_NOMAP, O_URL, O_TASK, O_MAPPING, O_EXT, O_AMS, O_TAGS, O_FLOW,
		O_PMAP, O_TEMPLATE, O_HB, O_FULL, O_FAULTPRINT, O_FAIL, O_CANCEL, O_FAILCODE,
		O_DISC, O_SIL, O_REBOOT, O_FOR, O_SKIP, O_DOWN, O_UP, O_DUMP, O_QUIET, O_HELP
	};
	static const struct option lo[] = {
		{ "file", 1, NULL, O_FILE }, { "plate", 1, NULL, O_PLATE },
		{ "name", 1, NULL, O_NAME }, { "host", 1, NULL, O_HOST },
		{ "port", 1, NULL, O_PORT }, { "cafile", 1, NULL, O_CAFILE },
		{ "serial", 1, NULL, O_SERIAL }, { "access-code", 1, NULL, O_CODE },
		{ "count", 1, NULL, O_COUNT }, { "keepalive", 1, NULL, O_KEEPALIVE },
		{ "speed", 1, NULL, O_SPEED }, { "prepare", 1, NULL, O_PREPARE },
		{ "start-after", 1, NULL, O_START }, { "wait", 0, NULL, O_WAIT },
		{ "prints", 1, NULL, O_PRINTS }, { "gap", 1, NULL, O_GAP },
		{ "exit-after", 1, NULL, O_EXIT }, { "no-mapping", 0, NULL, O_NOMAP },
		{ "url", 1, NULL, O_URL }, { "task-id", 1, NULL, O_TASK },
		{ "mapping", 1, NULL, O_MAPPING }, { "ext", 0, NULL, O_EXT },
		{ "ams", 1, NULL, O_AMS }, { "tags", 0, NULL, O_TAGS },
		{ "flow-cali", 1, NULL, O_FLOW }, { "print-mapping", 0, NULL, O_PMAP },
		{ "template", 1, NULL, O_TEMPLATE }, { "heartbeat", 1, NULL, O_HB },
		{ "full-every", 1, NULL, O_FULL }, { "fault-print", 1, NULL, O_FAULTPRINT },
		{ "fail-at", 1, NULL, O_FAIL }, { "cancel-at", 1, NULL, O_CANCEL },
		{ "fail-code", 1, NULL, O_FAILCODE }, { "disconnect-at", 1, NULL, O_DISC },
		{ "silence-at", 1, NULL, O_SIL }, { "reboot-at", 1, NULL, O_REBOOT },
		{ "for", 1, NULL, O_FOR }, { "skip-layers", 1, NULL, O_SKIP },
		{ "down-cmd", 1, NULL, O_DOWN }, { "up-cmd", 1, NULL, O_UP },
		{ "dump", 0, NULL, O_DUMP }, { "quiet", 0, NULL, O_QUIET },
		{ "help", 0, NULL, O_HELP }, { NULL, 0, NULL, 0 }
	};
	double	*last_for = NULL;
	int	 c;

	o.host = "127.0.0.1";
	o.ports = "8883";
	o.serial = "01S00A000000001";
	o.code = "12345678";
	o.count = 1;
	o.keepalive = 30;
	o.speed = 20;
	o.prepare = -1;
	o.start_after = 1;
	o.gap = 1;
	o.exit_after = -1;
	o.heartbeat = 2;
	o.full_every = 300;
	o.prints = 1;
	o.fault_print = 1;
	o.fail_at = o.cancel_at = o.disconnect_at = o.silence_at = o.reboot_at = -1;
	o.disconnect_for = o.silence_for = o.reboot_for = 2;
	o.ams_units = 1;
	o.fail_code = FAIL_ERROR;
	o.job.use_ams = 1;
	o.job.flow_cali = 1;
	o.job.timelapse = 0;
	o.job.bed_leveling = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_FILE: o.file = optarg; break;
		case O_PLATE: o.job.plate = (int)num_arg(optarg, "--plate", 1, 1000); break;
		case O_NAME: o.name = optarg; break;
		case O_HOST: o.host = optarg; break;
		case O_PORT: o.ports = optarg; break;
		case O_CAFILE: o.cafile = optarg; break;
		case O_SERIAL: o.serial = optarg; break;
		case O_CODE: o.code = optarg; break;
		case O_COUNT: o.count = (int)num_arg(optarg, "--count", 1, MAX_PRINTERS); break;
		case O_KEEPALIVE: o.keepalive = (int)num_arg(optarg, "--keepalive", 5, 3600); break;
		case O_SPEED: o.speed = num_arg(optarg, "--speed", 0.001, 10000); break;
		case O_PREPARE: o.prepare = num_arg(optarg, "--prepare", 0, 86400); break;
		case O_START: o.start_after = num_arg(optarg, "--start-after", 0, 86400); break;
		case O_WAIT: o.wait_start = 1; break;
		case O_PRINTS: o.prints = (int)num_arg(optarg, "--prints", 0, 1e6); break;
		case O_GAP: o.gap = num_arg(optarg, "--gap", 0, 86400); break;
		case O_EXIT: o.exit_after = num_arg(optarg, "--exit-after", 0, 86400); break;
		case O_NOMAP: o.no_mapping = 1; break;
		case O_URL:
			if (strcmp(optarg, "ftp") == 0)
				o.url = URL_FTP;
			else if (strcmp(optarg, "sdcard") == 0)
				o.url = URL_SDCARD;
			else if (strcmp(optarg, "cache") == 0)
				o.url = URL_CACHE;
			else if (strcmp(optarg, "cloud") == 0)
				o.url = URL_CLOUD;
			else
				die("--url: ftp, sdcard, cache or cloud");
			break;
		case O_TASK: o.task_id = optarg; break;
		case O_MAPPING: parse_mapping(optarg); break;
		case O_EXT: o.ext = 1; o.job.use_ams = 0; break;
		case O_AMS: o.ams_units = (int)num_arg(optarg, "--ams", 0, SIM_MAX_AMS); break;
		case O_TAGS: o.tags = 1; break;
		case O_FLOW: o.job.flow_cali = (int)num_arg(optarg, "--flow-cali", 0, 1); break;
		case O_PMAP: o.print_mapping = 1; break;
		case O_TEMPLATE: o.template_path = optarg; break;
		case O_HB: o.heartbeat = num_arg(optarg, "--heartbeat", 0, 86400); break;
		case O_FULL: o.full_every = num_arg(optarg, "--full-every", 0, 86400); break;
		case O_FAULTPRINT: o.fault_print = (int)num_arg(optarg, "--fault-print", 1, 1e6); break;
		case O_FAIL: o.fail_at = (int)num_arg(optarg, "--fail-at", 0, 1e6); break;
		case O_CANCEL: o.cancel_at = (int)num_arg(optarg, "--cancel-at", 0, 1e6); break;
		case O_FAILCODE: o.fail_code = (int)num_arg(optarg, "--fail-code", 0, 2147483647.0); break;
		case O_DISC:
			o.disconnect_at = (int)num_arg(optarg, "--disconnect-at", 0, 1e6);
			last_for = &o.disconnect_for;
			break;
		case O_SIL:
			o.silence_at = (int)num_arg(optarg, "--silence-at", 0, 1e6);
			last_for = &o.silence_for;
			break;
		case O_REBOOT:
			o.reboot_at = (int)num_arg(optarg, "--reboot-at", 0, 1e6);
			last_for = &o.reboot_for;
			break;
		case O_FOR:
			if (last_for == NULL)
				die("--for follows --disconnect-at, --silence-at or --reboot-at");
			*last_for = num_arg(optarg, "--for", 0, 86400);
			break;
		case O_SKIP: parse_skips(optarg); break;
		case O_DOWN: o.down_cmd = optarg; break;
		case O_UP: o.up_cmd = optarg; break;
		case O_DUMP: o.dump = 1; break;
		case O_QUIET: o.quiet = 1; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument \"%s\" (see --help)", argv[optind]);
	if (o.file == NULL)
		die("--file is required (see --help)");
	if (o.ams_units == 0 && !o.ext)
		o.ext = 1, o.job.use_ams = 0;
	if (o.prepare < 0)
		o.prepare = 3 / o.speed;
}

/* ---- mapping: slicer filament -> global tray ------------------------------------------------- */

/* The tray the printer loads for slicer filament n (what tray_now shows). */
static int
phys_tray(int n)
{
	int slots = o.ams_units * 4;

	if (o.ext)
		return SIM_TRAY_EXT;
	if (o.mapping_set && n >= 0 && n < PLAN_MAX_FILAMENTS && o.mapping[n] != SIM_UNMAPPED)
		return o.mapping[n];
	return slots > 0 ? n % slots : SIM_TRAY_EXT;
}

/* The mapping value of filament n for ams_mapping (-1 when unused or unmapped). */
static int
mapped_tray(int n)
{
	if (o.mapping_set)
		return o.mapping[n];
	return job.used[n] ? phys_tray(n) : SIM_UNMAPPED;
}

/* Adds ams_mapping (flat), ams_mapping2 ({ams_id, slot_id}) and/or the new-firmware mapping to obj. */
static void
add_mappings(json_t *obj, int with_flat, int with_v2, int with_new)
{
	json_t	*flat = json_array(), *v2 = json_array(), *nm = json_array();
	int	 i, t;

	for (i = 0; i < job.nproject; i++) {
		t = mapped_tray(i);
		if (t == SIM_TRAY_EXT || t == SIM_TRAY_NONE) {
			json_array_append_new(flat, json_integer(-1));
			json_array_append_new(v2, json_pack("{s:i,s:i}", "ams_id", t, "slot_id", 0));
			json_array_append_new(nm, json_integer((t << 8) | 0));
		} else if (t < 0) {
			json_array_append_new(flat, json_integer(-1));
			json_array_append_new(v2, json_pack("{s:i,s:i}", "ams_id", 255, "slot_id", 255));
			json_array_append_new(nm, json_integer(65535));
		} else if (t >= 128) {
			json_array_append_new(flat, json_integer(t));
			json_array_append_new(v2, json_pack("{s:i,s:i}", "ams_id", t, "slot_id", 0));
			json_array_append_new(nm, json_integer(t << 8));
		} else {
			json_array_append_new(flat, json_integer(t));
			json_array_append_new(v2, json_pack("{s:i,s:i}", "ams_id", t / 4,
			    "slot_id", t % 4));
			json_array_append_new(nm, json_integer(((t / 4) << 8) | (t % 4)));
		}
	}
	if (with_flat)
		json_object_set_new(obj, "ams_mapping", flat);
	else
		json_decref(flat);
	if (with_v2)
		json_object_set_new(obj, "ams_mapping2", v2);
	else
		json_decref(v2);
	if (with_new)
		json_object_set_new(obj, "mapping", nm);
	else
		json_decref(nm);
}

/* ---- reports --------------------------------------------------------------------------------- */

/* True when layer is inside a --skip-layers range. */
static int
in_skip(int layer)
{
	int i;

	for (i = 0; i < o.nskip; i++)
		if (layer >= o.skip_lo[i] && layer <= o.skip_hi[i])
			return 1;
	return 0;
}

/* Sends {"print":obj} (obj stolen); msg >= 0 adds command push_status, msg and sequence_id. */
static void
publish(struct printer *p, json_t *obj, int msg)
{
	json_t	*root;
	char	*s, seq[16];
	double	 t = now_s();
	int	 rc;

	if (msg >= 0) {
		snprintf(seq, sizeof(seq), "%u", ++p->seq);
		json_object_set_new(obj, "command", json_string("push_status"));
		json_object_set_new(obj, "msg", json_integer(msg));
		json_object_set_new(obj, "sequence_id", json_string(seq));
	}
	root = json_pack("{s:o}", "print", obj);
	if (!p->connected || p->link_down || t < p->silent_until) {
		ndropped++;
		json_decref(root);
		return;
	}
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL)
		return;
	rc = mosquitto_publish(p->m, NULL, p->t_report, (int)strlen(s), s, 0, false);
	if (rc == MOSQ_ERR_SUCCESS)
		npublished++;
	else
		ndropped++;
	free(s);
}

/* Fills one AMS tray (or vt_tray) object: the filament the job maps to it, else a filler spool. */
static void
tray_json(json_t *tray, const struct printer *p, int global)
{
	static const char *filler_color[] = { "F4EE2AFF", "0A2989FF", "C12E1FFF", "000000FF" };
	const struct plan_filament *f = NULL;
	char	 color[16], uid[17], uuid[33];
	int	 i, tag = o.tags;

	for (i = 0; i < PLAN_MAX_FILAMENTS; i++)
		if (job.used[i] && phys_tray(i) == global) {
			f = &job.plan->filaments[i];
			break;
		}
	if (f != NULL && f->color[0] == '#' && strlen(f->color) == 7)
		snprintf(color, sizeof(color), "%sFF", f->color + 1);
	else
		snprintf(color, sizeof(color), "%s", filler_color[global % 4]);
	if (global >= 0 && global < 256 && p->tag_set[global]) {
		snprintf(uid, sizeof(uid), "%s", p->tag_uid[global]);
		snprintf(uuid, sizeof(uuid), "%s", p->tag_uuid[global]);
		tag = strspn(uid, "0") != 16 || strspn(uuid, "0") != 32;
	} else if (tag) {
		sim_hex_id(uid, 16, p->serial, global, 1);
		sim_hex_id(uuid, 32, p->serial, global, 2);
	} else {
		memset(uid, '0', 16);
		uid[16] = '\0';
		memset(uuid, '0', 32);
		uuid[32] = '\0';
	}
	json_object_set_new(tray, "remain", json_integer(tag ? 90 - (global % 8) * 5 : -1));
	json_object_set_new(tray, "k", json_real(0.02));
	json_object_set_new(tray, "n", json_integer(1));
	json_object_set_new(tray, "cali_idx", json_integer(-1));
	json_object_set_new(tray, "total_len", json_integer(330000));
	json_object_set_new(tray, "tag_uid", json_string(uid));
	json_object_set_new(tray, "tray_id_name", json_string(tag ? "A00-W1" : ""));
	json_object_set_new(tray, "tray_info_idx", json_string(f != NULL &&
	    f->tray_info_idx[0] != '\0' ? f->tray_info_idx : "GFL99"));
	json_object_set_new(tray, "tray_type", json_string(f != NULL && f->type[0] != '\0' ?
	    f->type : "PLA"));
	json_object_set_new(tray, "tray_sub_brands", json_string(tag ? "PLA Basic" : ""));
	json_object_set_new(tray, "tray_color", json_string(color));
	json_object_set_new(tray, "tray_weight", json_string(tag ? "1000" : "0"));
	json_object_set_new(tray, "tray_diameter", json_string(tag ? "1.75" : "0.00"));
	json_object_set_new(tray, "tray_temp", json_string(tag ? "55" : "0"));
	json_object_set_new(tray, "tray_time", json_string(tag ? "8" : "0"));
	json_object_set_new(tray, "bed_temp_type", json_string("0"));
	json_object_set_new(tray, "bed_temp", json_string("0"));
	json_object_set_new(tray, "nozzle_temp_max", json_string("230"));
	json_object_set_new(tray, "nozzle_temp_min", json_string("190"));
	json_object_set_new(tray, "xcam_info", json_string("000000000000000000000000"));
	json_object_set_new(tray, "tray_uuid", json_string(uuid));
	json_object_set_new(tray, "ctype", json_integer(0));
	json_object_set_new(tray, "cols", json_pack("[s]", color));
}

/* The print.ams object: units, trays, exist bits and tray_now/tray_pre/tray_tar. */
static json_t *
ams_json(const struct printer *p)
{
	json_t	*ams = json_object(), *units = json_array();
	char	 buf[32];
	unsigned bits = 0;
	int	 u, s;

	for (u = 0; u < o.ams_units; u++) {
		json_t *unit, *trays = json_array();

		snprintf(buf, sizeof(buf), "%d", u);
		unit = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:s}", "chip_id",
		    "160e31383039160130323339fffffff", "check", 0, "id", buf, "humidity", "5",
		    "humidity_raw", "0", "temp", "0.0", "dry_time", 0, "info", "1001");
		for (s = 0; s < 4; s++) {
			json_t *tray = json_object();

			snprintf(buf, sizeof(buf), "%d", s);
			json_object_set_new(tray, "id", json_string(buf));
			json_object_set_new(tray, "state", json_integer(3));
			tray_json(tray, p, u * 4 + s);
			json_array_append_new(trays, tray);
			bits |= 1u << (u * 4 + s);
		}
		json_object_set_new(unit, "tray", trays);
		json_array_append_new(units, unit);
	}
	json_object_set_new(ams, "ams", units);
	snprintf(buf, sizeof(buf), "%x", (1u << o.ams_units) - 1);
	json_object_set_new(ams, "ams_exist_bits", json_string(buf));
	snprintf(buf, sizeof(buf), "%x", bits);
	json_object_set_new(ams, "tray_exist_bits", json_string(buf));
	snprintf(buf, sizeof(buf), "%x", o.tags ? bits : 0);
	json_object_set_new(ams, "tray_is_bbl_bits", json_string(buf));
	snprintf(buf, sizeof(buf), "%d", p->tray_tar);
	json_object_set_new(ams, "tray_tar", json_string(buf));
	snprintf(buf, sizeof(buf), "%d", p->tray_now);
	json_object_set_new(ams, "tray_now", json_string(buf));
	snprintf(buf, sizeof(buf), "%d", p->tray_pre);
	json_object_set_new(ams, "tray_pre", json_string(buf));
	snprintf(buf, sizeof(buf), "%x", bits);
	json_object_set_new(ams, "tray_read_done_bits", json_string(buf));
	json_object_set_new(ams, "tray_reading_bits", json_string("0"));
	json_object_set_new(ams, "version", json_integer(221));
	json_object_set_new(ams, "insert_flag", json_true());
	json_object_set_new(ams, "power_on_flag", json_true());
	return ams;
}

/* mc_remaining_time (minutes) at time t. */
static int
remaining_min(const struct printer *p, double t)
{
	double left;

	if (p->st != ST_RUNNING)
		return p->st == ST_PREPARE ? (int)ceil((job.layer_count + 1) / o.speed / 60) : 0;
	left = (job.layer_count + 1) / o.speed - (t - p->t_run);
	return left > 0 ? (int)ceil(left / 60) : 0;
}

/* True while a print is under way (PREPARE or RUNNING). */
static int
printing(const struct printer *p)
{
	return p->st == ST_PREPARE || p->st == ST_RUNNING;
}

/* The full report (msg 0): the template with this printer's state. */
static void
publish_full(struct printer *p)
{
	json_t	*f = json_deep_copy(tmpl);
	char	 buf[32];
	int	 run = printing(p);
	const struct plan_filament *vf = NULL;
	json_t	*vt;
	int	 i;

	json_object_set_new(f, "nozzle_temper", json_real(run ? 219.8 : 27.03125));
	json_object_set_new(f, "nozzle_target_temper", json_integer(run ? 220 : 0));
	json_object_set_new(f, "bed_temper", json_real(run ? 54.9 : 31.5625));
	json_object_set_new(f, "bed_target_temper", json_integer(run ? 55 : 0));
	json_object_set_new(f, "mc_print_stage", json_string(run ? "2" : "1"));
	json_object_set_new(f, "mc_percent", json_integer(p->percent));
	json_object_set_new(f, "mc_remaining_time", json_integer(remaining_min(p, now_s())));
	json_object_set_new(f, "print_error", json_integer(p->print_error));
	json_object_set_new(f, "gcode_state", json_string(state_names[p->st]));
	snprintf(buf, sizeof(buf), "%d", p->prep_pct);
	json_object_set_new(f, "gcode_file_prepare_percent", json_string(buf));
	json_object_set_new(f, "project_id", json_string(p->project_id));
	json_object_set_new(f, "profile_id", json_string(p->profile_id));
	json_object_set_new(f, "task_id", json_string(p->task_id));
	json_object_set_new(f, "subtask_id", json_string(p->task_id));
	json_object_set_new(f, "subtask_name", json_string(p->subtask_name));
	json_object_set_new(f, "gcode_file", json_string(p->gcode_file));
	json_object_set_new(f, "stg_cur", json_integer(p->st == ST_RUNNING ? 0 :
	    p->st == ST_PREPARE ? 2 : 255));
	json_object_set_new(f, "print_type", json_string(p->print_type));
	json_object_set_new(f, "layer_num", json_integer(p->layer));
	json_object_set_new(f, "total_layer_num", json_integer(p->total));
	json_object_set_new(f, "hms", json_array());
	json_object_set_new(f, "ams", ams_json(p));
	for (i = 0; i < PLAN_MAX_FILAMENTS; i++)
		if (job.used[i] && phys_tray(i) == SIM_TRAY_EXT)
			vf = &job.plan->filaments[i];
	vt = json_object();
	json_object_set_new(vt, "id", json_string("254"));
	tray_json(vt, p, SIM_TRAY_EXT);
	if (vf == NULL)
		json_object_set_new(vt, "tray_type", json_string("PETG"));
	json_object_set_new(f, "vt_tray", vt);
	if (o.print_mapping && run && !o.no_mapping)
		add_mappings(f, 0, 0, 1);
	else
		json_object_del(f, "mapping");
	publish(p, f, 0);
}

/* A delta (msg 1) with the given fields: "key", type char ('i' int, 's' string), value; NULL ends. */
static void
publish_delta(struct printer *p, ...)
{
	json_t		*d = json_object();
	const char	*key;
	va_list		 ap;

	va_start(ap, p);
	while ((key = va_arg(ap, const char *)) != NULL) {
		int type = va_arg(ap, int);

		if (type == 'i')
			json_object_set_new(d, key, json_integer(va_arg(ap, int)));
		else
			json_object_set_new(d, key, json_string(va_arg(ap, const char *)));
	}
	va_end(ap);
	publish(p, d, 1);
}

/* A delta with stg_cur and one or two print.ams keys (tray ids as strings, as the firmware sends them). */
static void
publish_ams_delta(struct printer *p, const char *key, int value, const char *key2, int value2,
    int stg)
{
	json_t	*d = json_object(), *ams = json_object();
	char	 buf[16];

	snprintf(buf, sizeof(buf), "%d", value);
	json_object_set_new(ams, key, json_string(buf));
	if (key2 != NULL) {
		snprintf(buf, sizeof(buf), "%d", value2);
		json_object_set_new(ams, key2, json_string(buf));
	}
	json_object_set_new(d, "stg_cur", json_integer(stg));
	json_object_set_new(d, "ams", ams);
	publish(p, d, 1);
}

/* The small periodic delta (temperatures, wifi signal) real printers send every few seconds. */
static void
publish_heartbeat(struct printer *p)
{
	json_t	*d = json_object();
	double	 jitter = (double)(p->seq % 7) / 32.0;
	char	 wifi[16];

	snprintf(wifi, sizeof(wifi), "-%ddBm", 44 + (int)(p->seq % 5));
	json_object_set_new(d, "nozzle_temper", json_real((printing(p) ? 219.8 : 27.0) + jitter));
	json_object_set_new(d, "bed_temper", json_real((printing(p) ? 54.9 : 31.5) + jitter));
	json_object_set_new(d, "wifi_signal", json_string(wifi));
	publish(p, d, 1);
}

/* Writes the project_file url of --url for the job's file into url (len bytes). */
static void
project_url(char *url, size_t len)
{
	const char	*c;
	char		*w;

	switch (o.url) {
	case URL_SDCARD:
		snprintf(url, len, "file:///sdcard/%s", job.name);
		break;
	case URL_CACHE:
		snprintf(url, len, "ftp:///cache/%s", job.name);
		break;
	case URL_CLOUD:
		/* A signed cloud URL: the name percent-encoded, the signature redacted. */
		w = url + snprintf(url, len, "https://printer-sim.invalid/upload/");
		for (c = job.name; *c != '\0' && w < url + len - 64; c++) {
			if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || strchr("-._~", *c) != NULL)
				*w++ = *c;
			else
				w += sprintf(w, "%%%02X", (unsigned char)*c);
		}
		snprintf(w, (size_t)(url + len - w), "?X-Amz-Signature=redacted");
		break;
	default:
		snprintf(url, len, "ftp:///%s", job.name);
		break;
	}
}

/* The echo of the print command on the report topic, shaped as the real A1 capture. */
static void
publish_project_file(struct printer *p)
{
	json_t	*e = json_object();
	char	 url[SIM_NAME_LEN * 3 + 64], param[64], plate[16];

	snprintf(param, sizeof(param), "Metadata/plate_%d.gcode", job.plate);
	snprintf(plate, sizeof(plate), "%d", job.plate);
	project_url(url, sizeof(url));
	json_object_set_new(e, "sequence_id", json_string("0"));
	json_object_set_new(e, "command", json_string("project_file"));
	json_object_set_new(e, "param", json_string(param));
	json_object_set_new(e, "project_id", json_string(p->project_id));
	json_object_set_new(e, "design_id", json_string("0"));
	json_object_set_new(e, "model_id", json_string(""));
	json_object_set_new(e, "profile_id", json_string(p->profile_id));
	json_object_set_new(e, "plate_idx", json_string(plate));
	json_object_set_new(e, "task_id", json_string(p->task_id));
	json_object_set_new(e, "subtask_id", json_string(p->task_id));
	json_object_set_new(e, "subtask_name", json_string(p->subtask_name));
	json_object_set_new(e, "job_id", json_integer(strtoll(p->task_id, NULL, 10)));
	json_object_set_new(e, "md5", json_string(job.md5));
	json_object_set_new(e, "timelapse", json_boolean(o.job.timelapse));
	json_object_set_new(e, "bed_leveling", json_boolean(o.job.bed_leveling));
	json_object_set_new(e, "flow_cali", json_boolean(o.job.flow_cali));
	json_object_set_new(e, "vibration_cali", json_false());
	json_object_set_new(e, "layer_inspect", json_true());
	add_mappings(e, 1, 0, 0);
	json_object_set_new(e, "skip_objects", json_null());
	json_object_set_new(e, "timestamp", json_integer((json_int_t)time(NULL)));
	json_object_set_new(e, "dev_id", json_string(p->serial));
	json_object_set_new(e, "job_type", json_integer(1));
	json_object_set_new(e, "use_ams", json_boolean(o.job.use_ams));
	json_object_set_new(e, "bed_temp", json_integer(55));
	json_object_set_new(e, "auto_bed_leveling", json_integer(1));
	json_object_set_new(e, "extrude_cali_flag", json_integer(o.job.flow_cali));
	json_object_set_new(e, "nozzle_offset_cali", json_integer(2));
	add_mappings(e, 0, 1, 0);
	json_object_set_new(e, "cfg", json_string("0"));
	json_object_set_new(e, "extrude_cali_manual_mode", json_integer(0));
	json_object_set_new(e, "url", json_string(url));
	json_object_set_new(e, "reason", json_string("success"));
	json_object_set_new(e, "result", json_string("success"));
	publish(p, e, -1);
	say(p, "PROJECT_FILE task_id=%s url=%s", p->task_id, url);
}

/* The answer to info.get_version (module list), sent on the report topic. */
static void
publish_version(struct printer *p)
{
	json_t *v;
	char	*s;

	if (!p->connected || now_s() < p->silent_until)
		return;
	v = json_pack("{s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:i},{s:s,s:s,s:s,s:s,s:s,s:i}],s:s,s:s}}",
	    "info", "command", "get_version", "sequence_id", "0", "module",
	    "name", "ota", "project_name", "C12", "sw_ver", "01.08.02.00", "hw_ver", "OTA",
	    "sn", p->serial, "flag", 3,
	    "name", "ams/0", "project_name", "", "sw_ver", "00.00.06.49", "hw_ver", "AMS08",
	    "sn", "00600A000000000", "flag", 0,
	    "result", "success", "reason", "");
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s != NULL && mosquitto_publish(p->m, NULL, p->t_report, (int)strlen(s), s, 0,
	    false) == MOSQ_ERR_SUCCESS)
		npublished++;
	free(s);
}

/* ---- hooks and faults ------------------------------------------------------------------------ */

/* Runs CMD with sh (SIM_SERIAL and SIM_EVENT in its environment); waits for it when wait is set. */
static void
run_hook(const struct printer *p, const char *cmd, const char *event, int wait)
{
	pid_t pid;
	int st;

	if (cmd == NULL)
		return;
	fflush(stdout);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "printer_sim: fork: %s\n", strerror(errno));
		return;
	}
	if (pid == 0) {
		setenv("SIM_SERIAL", p->serial, 1);
		setenv("SIM_EVENT", event, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (wait) {
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "printer_sim: hook \"%s\" failed\n", cmd);
	}
}

/* Drops the MQTT connection abruptly (no DISCONNECT packet, as a network loss) for `secs`. */
static void
link_drop(struct printer *p, double secs, const char *why)
{
	int sock = mosquitto_socket(p->m);

	p->link_down = 1;
	p->down_until = now_s() + secs;
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);
	say(p, "%s for=%g layer=%d percent=%d", why, secs, p->layer, p->percent);
	run_hook(p, o.down_cmd, why, 1);
}

/* The job fields of a printer that has no current job. */
static void
set_idle_identity(struct printer *p)
{
	snprintf(p->task_id, sizeof(p->task_id), "0");
	snprintf(p->project_id, sizeof(p->project_id), "0");
	snprintf(p->profile_id, sizeof(p->profile_id), "0");
	p->subtask_name[0] = '\0';
	p->gcode_file[0] = '\0';
	p->print_type = "idle";
}

/* A freshly booted printer: idle, nothing loaded, no memory of any print. */
static void
power_on(struct printer *p)
{
	p->st = ST_IDLE;
	p->layer = p->percent = p->total = p->print_error = p->prep_pct = 0;
	p->tray_now = p->tray_pre = p->tray_tar = SIM_TRAY_NONE;
	p->tool = -1;
	p->t_reset = p->t_clear = p->t_idle = -1;
	set_idle_identity(p);
}

static void schedule_next(struct printer *, double);

/* Enters FINISH or FAILED and schedules the after-end steps and the next print. */
static void
end_print(struct printer *p, enum pstate st, double t)
{
	p->st = st;
	p->t_idle = t + 2 / o.speed;
	if (st == ST_FAILED) {
		p->t_reset = t + 2 / o.speed;
		p->t_clear = t + 5 / o.speed;
	}
	schedule_next(p, t);
}

/* FAILED (or cancelled) now, at the current layer and last reported percent. */
static void
fail_now(struct printer *p, double t)
{
	p->fail_after = (size_t)-1;
	p->print_error = p->fail_error;
	publish_delta(p, "gcode_state", 's', "FAILED", "print_error", 'i', p->print_error,
	    "mc_print_stage", 's', "1", "layer_num", 'i', p->layer, "mc_percent", 'i', p->percent,
	    NULL);
	say(p, "STATE FAILED layer=%d percent=%d print_error=%d task_id=%s", p->layer, p->percent,
	    p->print_error, p->task_id);
	end_print(p, ST_FAILED, t);
}

/* Entering layer k: arms a fail/cancel in the middle of the layer's remaining steps. */
static void
arm_fail(struct printer *p, int k)
{
	size_t	 i, n = 0;

	if (!p->faults_armed || (o.fail_at != k && o.cancel_at != k))
		return;
	for (i = p->ev_i; i < job.nev && job.ev[i].kind != SIM_EV_LAYER; i++)
		n++;
	p->fail_after = p->ev_i + n / 2;
	p->fail_error = o.cancel_at == k ? CANCEL_ERROR : o.fail_code;
}

/* ---- the print timeline ---------------------------------------------------------------------- */

/* Schedules the next print after t, or marks this printer DONE. */
static void
schedule_next(struct printer *p, double t)
{
	if (p->prints_started < o.prints && !o.wait_start) {
		p->t_start = t + o.gap + (p->st == ST_IDLE ? 0 : 2 / o.speed);
	} else {
		p->t_start = -1;
		if (p->prints_started >= o.prints) {
			p->done = 1;
			p->t_done = t;
			say(p, "DONE prints=%d", p->prints_started);
		}
	}
}

/* Starts a print: the project_file echo (unless --no-mapping), then PREPARE. */
static void
begin_print(struct printer *p, double t)
{
	const char *ext;
	size_t	 n;

	p->prints_started++;
	p->print_no = p->prints_started;
	p->faults_armed = p->print_no == o.fault_print;
	p->fault_done_disc = p->fault_done_sil = p->fault_done_reboot = 0;
	p->fail_after = (size_t)-1;
	p->t_start = -1;
	p->t_reset = p->t_clear = p->t_idle = -1;
	p->print_error = 0;
	snprintf(p->gcode_file, sizeof(p->gcode_file), "%s", job.name);
	if (o.no_mapping) {
		set_idle_identity(p);
		snprintf(p->gcode_file, sizeof(p->gcode_file), "%s", job.name);
		snprintf(p->subtask_name, sizeof(p->subtask_name), "%s", job.name);
		p->print_type = "local";
	} else {
		if (o.task_id != NULL)
			snprintf(p->task_id, sizeof(p->task_id), "%s", o.task_id);
		else
			snprintf(p->task_id, sizeof(p->task_id), "%lu",
			    100000000UL + ((unsigned long)time(NULL) % 800000000UL) +
			    (unsigned long)p->idx * 1000UL + (unsigned long)p->print_no);
		snprintf(p->project_id, sizeof(p->project_id), "%s", p->task_id);
		snprintf(p->profile_id, sizeof(p->profile_id), "%lu",
		    strtoul(p->task_id, NULL, 10) % 100000000UL + 400000000UL);
		snprintf(p->subtask_name, sizeof(p->subtask_name), "%s", job.name);
		n = strlen(p->subtask_name);
		if ((ext = strstr(p->subtask_name, ".gcode.3mf")) != NULL && ext[10] == '\0')
			p->subtask_name[n - 10] = '\0';
		else if (n > 4 && strcmp(p->subtask_name + n - 4, ".3mf") == 0)
			p->subtask_name[n - 4] = '\0';
		p->print_type = o.url == URL_CLOUD ? "cloud" : "local";
		publish_project_file(p);
	}
	/* PREPARE keeps the previous print's layer_num and total, as a real X1C report shows. */
	p->st = ST_PREPARE;
	p->prep_pct = 0;
	p->percent = 0;
	publish_delta(p, "gcode_state", 's', "PREPARE", "gcode_file_prepare_percent", 's', "0",
	    "project_id", 's', p->project_id, "profile_id", 's', p->profile_id,
	    "task_id", 's', p->task_id, "subtask_id", 's', p->task_id,
	    "subtask_name", 's', p->subtask_name, "gcode_file", 's', p->gcode_file,
	    "print_type", 's', p->print_type, "mc_percent", 'i', 0, NULL);
	say(p, "STATE PREPARE print=%d task_id=%s file=%s", p->print_no, p->task_id, job.name);
	p->t_prep_next = t + o.prepare / 2;
}

/* PREPARE is over: RUNNING at layer 0 (the start gcode). */
static void
start_running(struct printer *p, double t)
{
	p->st = ST_RUNNING;
	p->t_run = t;
	p->ev_i = 0;
	p->layer = 0;
	p->percent = 0;
	p->total = job.layer_count;
	p->tool = -1;
	if (o.ext) {
		p->tray_pre = p->tray_now;
		p->tray_now = p->tray_tar = SIM_TRAY_EXT;
	}
	publish_delta(p, "mc_print_stage", 's', "2", "mc_percent", 'i', 0, "gcode_state", 's',
	    "RUNNING", "layer_num", 'i', 0, "total_layer_num", 'i', job.layer_count,
	    "mc_remaining_time", 'i', remaining_min(p, t), "gcode_file_prepare_percent", 's', "100",
	    NULL);
	if (o.ext)
		publish_ams_delta(p, "tray_now", SIM_TRAY_EXT, "tray_tar", SIM_TRAY_EXT, 0);
	say(p, "STATE RUNNING layers=%d task_id=%s", job.layer_count, p->task_id);
	arm_fail(p, 0);
}

/* The last layer is done: FINISH with layer_num at the total and mc_percent 100. */
static void
finish(struct printer *p, double t)
{
	p->layer = job.layer_count;
	p->percent = 100;
	publish_delta(p, "gcode_state", 's', "FINISH", "mc_percent", 'i', 100, "layer_num", 'i',
	    p->layer, "mc_remaining_time", 'i', 0, "mc_print_stage", 's', "1", NULL);
	say(p, "STATE FINISH layer=%d percent=100 task_id=%s", p->layer, p->task_id);
	end_print(p, ST_FINISH, t);
}

/* Applies one script step; returns 0, or 1 when the print stopped (reboot). */
static int
apply_event(struct printer *p, const struct sim_event *e, double t)
{
	int silent = in_skip(e->layer), tray;

	switch (e->kind) {
	case SIM_EV_LAYER:
		p->layer = e->value;
		if (!silent)
			publish_delta(p, "layer_num", 'i', p->layer, "mc_remaining_time", 'i',
			    remaining_min(p, t), NULL);
		say(p, "LAYER %d percent=%d%s", p->layer, p->percent, silent ? " skipped=1" : "");
		if (!p->faults_armed)
			break;
		if (o.disconnect_at == p->layer && !p->fault_done_disc) {
			p->fault_done_disc = 1;
			link_drop(p, o.disconnect_for, "DISCONNECT");
		}
		if (o.silence_at == p->layer && !p->fault_done_sil) {
			p->fault_done_sil = 1;
			p->silent_until = t + o.silence_for;
			say(p, "SILENCE for=%g layer=%d", o.silence_for, p->layer);
		}
		if (o.reboot_at == p->layer && !p->fault_done_reboot) {
			p->fault_done_reboot = 1;
			p->rebooting = 1;
			link_drop(p, o.reboot_for, "REBOOT");
			power_on(p);
			schedule_next(p, t + o.reboot_for);
			return 1;
		}
		break;
	case SIM_EV_PERCENT:
		p->percent = e->value;
		if (!silent)
			publish_delta(p, "mc_percent", 'i', p->percent, "mc_remaining_time", 'i',
			    remaining_min(p, t), NULL);
		if (!o.quiet)
			say(p, "PERCENT %d layer=%d", p->percent, p->layer);
		break;
	case SIM_EV_TOOL:
		p->tool = e->value;
		tray = phys_tray(e->value);
		if (tray == p->tray_now)
			break;
		p->tray_tar = tray;
		if (!silent)
			publish_ams_delta(p, "tray_tar", tray, NULL, 0, 4);
		p->tray_pre = p->tray_now;
		p->tray_now = tray;
		if (!silent)
			publish_ams_delta(p, "tray_now", tray, "tray_pre", p->tray_pre, 0);
		if (!o.quiet)
			say(p, "TRAY %d filament=%d layer=%d", tray, e->value, p->layer);
		break;
	}
	return 0;
}

/* Applies every script step due by t, the planned failure, and FINISH. */
static void
step_running(struct printer *p, double t)
{
	double	 d = 1 / o.speed;

	while (p->st == ST_RUNNING) {
		if (p->fail_after == p->ev_i) {
			fail_now(p, t);
			return;
		}
		if (p->ev_i < job.nev) {
			const struct sim_event *e = &job.ev[p->ev_i];

			if (t < p->t_run + e->at * d)
				return;
			p->ev_i++;
			if (apply_event(p, e, t))
				return;
			if (e->kind == SIM_EV_LAYER)
				arm_fail(p, e->value);
			continue;
		}
		if (t < p->t_run + (job.layer_count + 1) * d)
			return;
		finish(p, t);
	}
}

/*
 * After FINISH or FAILED: the firmware resets layer_num and mc_percent to 0
 * (FAILED only), clears print_error a little later, then goes idle and unloads.
 */
static void
step_ended(struct printer *p, double t)
{
	if (p->t_reset >= 0 && t >= p->t_reset) {
		p->t_reset = -1;
		p->layer = 0;
		p->percent = 0;
		publish_delta(p, "layer_num", 'i', 0, "mc_percent", 'i', 0, NULL);
		say(p, "RESET layer=0 percent=0");
	}
	if (p->t_clear >= 0 && t >= p->t_clear) {
		p->t_clear = -1;
		p->print_error = 0;
		publish_delta(p, "print_error", 'i', 0, NULL);
	}
	if (p->t_idle >= 0 && t >= p->t_idle) {
		p->t_idle = -1;
		p->gcode_file[0] = '\0';
		p->print_type = "idle";
		p->tray_pre = p->tray_now;
		p->tray_now = p->tray_tar = SIM_TRAY_NONE;
		publish_delta(p, "print_type", 's', "idle", "gcode_file", 's', "", NULL);
		publish_ams_delta(p, "tray_now", SIM_TRAY_NONE, "tray_tar", SIM_TRAY_NONE, 255);
	}
}

/* Does everything due for printer p at time t: link recovery, the print's steps, periodic reports. */
static void
printer_step(struct printer *p, double t)
{
	if (p->link_down && t >= p->down_until) {
		p->link_down = 0;
		p->reconnect_at = t;
		if (p->rebooting) {
			p->rebooting = 0;
			p->announce = 1;
			say(p, "STATE IDLE rebooted=1");
		}
		say(p, "LINK_UP");
		run_hook(p, o.up_cmd, "UP", 0);
	}
	switch (p->st) {
	case ST_PREPARE:
		while (p->st == ST_PREPARE && t >= p->t_prep_next) {
			if (p->prep_pct < 100) {
				p->prep_pct = p->prep_pct == 0 ? 50 : 100;
				publish_delta(p, "gcode_file_prepare_percent", 's',
				    p->prep_pct == 50 ? "50" : "100", NULL);
				p->t_prep_next += o.prepare / 2;
				if (p->prep_pct == 100)
					p->t_prep_next = t;
			} else
				start_running(p, p->t_prep_next);
		}
		if (p->st == ST_RUNNING)
			step_running(p, t);
		break;
	case ST_RUNNING:
		step_running(p, t);
		break;
	case ST_FINISH:
	case ST_FAILED:
		step_ended(p, t);
		/* FALLTHROUGH */
	case ST_IDLE:
		/* A print starts once connected, so that its first reports are not lost. */
		if (p->t_start >= 0 && t >= p->t_start && p->connected && !p->link_down)
			begin_print(p, t);
		break;
	}
	if (o.heartbeat > 0 && t >= p->next_hb) {
		p->next_hb = t + o.heartbeat;
		if (p->connected)
			publish_heartbeat(p);
	}
	if (o.full_every > 0 && t >= p->next_full) {
		p->next_full = t + o.full_every;
		if (p->connected)
			publish_full(p);
	}
}

/* The earliest time printer_step has something to do. */
static double
printer_due(const struct printer *p)
{
	double	 due = p->next_hb, d = 1 / o.speed;

#define EARLIER(x) do { if ((x) >= 0 && (x) < due) due = (x); } while (0)
	if (o.heartbeat <= 0)
		due = 1e300;
	if (o.full_every > 0)
		EARLIER(p->next_full);
	if (p->link_down)
		EARLIER(p->down_until);
	if (p->st == ST_PREPARE)
		EARLIER(p->t_prep_next);
	if (p->st == ST_RUNNING) {
		if (p->ev_i < job.nev)
			EARLIER(p->t_run + job.ev[p->ev_i].at * d);
		else
			EARLIER(p->t_run + (job.layer_count + 1) * d);
	}
	EARLIER(p->t_reset);
	EARLIER(p->t_clear);
	EARLIER(p->t_idle);
	if (p->connected && !p->link_down)
		EARLIER(p->t_start);
	if (!p->connected && !p->connecting && !p->link_down)
		EARLIER(p->reconnect_at);
#undef EARLIER
	return due;
}

/* ---- MQTT ------------------------------------------------------------------------------------ */

/* libmosquitto: CONNACK received; subscribes to the request topic on every connect. */
static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct printer *p = obj;

	p->connecting = 0;
	if (rc != 0) {
		say(p, "CONNECT_REFUSED rc=%d reason=\"%s\"", rc, mosquitto_connack_string(rc));
		p->refused = 1;
		p->reconnect_at = now_s() + 2;
		return;
	}
	p->refused = 0;
	p->connect_failed_said = 0;
	p->connected = 1;
	mosquitto_subscribe(m, NULL, p->t_request, 0);
	say(p, "CONNECTED port=%d", p->port);
	if (p->announce) {
		/* A booted printer's first report is a full one: the fresh, idle state. */
		p->announce = 0;
		publish_full(p);
	}
}

/* libmosquitto: the connection ended; the loop reconnects unless a fault holds the link down. */
static void
on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct printer *p = obj;

	(void)m;
	p->connecting = 0;
	if (p->connected)
		say(p, "DISCONNECTED rc=%d", rc);
	p->connected = 0;
	p->reconnect_at = now_s() + (p->refused ? 2 : 0.25);
}

/* A request from a client (pushall, start, get_version): answered unless silent. */
static void
on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct printer	*p = obj;
	json_t		*doc, *cmd;
	const char	*c;

	(void)m;
	if (now_s() < p->silent_until || p->link_down)
		return;
	if ((doc = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL)) == NULL) {
		say(p, "REQUEST_BAD_JSON bytes=%d", msg->payloadlen);
		return;
	}
	if ((cmd = json_object_get(json_object_get(doc, "pushing"), "command")) != NULL &&
	    (c = json_string_value(cmd)) != NULL && (strcmp(c, "pushall") == 0 ||
	    strcmp(c, "start") == 0)) {
		publish_full(p);
		say(p, "PUSHALL command=%s", c);
	} else if ((cmd = json_object_get(json_object_get(doc, "info"), "command")) != NULL &&
	    (c = json_string_value(cmd)) != NULL && strcmp(c, "get_version") == 0) {
		publish_version(p);
		say(p, "GET_VERSION");
	} else {
		say(p, "REQUEST_IGNORED");
	}
	json_decref(doc);
}

/* Starts a non-blocking connection (the first one, or a reconnection); the loop completes it. */
static void
mqtt_connect(struct printer *p)
{
	int rc;

	p->connecting = 1;
	p->connect_started = now_s();
	if (!p->connect_called) {
		p->connect_called = 1;
		rc = mosquitto_connect_async(p->m, o.host, p->port, o.keepalive);
	} else
		rc = mosquitto_reconnect_async(p->m);
	if (rc != MOSQ_ERR_SUCCESS) {
		p->connecting = 0;
		p->reconnect_at = now_s() + 0.25;
	}
}

/* Creates the printer's MQTT client (bblp, TLS with --cafile) and starts connecting. */
static void
mqtt_setup(struct printer *p)
{
	char id[96];

	snprintf(id, sizeof(id), "printer-sim-%s", p->serial);
	if ((p->m = mosquitto_new(id, true, p)) == NULL)
		die("mosquitto_new: out of memory");
	mosquitto_int_option(p->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_username_pw_set(p->m, "bblp", o.code);
	if (o.cafile != NULL) {
		if (mosquitto_tls_set(p->m, o.cafile, NULL, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS)
			die("%s: cannot use as CA file", o.cafile);
		mosquitto_tls_opts_set(p->m, 1, "tlsv1.2", NULL);
		/* The broker's certificate names the serial, not 127.0.0.1: chain only. */
		mosquitto_tls_insecure_set(p->m, true);
	}
	mosquitto_connect_callback_set(p->m, on_connect);
	mosquitto_disconnect_callback_set(p->m, on_disconnect);
	mosquitto_message_callback_set(p->m, on_message);
	mqtt_connect(p);
}

/* ---- stdin commands -------------------------------------------------------------------------- */

/* Applies one stdin command to printer p. */
static void
command_one(struct printer *p, const char *cmd, double arg, double t)
{
	if (strcmp(cmd, "start") == 0) {
		if (!printing(p)) {
			if (p->prints_started >= o.prints)
				o.prints = p->prints_started + 1;
			p->done = 0;
			p->t_start = t;
		}
	} else if (strcmp(cmd, "fail") == 0 || strcmp(cmd, "cancel") == 0) {
		if (p->st == ST_RUNNING) {
			p->fail_error = cmd[0] == 'c' ? CANCEL_ERROR : o.fail_code;
			fail_now(p, t);
		}
	} else if (strcmp(cmd, "pushall") == 0) {
		publish_full(p);
	} else if (strcmp(cmd, "disconnect") == 0) {
		link_drop(p, arg >= 0 ? arg : 2, "DISCONNECT");
	} else if (strcmp(cmd, "silence") == 0) {
		p->silent_until = t + (arg >= 0 ? arg : 2);
		say(p, "SILENCE for=%g layer=%d", arg >= 0 ? arg : 2, p->layer);
	} else if (strcmp(cmd, "reboot") == 0) {
		p->rebooting = 1;
		link_drop(p, arg >= 0 ? arg : 2, "REBOOT");
		power_on(p);
		schedule_next(p, t + (arg >= 0 ? arg : 2));
	} else {
		fprintf(stderr, "printer_sim: unknown command \"%s\"\n", cmd);
	}
}

/* 1 if s is exactly n hex digits. */
static int
hex_digits(const char *s, size_t n)
{
	return s != NULL && strlen(s) == n && strspn(s, "0123456789abcdefABCDEF") == n;
}

/*
 * "tag TRAY UID|none [UUID]": the spool in TRAY now carries RFID tag_uid UID (16 hex digits; "none": no tag) and
 * tray_uuid UUID (32 hex digits; default zeros, as a non-Bambu spool), as after a spool is inserted and read; the
 * printer publishes a full report, as it does after reading a tag.
 */
static void
command_tag(struct printer *p, char **w)
{
	long	 tray = w[1] != NULL ? strtol(w[1], NULL, 10) : -1;
	int	 none = w[2] != NULL && strcmp(w[2], "none") == 0;

	if (tray < 0 || tray > 255 || (!none && !hex_digits(w[2], 16)) || (w[3] != NULL && !hex_digits(w[3], 32))) {
		fprintf(stderr, "printer_sim: usage: tag TRAY UID|none [UUID] (16 and 32 hex digits)\n");
		return;
	}
	p->tag_set[tray] = 1;
	snprintf(p->tag_uid[tray], sizeof(p->tag_uid[tray]), "%s", none ? "0000000000000000" : w[2]);
	snprintf(p->tag_uuid[tray], sizeof(p->tag_uuid[tray]), "%s", w[3] != NULL && !none ? w[3] :
	    "00000000000000000000000000000000");
	say(p, "TAG %ld uid=%s uuid=%s", tray, p->tag_uid[tray], p->tag_uuid[tray]);
	publish_full(p);
}

/* Parses one stdin line "[SERIAL] CMD [ARG...]" and applies it to one printer or all. */
static void
command_line(char *line)
{
	char	*w[5] = { NULL, NULL, NULL, NULL, NULL }, *save = NULL, *tok;
	int	 n = 0, i, target = -1;
	double	 arg = -1, t = now_s();

	for (tok = strtok_r(line, " \t\r", &save); tok != NULL && n < 5;
	    tok = strtok_r(NULL, " \t\r", &save))
		w[n++] = tok;
	if (n == 0)
		return;
	for (i = 0; i < nprinters; i++)
		if (strcmp(w[0], printers[i].serial) == 0)
			target = i;
	if (target >= 0) {
		memmove(w, w + 1, 4 * sizeof(*w));
		w[4] = NULL;
		n--;
	}
	if (n == 0)
		return;
	if (strcmp(w[0], "quit") == 0) {
		quit = 1;
		return;
	}
	if (strcmp(w[0], "tag") == 0) {
		for (i = 0; i < nprinters; i++)
			if (target < 0 || target == i)
				command_tag(&printers[i], w);
		return;
	}
	if (w[1] != NULL)
		arg = atof(w[1]);
	for (i = 0; i < nprinters; i++)
		if (target < 0 || target == i)
			command_one(&printers[i], w[0], arg, t);
}

/* Reads what stdin has and runs its complete lines; -1 at end of file. */
static int
read_stdin(void)
{
	static char	 buf[4096];
	static size_t	 len;
	char		*nl;
	ssize_t		 n;

	n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len);
	if (n <= 0)
		return -1;
	len += (size_t)n;
	buf[len] = '\0';
	while ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		command_line(buf);
		len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, len + 1);
	}
	if (len == sizeof(buf) - 1)
		len = 0;
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

/* SIGINT/SIGTERM: leave the loop, disconnect cleanly. */
static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* --dump: the job and its steps, one per line. */
static void
dump_script(void)
{
	size_t	 i;
	int	 n;

	printf("file=%s name=%s member=%s plate=%d layer_count=%d nproject=%d md5=%s events=%zu\n",
	    job.path, job.name, job.member, job.plate, job.layer_count, job.nproject, job.md5,
	    job.nev);
	for (n = 0; n < job.nproject; n++)
		printf("filament %d used=%d type=%s color=%s tray=%d ams_mapping=%d\n", n,
		    job.used[n], job.plan->filaments[n].type, job.plan->filaments[n].color,
		    phys_tray(n), mapped_tray(n));
	for (i = 0; i < job.nev; i++)
		printf("%s %d layer=%d at=%.4f\n", job.ev[i].kind == SIM_EV_LAYER ? "LAYER" :
		    job.ev[i].kind == SIM_EV_PERCENT ? "PERCENT" : "TOOL", job.ev[i].value,
		    job.ev[i].layer, job.ev[i].at);
}

/* Parses --port into ports[] (one, or one per printer); returns the count. */
static int
parse_ports(int *ports)
{
	const char	*s;
	char		*end;
	long		 v;
	int		 n = 0;

	for (s = o.ports; *s != '\0' && n < MAX_PRINTERS; s = *end == ',' ? end + 1 : end) {
		v = strtol(s, &end, 10);
		if (end == s || v <= 0 || v > 65535 || (*end != ',' && *end != '\0'))
			die("--port: bad list \"%s\"", o.ports);
		ports[n++] = (int)v;
	}
	if (n != 1 && n != o.count)
		die("--port: give one port or one per printer (%d)", o.count);
	return n;
}

/* Makes the printers (serials, topics, schedules) and starts their connections. */
static void
printers_new(void)
{
	struct printer	*p;
	int		 i, nports, ports[MAX_PRINTERS];
	double		 t;

	nports = parse_ports(ports);
	nprinters = o.count;
	if ((printers = calloc((size_t)nprinters, sizeof(*printers))) == NULL)
		die("out of memory");
	for (i = 0; i < nprinters; i++) {
		p = &printers[i];
		p->idx = i;
		if (nprinters == 1)
			snprintf(p->serial, sizeof(p->serial), "%s", o.serial);
		else
			snprintf(p->serial, sizeof(p->serial), "%s%03d", o.serial, i + 1);
		snprintf(p->t_report, sizeof(p->t_report), "device/%s/report", p->serial);
		snprintf(p->t_request, sizeof(p->t_request), "device/%s/request", p->serial);
		p->port = ports[nports == 1 ? 0 : i];
		power_on(p);
		p->fail_after = (size_t)-1;
		t = now_s();
		/* Printers start spread over one layer, so 100 of them do not report at once. */
		p->t_start = o.wait_start || o.prints == 0 ? -1 :
		    t + o.start_after + (double)i / nprinters / o.speed;
		p->next_hb = t + o.heartbeat * (1 + (double)i / nprinters);
		p->next_full = t + o.full_every;
		mqtt_setup(p);
	}
}

/*
 * Advances every printer to time t and fills pfd/who with the sockets to
 * watch (who[i] = printer index, -1 for stdin).  Returns the number of
 * entries, or -1 when every print is over and --exit-after has elapsed.
 * *due gets the earliest time something is to be done.
 */
static int
advance(double t, struct pollfd *pfd, int *who, int stdin_open, double *due)
{
	struct printer	*p;
	int		 i, n = 0, all_done = 1;

	*due = 1e300;
	for (i = 0; i < nprinters; i++) {
		p = &printers[i];
		if (p->connecting && t > p->connect_started + 10) {
			/* A connection attempt that never completed (a hung broker): start over. */
			say(p, "CONNECT_TIMEOUT");
			mosquitto_disconnect(p->m);
			p->connecting = 0;
			p->reconnect_at = t;
		}
		if (!p->connected && !p->connecting && !p->link_down && t >= p->reconnect_at)
			mqtt_connect(p);
		printer_step(p, t);
		if (printer_due(p) < *due)
			*due = printer_due(p);
		if (p->connecting && t + 0.05 < *due)
			*due = t + 0.05;
		if (!p->done || o.exit_after < 0)
			all_done = 0;
		else if (t < p->t_done + o.exit_after) {
			all_done = 0;
			if (p->t_done + o.exit_after < *due)
				*due = p->t_done + o.exit_after;
		}
		/* A failed attempt leaves its socket open until the next one: only live ones. */
		if ((p->connected || p->connecting) && mosquitto_socket(p->m) >= 0) {
			pfd[n].fd = mosquitto_socket(p->m);
			pfd[n].events = POLLIN | (mosquitto_want_write(p->m) ? POLLOUT : 0);
			who[n++] = i;
		}
	}
	if (all_done)
		return -1;
	if (stdin_open) {
		pfd[n].fd = STDIN_FILENO;
		pfd[n].events = POLLIN;
		who[n++] = -1;
	}
	return n;
}

/* Runs libmosquitto's network step for a printer whose socket poll() reported. */
static void
network(struct printer *p, short revents)
{
	int rc;

	if (revents == 0 && !p->connecting)
		return;
	rc = mosquitto_loop(p->m, 0, 1);
	/*
	 * A refused or reset TLS connection attempt: libmosquitto 2.0 keeps retrying
	 * the handshake on the dead socket without an error, so the hang-up is the
	 * only sign.  The next attempt closes the socket.
	 */
	if (p->connecting && !p->connected && (revents & (POLLHUP | POLLERR)) &&
	    rc == MOSQ_ERR_SUCCESS)
		rc = MOSQ_ERR_CONN_LOST;
	if (rc != MOSQ_ERR_SUCCESS && p->connecting && !p->connected) {
		if (!p->connect_failed_said)
			say(p, "CONNECT_FAILED rc=%d (%s)", rc, mosquitto_strerror(rc));
		p->connect_failed_said = 1;
		p->connecting = 0;
		p->reconnect_at = now_s() + 0.25;
	}
}

/* The event loop: until a signal, "quit" on stdin, or the end given by --exit-after. */
static void
run(void)
{
	struct pollfd	*pfd;
	int		*who, i, n, stdin_open = 1;
	double		 due, wait_ms;

	pfd = calloc((size_t)nprinters + 1, sizeof(*pfd));
	who = calloc((size_t)nprinters + 1, sizeof(*who));
	if (pfd == NULL || who == NULL)
		die("out of memory");
	while (!quit && (n = advance(now_s(), pfd, who, stdin_open, &due)) >= 0) {
		wait_ms = (due - now_s()) * 1000;
		wait_ms = wait_ms > 1000 ? 1000 : wait_ms < 0 ? 0 : wait_ms;
		if (poll(pfd, (nfds_t)n, (int)ceil(wait_ms)) == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (who[i] >= 0)
				network(&printers[who[i]], pfd[i].revents);
			else if (pfd[i].revents != 0 && read_stdin() == -1)
				stdin_open = 0;
		}
		/* Keepalive pings of the quiet connections. */
		for (i = 0; i < nprinters; i++)
			if (printers[i].connected)
				mosquitto_loop_misc(printers[i].m);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	free(pfd);
	free(who);
}

int
main(int argc, char **argv)
{
	char	err[ERRBUF_LEN];
	int	i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	if (sim_job_load(&job, o.file, o.name, &o.job, err) == -1)
		die("%s", err);
	if (o.dump) {
		dump_script();
		sim_job_free(&job);
		return 0;
	}
	if ((tmpl = sim_template_load(o.template_path, err)) == NULL)
		die("%s", err);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mosquitto_lib_init();
	t_origin = now_s();
	say(NULL, "SIM printers=%d layers=%d events=%zu speed=%g file=%s", o.count,
	    job.layer_count, job.nev, o.speed, job.name);
	printers_new();
	run();
	say(NULL, "BYE published=%lu dropped=%lu", npublished, ndropped);
	for (i = 0; i < nprinters; i++) {
		if (printers[i].connected) {
			mosquitto_disconnect(printers[i].m);
			mosquitto_loop(printers[i].m, 100, 1);
		}
		mosquitto_destroy(printers[i].m);
	}
	mosquitto_lib_cleanup();
	json_decref(tmpl);
	sim_job_free(&job);
	free(printers);
	return 0;
}
