/* bambu_project.c: the project_file command echo and its slicer filament to printer tray mapping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bambu_json.h"
#include "bambu_project.h"
#include "bambu_tray.h"
#include "errbuf.h"

#define PLATE_MAX	1000		/* plates of one project */
#define PARAM_PREFIX	"Metadata/plate_"
#define PARAM_SUFFIX	".gcode"

/*
 * Reads print[key], a boolean or a small integer (0..255), into *out (-1
 * when absent or null).  Returns 0, or -1 with err set.
 */
static int
get_flag(const json_t *print, const char *key, int *out, char *err)
{
	const json_t	*v = json_object_get(print, key);
	long long	 n;

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (!json_is_integer(v) || bambu_json_int(v, 0, 255, &n) == -1)
		return errbuf_set(err, "project_file %s is not a flag", key);
	*out = (int)n;
	return 0;
}

/*
 * Copies print[key], a string or an integer, into dst ("" when absent or
 * null).  Returns 0 or 1 (cut), or -1 with err set for another type.
 */
static int
get_text(const json_t *print, const char *key, char *dst, size_t size,
    char *err)
{
	const json_t	*v = json_object_get(print, key);
	int		 r;

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if ((r = bambu_json_text(v, dst, size)) == -1)
		return errbuf_set(err, "project_file %s is not a string", key);
	return r;
}

/*
 * Looks up print[key], an array of at most BAMBU_FILAMENTS_MAX elements:
 * *arr is NULL when absent or null.  Returns 0, or -1 with err set.
 */
static int
get_array(const json_t *print, const char *key, const json_t **arr,
    char *err)
{
	*arr = json_object_get(print, key);
	if (*arr == NULL || json_is_null(*arr)) {
		*arr = NULL;
		return 0;
	}
	if (!json_is_array(*arr))
		return errbuf_set(err, "project_file %s is not an array", key);
	if (json_array_size(*arr) > BAMBU_FILAMENTS_MAX)
		return errbuf_set(err, "project_file %s has %zu elements "
		    "(limit %d)", key, json_array_size(*arr),
		    BAMBU_FILAMENTS_MAX);
	return 0;
}

/* Reads print[key], an array of integers, into dst[*n].  Returns 0 or -1. */
static int
get_ints(const json_t *print, const char *key, long long *dst, int *n,
    char *err)
{
	const json_t	*arr, *v;
	size_t		 i;

	*n = 0;
	if (get_array(print, key, &arr, err) == -1)
		return -1;
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v))
			return errbuf_set(err, "project_file %s[%zu] is not an "
			    "integer", key, i);
		dst[i] = json_integer_value(v);
	}
	*n = (int)json_array_size(arr);
	return 0;
}

/* Reads ams_mapping2, an array of {ams_id, slot_id}.  Returns 0 or -1. */
static int
get_refs(const json_t *print, struct bambu_project *pf, char *err)
{
	const json_t	*arr, *v, *a, *s;
	size_t		 i;

	pf->nams_mapping2 = 0;
	if (get_array(print, "ams_mapping2", &arr, err) == -1)
		return -1;
	json_array_foreach(arr, i, v) {
		a = json_object_get(v, "ams_id");
		s = json_object_get(v, "slot_id");
		if (!json_is_integer(a) || !json_is_integer(s))
			return errbuf_set(err, "project_file ams_mapping2[%zu] "
			    "needs integer ams_id and slot_id", i);
		pf->ams_mapping2[i].ams_id = json_integer_value(a);
		pf->ams_mapping2[i].slot_id = json_integer_value(s);
	}
	pf->nams_mapping2 = (int)json_array_size(arr);
	return 0;
}

/* Returns N of "Metadata/plate_N.gcode", or -1. */
static int
param_plate(const char *param)
{
	const char	*p;
	char		*end;
	long		 n;

	if (strncmp(param, PARAM_PREFIX, strlen(PARAM_PREFIX)) != 0)
		return -1;
	p = param + strlen(PARAM_PREFIX);
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno != 0 || strcmp(end, PARAM_SUFFIX) != 0 || n < 1 ||
	    n > PLATE_MAX)
		return -1;
	return (int)n;
}

