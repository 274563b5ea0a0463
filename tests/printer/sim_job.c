/* sim_job.c: turns a sliced file into the layer, progress and filament steps a Bambu printer reports. */
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "errbuf.h"
#include "sim.h"
#include "threemf.h"

/* A tool change seen in the gcode: slicer filament, layer, and the last M73 P before it. */
struct tool_change {
	int	 tool;
	int	 layer;
	int	 percent;
};

/* The line scanner's state: it only looks at M73 (layer, percent) and M620 S<n>A / T<n> (tool changes). */
struct scan {
	char			 line[512];
	size_t			 len;
	int			 overlong;	/* the current line did not fit: ignored */
	int			 layer;		/* by M73 L<n>, or by counted "; CHANGE_LAYER" */
	int			 by_comments;	/* the plan counted CHANGE_LAYER comments */
	int			 percent;
	struct tool_change	*m620, *tcmd;	/* M620 S<n>A changes, and T<n> commands */
	size_t			 nm620, ntcmd, cap_m620, cap_tcmd;
	int			 oom;
};

/* The built-in template: the print object of a real A1 full report (ams and vt_tray are built). */
static const char builtin_template[] =
    "{\"upgrade_state\":{\"sequence_id\":0,\"progress\":\"\",\"status\":\"IDLE\","
    "\"consistency_request\":false,\"dis_state\":1,\"err_code\":0,\"force_upgrade\":false,"
    "\"message\":\"\",\"module\":\"\",\"new_version_state\":1,\"cur_state_code\":0,"
    "\"idx2\":323234868,\"new_ver_list\":[{\"name\":\"ota\",\"cur_ver\":\"01.07.00.00\","
    "\"new_ver\":\"01.07.01.00\",\"cur_release_type\":3,\"new_release_type\":3}],"
    "\"mc_for_ams_firmware\":{\"current_run_firmware_id\":0,\"current_firmware_id\":0,"
    "\"status\":\"IDLE\",\"firmware\":[{\"id\":0,\"name\":\"AMS Lite\"},{\"id\":1,"
    "\"name\":\"AMS/AMS 2 Pro/AMS HT\"}]}},"
    "\"ipcam\":{\"ipcam_dev\":\"1\",\"ipcam_record\":\"disable\",\"timelapse\":\"disable\","
    "\"resolution\":\"1080p\",\"tutk_server\":\"disable\",\"mode_bits\":3},"
    "\"upload\":{\"status\":\"idle\",\"progress\":0,\"message\":\"\"},"
    "\"net\":{\"conf\":0,\"info\":[{\"ip\":16777343,\"mask\":16777215}]},"
    "\"nozzle_temper\":27.03125,\"nozzle_target_temper\":0,\"bed_temper\":31.5625,"
    "\"bed_target_temper\":0,\"chamber_temper\":5,\"mc_print_stage\":\"1\","
    "\"heatbreak_fan_speed\":\"0\",\"cooling_fan_speed\":\"0\",\"big_fan1_speed\":\"0\","
    "\"big_fan2_speed\":\"0\",\"mc_percent\":0,\"mc_remaining_time\":0,\"ams_status\":0,"
    "\"ams_rfid_status\":0,\"hw_switch_state\":0,\"spd_mag\":100,\"spd_lvl\":2,"
    "\"print_error\":0,\"lifecycle\":\"product\",\"wifi_signal\":\"-46dBm\","
    "\"gcode_state\":\"IDLE\",\"gcode_file_prepare_percent\":\"0\",\"queue_number\":0,"
    "\"queue_total\":0,\"queue_est\":0,\"queue_sts\":0,\"project_id\":\"0\","
    "\"profile_id\":\"0\",\"task_id\":\"0\",\"subtask_id\":\"0\",\"subtask_name\":\"\","
    "\"gcode_file\":\"\",\"stg\":[],\"stg_cur\":255,\"print_type\":\"idle\","
    "\"home_flag\":847070616,\"mc_print_line_number\":\"0\",\"mc_print_sub_stage\":0,"
    "\"sdcard\":true,\"force_upgrade\":false,\"mess_production_state\":\"active\","
    "\"layer_num\":0,\"total_layer_num\":0,\"s_obj\":[],\"filam_bak\":[],\"fan_gear\":0,"
    "\"nozzle_diameter\":\"0.4\",\"nozzle_type\":\"stainless_steel\",\"cali_version\":1,"
    "\"k\":\"0.0200\",\"flag3\":671,\"hms\":[],"
    "\"online\":{\"ahb\":false,\"rfid\":false,\"version\":1145989246},\"ams\":{},"
    "\"xcam\":{\"buildplate_marker_detector\":true},\"vt_tray\":{},"
    "\"lights_report\":[{\"node\":\"chamber_light\",\"mode\":\"off\"}],"
    "\"command\":\"push_status\",\"msg\":0,\"sequence_id\":\"0\"}";

