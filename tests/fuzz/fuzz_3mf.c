/* fuzz_3mf.c: libFuzzer target: bytes as a .gcode.3mf through open, plate choice, streaming and metadata. */
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "plan.h"
#include "threemf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Counts the bytes streamed. */
static int
count(void *ctx, const char *buf, size_t len, char *err)
{
	(void)buf;
	(void)err;
	*(size_t *)ctx += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct threemf	*tm;
	struct plan	*plan;
	char		 err[ERRBUF_LEN], name[THREEMF_MEMBER_LEN];
	size_t		 n = 0;
	int		 plate;

	if (threemf_open_buffer(data, size, &tm, err) == -1)
		return 0;
	plan = plan_new();
	if (threemf_pick_plate(tm, 0, NULL, name, &plate, err) == 0) {
		(void)threemf_stream(tm, name, count, &n, err);
		(void)threemf_apply_metadata(tm, plate, plan, err);
	}
	(void)threemf_pick_plate(tm, 1, NULL, name, &plate, err);
	(void)threemf_pick_plate(tm, 0, "Metadata/plate_2.gcode", name, &plate,
	    err);
	plan_free(plan);
	threemf_close(tm);
	return 0;
}
