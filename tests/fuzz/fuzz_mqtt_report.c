/* fuzz_mqtt_report.c: libFuzzer target: bytes as a sequence of MQTT reports (split on 0x1E) into one state, the status read after each. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "bambu_project.h"
#include "bambu_state.h"
#include "bambu_status.h"
#include "bambu_tray.h"
#include "errbuf.h"

#define RS	0x1E		/* ASCII record separator, as in RFC 7464 */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Traps unless s (size bytes) holds a NUL. */
static void
terminated(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		__builtin_trap();
}

/* Traps unless tray is a tray id or, if sentinels, one of the two sentinels. */
static void
valid_tray(int tray, int sentinels)
{
	if ((tray >= 0 && tray <= 15) || (tray >= 24 && tray <= 27) ||
	    (tray >= 128 && tray <= 135) || tray == 254 || tray == 255)
		return;
	if (sentinels && (tray == BAMBU_TRAY_NONE ||
	    tray == BAMBU_TRAY_INVALID))
		return;
	__builtin_trap();
}

static void
check_project(const struct bambu_project *pf)
{
	int	 i;

	terminated(pf->url, sizeof(pf->url));
	terminated(pf->param, sizeof(pf->param));
	terminated(pf->subtask_name, sizeof(pf->subtask_name));
	terminated(pf->md5, sizeof(pf->md5));
	if (pf->nfilaments < 0 || pf->nfilaments > BAMBU_FILAMENTS_MAX)
		__builtin_trap();
	for (i = 0; i < BAMBU_FILAMENTS_MAX + 2; i++)
		valid_tray(bambu_project_tray(pf, i - 1), 1);
	for (i = 0; i < pf->nfilaments; i++)
		if (pf->tray[i] != bambu_project_tray(pf, i))
			__builtin_trap();
}

static void
check_status(const struct bambu_status *s)
{
	int	 i;

	terminated(s->gcode_state, sizeof(s->gcode_state));
	terminated(s->subtask_name, sizeof(s->subtask_name));
	terminated(s->gcode_file, sizeof(s->gcode_file));
	if (s->ntrays < 0 || s->ntrays > BAMBU_TRAYS_MAX ||
	    s->nunits > BAMBU_UNITS_MAX || s->ninfo > BAMBU_EXTRUDERS_MAX ||
	    s->nmapping > BAMBU_FILAMENTS_MAX)
		__builtin_trap();
	for (i = 0; i < s->ntrays; i++) {
		valid_tray(s->trays[i].tray, 1);
		terminated(s->trays[i].color, sizeof(s->trays[i].color));
		terminated(s->trays[i].uuid, sizeof(s->trays[i].uuid));
		if (s->trays[i].remain < -1 || s->trays[i].remain > 100)
			__builtin_trap();
	}
	for (i = 0; i < s->nmapping; i++)
		valid_tray(s->mapping[i], 1);
	if (s->tray_active != BAMBU_TRAY_NONE)
		valid_tray(s->tray_active, 0);
	if (s->layer_num < -1 || s->mc_percent > 100)
		__builtin_trap();
	valid_tray(bambu_status_canon(s, 254), 0);
}

/* Feeds one report; a refused one must leave the state as it was. */
static void
feed_one(struct bambu_state *st, const uint8_t *p, size_t n)
{
	static struct bambu_event	 ev;
	json_t				*before;
	char				 err[ERRBUF_LEN];

	before = json_deep_copy(bambu_state_print(st));
	err[0] = '\0';
	if (bambu_state_feed(st, p, n, &ev, err) == -1) {
		terminated(err, sizeof(err));
		if (err[0] == '\0' || !json_equal(before,
		    bambu_state_print(st)))
			__builtin_trap();
	} else {
		terminated(ev.module, sizeof(ev.module));
		terminated(ev.command, sizeof(ev.command));
		if (ev.kind == BAMBU_KIND_PROJECT)
			check_project(&ev.project);
	}
	json_decref(before);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bambu_state		*st = bambu_state_new();
	static struct bambu_status	 s;
	const uint8_t			*p = data, *end = data + size;
	const uint8_t			*sep;

	for (;;) {
		sep = memchr(p, RS, (size_t)(end - p));
		feed_one(st, p, (size_t)((sep != NULL ? sep : end) - p));
		bambu_status_get(st, &s);
		check_status(&s);
		if (sep == NULL)
			break;
		p = sep + 1;
	}
	bambu_state_free(st);
	return 0;
}