json_t *
sim_template_load(const char *path, char *err)
{
	json_error_t	 jerr;
	json_t		*doc, *p, *print;

	if (path == NULL) {
		doc = json_loads(builtin_template, 0, &jerr);
		if (doc == NULL)
			errbuf_set(err, "built-in template: %s", jerr.text);
		return doc;
	}
	if ((doc = json_load_file(path, 0, &jerr)) == NULL) {
		errbuf_set(err, "%s: %s (line %d)", path, jerr.text, jerr.line);
		return NULL;
	}
	/* {"print":{...}}, or a ha-bambulab fixture {"pushall"|"push_all":{"print":{...}}, ...}. */
	p = doc;
	if (json_object_get(p, "pushall") != NULL)
		p = json_object_get(p, "pushall");
	else if (json_object_get(p, "push_all") != NULL)
		p = json_object_get(p, "push_all");
	print = json_object_get(p, "print");
	if (!json_is_object(print)) {
		errbuf_set(err, "%s: no \"print\" object (a full report is needed)", path);
		json_decref(doc);
		return NULL;
	}
	print = json_deep_copy(print);
	json_decref(doc);
	return print;
}

void
sim_hex_id(char *out, size_t ndigits, const char *serial, int tray, unsigned salt)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;
	const char	*s;

	for (s = serial; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ (unsigned)tray) * 1099511628211ULL;
	h = (h ^ salt) * 1099511628211ULL;
	for (i = 0; i < ndigits; i++) {
		h = (h ^ i) * 1099511628211ULL;
		out[i] = "0123456789ABCDEF"[(h >> 29) & 0xF];
	}
	out[ndigits] = '\0';
}

/* Appends a tool change to a growing array; -1 when out of memory. */
static int
push_change(struct tool_change **v, size_t *n, size_t *cap, int tool, int layer, int percent)
{
	struct tool_change *nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((nv = realloc(*v, *cap * sizeof(**v))) == NULL)
			return -1;
		*v = nv;
	}
	(*v)[*n].tool = tool;
	(*v)[*n].layer = layer;
	(*v)[*n].percent = percent;
	(*n)++;
	return 0;
}

/* Parses an unsigned number at *s (advancing it); -1 when there is none. */
static long
num(const char **s)
{
	long v = 0;

	if (!isdigit((unsigned char)**s))
		return -1;
	while (isdigit((unsigned char)**s) && v < 100000000)
		v = v * 10 + (*(*s)++ - '0');
	return v;
}

/* Looks at one gcode line: M73 L/P update the position, M620 S<n>A and T<n> record tool changes. */
static void
scan_line(struct scan *sc, const char *s)
{
	const char	*p;
	long		 v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (sc->by_comments && strncmp(s, "; CHANGE_LAYER", 14) == 0) {
		sc->layer++;
	} else if (strncmp(s, "M73 ", 4) == 0) {
		for (p = s + 4; *p != '\0' && *p != ';'; p++) {
			if ((*p == 'L' || *p == 'P') && (p[-1] == ' ' || p[-1] == '\t')) {
				const char *q = p + 1;

				if ((v = num(&q)) < 0)
					continue;
				if (*p == 'L' && !sc->by_comments)
					sc->layer = (int)v;
				else if (v <= 100)
					sc->percent = (int)v;
			}
		}
	} else if (strncmp(s, "M620 S", 6) == 0) {
		p = s + 6;
		if ((v = num(&p)) >= 0 && *p == 'A' && v < SIM_TRAY_EXT &&
		    push_change(&sc->m620, &sc->nm620, &sc->cap_m620, (int)v, sc->layer,
		    sc->percent) == -1)
			sc->oom = 1;
	} else if (s[0] == 'T' && isdigit((unsigned char)s[1])) {
		p = s + 1;
		if ((v = num(&p)) >= 0 && v < SIM_TRAY_EXT &&
		    (*p == '\0' || *p == ' ' || *p == ';' || *p == '\r') &&
		    push_change(&sc->tcmd, &sc->ntcmd, &sc->cap_tcmd, (int)v, sc->layer,
		    sc->percent) == -1)
			sc->oom = 1;
	}
}

