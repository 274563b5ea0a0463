/* counters.c: the worker's event counters, atomic so the MQTT, outbox and main threads may all count. */
#include <stdatomic.h>

#include <jansson.h>

#include "counters.h"

static atomic_ullong	 values[COUNTER__MAX];

static const char *const names[COUNTER__MAX] = {
	"mqtt_connects", "mqtt_reconnects", "mqtt_disconnects", "mqtt_refused", "spoolman_requests", "spoolman_errors"
};

void
counters_add(enum counter c, unsigned long long n)
{
	if (c >= 0 && c < COUNTER__MAX)
		atomic_fetch_add(&values[c], n);
}

unsigned long long
counters_get(enum counter c)
{
	return c >= 0 && c < COUNTER__MAX ? atomic_load(&values[c]) : 0;
}

const char *
counters_name(enum counter c)
{
	return c >= 0 && c < COUNTER__MAX ? names[c] : "?";
}

char *
counters_json(void)
{
	json_t	*o = json_object();
	char	*text;
	int	 i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < COUNTER__MAX; i++)
		json_object_set_new(o, names[i], json_integer((json_int_t)counters_get((enum counter)i)));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}
