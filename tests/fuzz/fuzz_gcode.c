/* fuzz_gcode.c: libFuzzer target for the gcode interpreter (whole input, then split in two). */
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "gcode.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
run(const uint8_t *data, size_t size, size_t split, int use_ams)
{
	struct gcode_opts	 o;
	struct gcode		*g;
	struct plan		*p = plan_new();
	char			 err[ERRBUF_LEN];

	gcode_opts_default(&o);
	o.use_ams = use_ams;
	o.flags[GCODE_FLAG_EXTRUDE_CALI] = use_ams;
	g = gcode_new(&o);
	if (gcode_feed(g, (const char *)data, split, err) == 0 &&
	    gcode_feed(g, (const char *)data + split, size - split, err) == 0 &&
	    gcode_finish(g, p, err) == 0) {
		json_t *j = plan_to_json(p, "fuzz");

		json_decref(j);
	}
	gcode_free(g);
	plan_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, size, 1);
	run(data, size, size / 2, 0);
	return 0;
}