/* threemf_stream sink: splits the bytes into lines for scan_line. */
static int
scan_sink(void *ctx, const char *buf, size_t len, char *err)
{
	struct scan	*sc = ctx;
	size_t		 i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (!sc->overlong) {
				sc->line[sc->len] = '\0';
				scan_line(sc, sc->line);
			}
			sc->len = 0;
			sc->overlong = 0;
		} else if (sc->len + 1 < sizeof(sc->line)) {
			sc->line[sc->len++] = buf[i];
		} else
			sc->overlong = 1;
	}
	if (sc->oom)
		return errbuf_set(err, "out of memory");
	return 0;
}

/* Streams the gcode (the plan's member of a zip, or the plain file) through the scanner. */
static int
scan_file(const char *path, const char *member, struct scan *sc, char *err)
{
	struct threemf	*z;
	char		 buf[65536];
	ssize_t		 n;
	int		 fd, rc;

	if (member[0] != '\0') {
		if (threemf_open_file(path, &z, err) == -1)
			return -1;
		rc = threemf_stream(z, member, scan_sink, sc, err);
		threemf_close(z);
		if (rc == -1)
			return -1;
	} else {
		if ((fd = open(path, O_RDONLY)) == -1)
			return errbuf_set(err, "%s: cannot open", path);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (scan_sink(sc, buf, (size_t)n, err) == -1) {
				close(fd);
				return -1;
			}
		close(fd);
		if (n < 0)
			return errbuf_set(err, "%s: read error", path);
	}
	return scan_sink(sc, "\n", 1, err);
}

struct md5_ctx {
	char	*out;
	size_t	 len;
};

static int
md5_sink(void *ctx, const char *buf, size_t len, char *err)
{
	struct md5_ctx	*m = ctx;
	size_t		 i;

	(void)err;
	for (i = 0; i < len && m->len < 32; i++)
		if (isxdigit((unsigned char)buf[i]))
			m->out[m->len++] = (char)toupper((unsigned char)buf[i]);
	return 0;
}

/* Reads Metadata/plate_N.gcode.md5 (the gcode's MD5 that the project_file echo carries) if present. */
static void
read_md5(struct sim_job *job)
{
	struct threemf	*z;
	struct md5_ctx	 m = { job->md5, 0 };
	char		 member[160], err[ERRBUF_LEN];

	job->md5[0] = '\0';
	if (job->member[0] == '\0' || threemf_open_file(job->path, &z, err) == -1)
		return;
	snprintf(member, sizeof(member), "%s.md5", job->member);
	if (threemf_stream(z, member, md5_sink, &m, err) == -1 || m.len != 32)
		m.len = 0;
	job->md5[m.len] = '\0';
	threemf_close(z);
}

/* Appends one script step; -1 when out of memory. */
static int
push_event(struct sim_job *job, size_t *cap, enum sim_ev kind, int value, int layer)
{
	struct sim_event *nv;

	if (job->nev == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		if ((nv = realloc(job->ev, *cap * sizeof(*nv))) == NULL)
			return -1;
		job->ev = nv;
	}
	job->ev[job->nev].kind = kind;
	job->ev[job->nev].value = value;
	job->ev[job->nev].layer = layer;
	job->ev[job->nev].at = layer;
	job->nev++;
	return 0;
}

/*
 * The script: for each layer, its LAYER step (none for layer 0, which starts
 * with RUNNING), then its progress marks (from the engine's plan) with the tool
 * changes of that layer put after the marks at or below the percent the gcode
 * had reached at the change.  The steps of a layer are spread evenly over it.
 */
