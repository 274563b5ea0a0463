/* doctor.c: the report of `spoolkeeper doctor`: one ok/warn/FAIL line per check with what to do, or JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "doctor.h"

static const char *const words[] = { "ok", "warn", "FAIL" };

void
doctor_add(struct doctor_report *r, enum doctor_status st, const char *check, const char *printer,
    const char *fix, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->checks == NULL)
		r->checks = json_array();
	json_array_append_new(r->checks, json_pack("{s:s, s:s?, s:s, s:s, s:s?}", "check", check, "printer",
	    printer, "status", words[st], "message", msg, "fix", st == DOCTOR_OK ? NULL : fix));
	if (st == DOCTOR_FAIL)
		r->failed++;
	if (r->json)
		return;
	printf("%-4s  %s%s%s%s: %s\n", words[st], printer != NULL ? "printer " : "", printer != NULL ? printer : "",
	    printer != NULL ? ": " : "", check, msg);
	if (st != DOCTOR_OK && fix != NULL)
		printf("      -> %s\n", fix);
	fflush(stdout);
}

int
doctor_finish(struct doctor_report *r)
{
	size_t	 n = r->checks != NULL ? json_array_size(r->checks) : 0;
	json_t	*out;
	char	*text;

	if (r->json) {
		out = json_pack("{s:b, s:i, s:o}", "ok", r->failed == 0, "failed", r->failed, "checks",
		    r->checks != NULL ? r->checks : json_array());
		r->checks = NULL;
		text = json_dumps(out, JSON_INDENT(2));
		json_decref(out);
		if (text != NULL)
			printf("%s\n", text);
		free(text);
	} else if (r->failed == 0)
		printf("%zu checks: all ok\n", n);
	else
		printf("%zu checks, %d failed\n", n, r->failed);
	json_decref(r->checks);
	r->checks = NULL;
	return r->failed == 0 ? 0 : 1;
}