/* Sets pf->plate_idx from plate_idx, else plate, else param.  Returns 0 or -1. */
static int
get_plate(const json_t *print, struct bambu_project *pf, char *err)
{
	static const char *const keys[] = { "plate_idx", "plate" };
	const json_t	*v;
	long long	 n;
	size_t		 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = json_object_get(print, keys[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (bambu_json_int(v, 0, PLATE_MAX, &n) == -1)
			return errbuf_set(err, "project_file %s is not a plate "
			    "number", keys[i]);
		pf->plate_idx = (int)n;
		return 0;
	}
	pf->plate_idx = param_plate(pf->param);
	return 0;
}

/* Reads the texts of the echo.  Returns 0 or -1. */
static int
get_texts(const json_t *print, struct bambu_project *pf, char *err)
{
	int	 r;

	if ((r = get_text(print, "url", pf->url, sizeof(pf->url), err)) == -1)
		return -1;
	pf->url_cut = r;
	if (get_text(print, "param", pf->param, sizeof(pf->param), err) ==
	    -1 ||
	    get_text(print, "subtask_name", pf->subtask_name,
	    sizeof(pf->subtask_name), err) == -1 ||
	    get_text(print, "task_id", pf->task_id, sizeof(pf->task_id),
	    err) == -1 ||
	    get_text(print, "subtask_id", pf->subtask_id,
	    sizeof(pf->subtask_id), err) == -1 ||
	    get_text(print, "project_id", pf->project_id,
	    sizeof(pf->project_id), err) == -1 ||
	    get_text(print, "md5", pf->md5, sizeof(pf->md5), err) == -1 ||
	    get_text(print, "result", pf->result, sizeof(pf->result),
	    err) == -1)
		return -1;
	return 0;
}

int
bambu_project_parse(const json_t *print, struct bambu_project *pf,
    char *err)
{
	int	 i;

	memset(pf, 0, sizeof(*pf));
	if (!json_is_object(print))
		return errbuf_set(err, "project_file: print is not an object");
	if (get_texts(print, pf, err) == -1 ||
	    get_plate(print, pf, err) == -1 ||
	    get_flag(print, "use_ams", &pf->use_ams, err) == -1 ||
	    get_flag(print, "timelapse", &pf->timelapse, err) == -1 ||
	    get_flag(print, "bed_leveling", &pf->bed_leveling, err) == -1 ||
	    get_flag(print, "flow_cali", &pf->flow_cali, err) == -1 ||
	    get_flag(print, "extrude_cali_flag", &pf->extrude_cali_flag,
	    err) == -1 ||
	    get_flag(print, "auto_bed_leveling", &pf->auto_bed_leveling,
	    err) == -1 ||
	    get_ints(print, "ams_mapping", pf->ams_mapping, &pf->nams_mapping,
	    err) == -1 ||
	    get_refs(print, pf, err) == -1 ||
	    get_ints(print, "mapping", pf->mapping, &pf->nmapping, err) == -1)
		return -1;
	pf->nfilaments = pf->nams_mapping;
	if (pf->nams_mapping2 > pf->nfilaments)
		pf->nfilaments = pf->nams_mapping2;
	if (pf->nmapping > pf->nfilaments)
		pf->nfilaments = pf->nmapping;
	for (i = 0; i < pf->nfilaments; i++)
		pf->tray[i] = bambu_project_tray(pf, i);
	return 0;
}

/* Keeps the first tray id found in *best; remembers an invalid value in *bad. */
static void
consider(int tray, int *best, int *bad)
{
	if (tray == BAMBU_TRAY_INVALID)
		*bad = 1;
	else if (tray >= 0 && *best < 0)
		*best = tray;
}

int
bambu_project_tray(const struct bambu_project *pf, int filament)
{
	const struct bambu_amsref	*ref;
	int				 best = BAMBU_TRAY_NONE, bad = 0;

	if (filament < 0 || filament >= BAMBU_FILAMENTS_MAX)
		return BAMBU_TRAY_NONE;
	if (filament < pf->nams_mapping2) {
		ref = &pf->ams_mapping2[filament];
		consider(bambu_tray_of(ref->ams_id, ref->slot_id), &best, &bad);
	}
	if (filament < pf->nmapping)
		consider(bambu_tray_packed(pf->mapping[filament]), &best, &bad);
	if (filament < pf->nams_mapping)
		consider(bambu_tray_flat(pf->ams_mapping[filament]), &best,
		    &bad);
	if (pf->use_ams == 0 && !bambu_tray_external(best))
		return BAMBU_TRAY_EXT_MAIN;
	if (best < 0 && bad)
		return BAMBU_TRAY_INVALID;
	return best;
}
