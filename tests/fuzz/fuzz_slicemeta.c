/* fuzz_slicemeta.c: libFuzzer target: bytes through the slice_info, model_settings and project_settings parsers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "errbuf.h"
#include "plan.h"
#include "slicemeta.h"
#include "threemf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan	*plan = plan_new();
	const char	*doc = (const char *)data;
	char		 err[ERRBUF_LEN], member[THREEMF_MEMBER_LEN];
	int		 plate, i;

	(void)slicemeta_slice_info(doc, size, 1, plan, err);
	if (slicemeta_first_plate(doc, size, &plate, member, err) == 0 &&
	    (plate < 1 || strlen(member) >= sizeof(member)))
		__builtin_trap();
	(void)slicemeta_project_settings(doc, size, plan, err);
	/* Whatever went in, the texts stay terminated within their fields. */
	for (i = 0; i < PLAN_MAX_FILAMENTS; i++)
		if (memchr(plan->filaments[i].type, '\0', PLAN_TEXT_LEN) ==
		    NULL || memchr(plan->filaments[i].color, '\0',
		    PLAN_TEXT_LEN) == NULL)
			__builtin_trap();
	plan_free(plan);
	return 0;
}