static int
build_script(struct sim_job *job, const struct tool_change *tc, size_t ntc, char *err)
{
	const struct plan	*p = job->plan;
	size_t			 cap = 0, mi = 0, ti = 0, first, i;
	int			 k, last = job->layer_count;

	for (k = 0; k <= last; k++) {
		if (k > 0 && push_event(job, &cap, SIM_EV_LAYER, k, k) == -1)
			goto oom;
		first = job->nev;
		for (;;) {
			int mark_here = mi < p->nmarks &&
			    (p->marks[mi].layer <= k || k == last);
			int tool_here = ti < ntc && (tc[ti].layer <= k || k == last);

			if (!mark_here && !tool_here)
				break;
			if (tool_here && (!mark_here || p->marks[mi].percent > tc[ti].percent)) {
				if (push_event(job, &cap, SIM_EV_TOOL, tc[ti].tool, k) == -1)
					goto oom;
				ti++;
			} else {
				if (push_event(job, &cap, SIM_EV_PERCENT, p->marks[mi].percent,
				    k) == -1)
					goto oom;
				mi++;
			}
		}
		for (i = first; i < job->nev; i++)
			job->ev[i].at = k + (double)(i - first + 1) / (double)(job->nev - first + 1);
	}
	return 0;
oom:
	return errbuf_set(err, "out of memory");
}

int
sim_job_load(struct sim_job *job, const char *path, const char *name,
    const struct sim_jobopts *jo, char *err)
{
	struct analyze_opts	 ao;
	struct scan		 sc;
	const char		*base;
	int			 i, rc;

	memset(job, 0, sizeof(*job));
	job->first_tool = -1;
	if (strlen(path) >= sizeof(job->path))
		return errbuf_set(err, "%s: path too long", path);
	strcpy(job->path, path);
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if (name == NULL)
		name = base;
	if (strlen(name) >= sizeof(job->name))
		return errbuf_set(err, "%s: name too long", name);
	strcpy(job->name, name);

	analyze_opts_default(&ao);
	ao.plate = jo->plate;
	ao.gcode.use_ams = jo->use_ams;
	ao.gcode.flags[GCODE_FLAG_EXTRUDE_CALI] = jo->flow_cali;
	ao.gcode.flags[GCODE_FLAG_TIMELAPSE] = jo->timelapse;
	ao.gcode.flags[GCODE_FLAG_BED_LEVELING] = jo->bed_leveling;
	if (analyze_path(path, &ao, &job->plan, err) == -1)
		return -1;
	job->plate = job->plan->plate > 0 ? job->plan->plate : 1;
	snprintf(job->member, sizeof(job->member), "%s", job->plan->member);
	job->layer_count = job->plan->layer_count;
	for (i = 0; i < PLAN_MAX_FILAMENTS; i++) {
		const struct plan_filament *f = &job->plan->filaments[i];

		job->used[i] = f->extrudes && (f->mm > 0 || f->slicer_mm > 0);
		if (job->used[i] || f->type[0] != '\0' || isfinite(f->density))
			job->nproject = i + 1;
	}
	if (job->nproject == 0)
		job->nproject = 1;
	read_md5(job);

	memset(&sc, 0, sizeof(sc));
	sc.by_comments = job->plan->layer_source == PLAN_LAYERS_CHANGE_LAYER;
	if (scan_file(path, job->member, &sc, err) == -1) {
		rc = -1;
	} else {
		/* The printer skips the M620 S<n>A blocks without AMS: no filament change at all. */
		const struct tool_change *tc = sc.nm620 > 0 ? sc.m620 : sc.tcmd;
		size_t ntc = sc.nm620 > 0 ? sc.nm620 : sc.ntcmd;

		if (!jo->use_ams)
			ntc = 0;
		for (i = 0; i < (int)ntc; i++)
			if (tc[i].tool < PLAN_MAX_FILAMENTS && job->first_tool == -1)
				job->first_tool = tc[i].tool;
		rc = build_script(job, tc, ntc, err);
	}
	if (job->first_tool == -1)
		for (i = 0; i < PLAN_MAX_FILAMENTS && job->first_tool == -1; i++)
			if (job->used[i])
				job->first_tool = i;
	free(sc.m620);
	free(sc.tcmd);
	if (rc == -1)
		sim_job_free(job);
	return rc;
}

void
sim_job_free(struct sim_job *job)
{
	plan_free(job->plan);
	free(job->ev);
	job->plan = NULL;
	job->ev = NULL;
	job->nev = 0;
}
