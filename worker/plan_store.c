/* plan_store.c: stores the engine's plan of a print job in job_filaments, job_plan_layers and job_plan_marks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "plan_store.h"
#include "xmalloc.h"

/* A growing text: the literal of one array parameter ("{1,2,3}"). */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 1024;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xreallocarray(b->p, cap, 1);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

/* Starts or continues an array literal: '{' before the first element, ',' before the others. */
static void
sb_sep(struct sbuf *b)
{
	sb_add(b, b->len == 0 ? "{" : ",");
}

/* Ends an array literal ("{}" when it has no element). */
static const char *
sb_end(struct sbuf *b)
{
	sb_add(b, b->len == 0 ? "{}" : "}");
	return b->p;
}

static void
sb_int(struct sbuf *b, long long v)
{
	char	buf[32];

	sb_sep(b);
	snprintf(buf, sizeof(buf), "%lld", v);
	sb_add(b, buf);
}

/* A double with all its digits (the database reads back the same double), or NULL when nan_is_null and v is NaN. */
static void
sb_double(struct sbuf *b, double v, int nan_is_null)
{
	char	buf[40];

	sb_sep(b);
	if (isnan(v) && nan_is_null) {
		sb_add(b, "NULL");
		return;
	}
	if (isnan(v))
		sb_add(b, "NaN");	/* refused by the CHECK constraints */
	else if (isinf(v))
		sb_add(b, v > 0 ? "Infinity" : "-Infinity");
	else {
		snprintf(buf, sizeof(buf), "%.17g", v);
		sb_add(b, buf);
	}
}

/* v when it is a usable density or diameter (0 < v <= max, the schema's fences), else NaN (stored NULL): a file
 * may say "filament_density: 0" for "unknown". */
static double
known(double v, double max)
{
	return isfinite(v) && v > 0 && v <= max ? v : NAN;
}

/* 1 if s is valid UTF-8 without control characters. */
static int
text_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 n, i;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 1 :
		    (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ?
		    3 : -1;
		if (n == -1)
			return 0;
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n + 1;
	}
	return 1;
}

/* A quoted text element, or NULL for "" and for text that is not clean UTF-8. */
static void
sb_text(struct sbuf *b, const char *s)
{
	const char	*p;

	sb_sep(b);
	if (s[0] == '\0' || !text_ok(s)) {
		sb_add(b, "NULL");
		return;
	}
	sb_add(b, "\"");
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			sb_add(b, "\\");
		sb_addn(b, p, 1);
	}
	sb_add(b, "\"");
}

/* Marks in used[] the filaments the plan's rows refer to, and those that extrude. */
static void
used_filaments(const struct plan *plan, int *used)
{
	size_t	i;
	int	f;

	for (f = 0; f < PLAN_MAX_FILAMENTS; f++)
		used[f] = plan->filaments[f].extrudes != 0;
	for (i = 0; i < plan->ncells; i++)
		if (plan->cells[i].filament >= 0 &&
		    plan->cells[i].filament < PLAN_MAX_FILAMENTS)
			used[plan->cells[i].filament] = 1;
	for (i = 0; i < plan->nmark_amounts; i++)
		if (plan->mark_amounts[i].filament >= 0 &&
		    plan->mark_amounts[i].filament < PLAN_MAX_FILAMENTS)
			used[plan->mark_amounts[i].filament] = 1;
}

static int
store_filaments(struct db *db, const char *job, const struct plan *plan,
    const int *tray, char *err)
{
	struct sbuf			 a[10];
	const struct plan_filament	*pf;
	const char			*p[11];
	int				 used[PLAN_MAX_FILAMENTS], f, i, rc;

	memset(a, 0, sizeof(a));
	used_filaments(plan, used);
	for (f = 0; f < PLAN_MAX_FILAMENTS; f++) {
		if (!used[f])
			continue;
		pf = &plan->filaments[f];
		sb_int(&a[0], f);
		if (tray != NULL && ((tray[f] >= 0 && tray[f] <= 191) ||
		    tray[f] == 254 || tray[f] == 255))
			sb_int(&a[1], tray[f]);
		else {
			sb_sep(&a[1]);
			sb_add(&a[1], "NULL");
		}
		sb_text(&a[2], pf->type);
		sb_text(&a[3], pf->color);
		sb_text(&a[4], pf->tray_info_idx);
		sb_double(&a[5], known(pf->density, 30), 1);
		sb_double(&a[6], known(pf->diameter, 10), 1);
		sb_double(&a[7], pf->mm, 0);
		sb_double(&a[8], pf->slicer_mm, 1);
		sb_double(&a[9], plan_mm_to_grams(pf->mm, known(pf->diameter,
		    10), known(pf->density, 30)), 1);
	}
	p[0] = job;
	for (i = 0; i < 10; i++)
		p[i + 1] = sb_end(&a[i]);
	rc = db_exec_prepared(db, "INSERT INTO job_filaments (job_id, filament_index, "
	    "tray, type, color, tray_info_idx, density, diameter, mm, slicer_mm, "
	    "grams) SELECT $1::bigint, f.* FROM unnest($2::int[], $3::int[], "
	    "$4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], "
	    "$9::float8[], $10::float8[], $11::float8[]) AS f", 11, p, NULL, err);
	for (i = 0; i < 10; i++)
		free(a[i].p);
	return rc;
}

static int
store_layers(struct db *db, const char *job, const struct plan *plan,
    char *err)
{
	struct sbuf	 a[3];
	const char	*p[4];
	size_t		 i;
	int		 rc;

	memset(a, 0, sizeof(a));
	for (i = 0; i < plan->ncells; i++) {
		sb_int(&a[0], plan->cells[i].layer);
		sb_int(&a[1], plan->cells[i].filament);
		sb_double(&a[2], plan->cells[i].mm, 0);
	}
	p[0] = job;
	for (i = 0; i < 3; i++)
		p[i + 1] = sb_end(&a[i]);
	rc = db_exec_prepared(db, "INSERT INTO job_plan_layers (job_id, layer, "
	    "filament_index, mm) SELECT $1::bigint, l.* FROM unnest($2::int[], "
	    "$3::int[], $4::float8[]) AS l", 4, p, NULL, err);
	for (i = 0; i < 3; i++)
		free(a[i].p);
	return rc;
}

static int
store_marks(struct db *db, const char *job, const struct plan *plan,
    char *err)
{
	const struct plan_mark	*m;
	struct sbuf		 a[5];
	const char		*p[6];
	size_t			 i, k;
	int			 rc;

	memset(a, 0, sizeof(a));
	for (i = 0; i < plan->nmarks; i++) {
		m = &plan->marks[i];
		for (k = m->first; k < m->first + m->count &&
		    k < plan->nmark_amounts; k++) {
			sb_int(&a[0], (long long)i);
			sb_int(&a[1], m->percent);
			sb_int(&a[2], m->layer);
			sb_int(&a[3], plan->mark_amounts[k].filament);
			sb_double(&a[4], plan->mark_amounts[k].mm, 0);
		}
	}
	p[0] = job;
	for (i = 0; i < 5; i++)
		p[i + 1] = sb_end(&a[i]);
	rc = db_exec_prepared(db, "INSERT INTO job_plan_marks (job_id, seq, percent, "
	    "layer, filament_index, mm) SELECT $1::bigint, m.* FROM unnest("
	    "$2::int[], $3::int[], $4::int[], $5::int[], $6::float8[]) AS m", 6,
	    p, NULL, err);
	for (i = 0; i < 5; i++)
		free(a[i].p);
	return rc;
}

/* Locks the job row.  Returns 1 if it is already planned, 0 if not, -1 with err set (also: no such job). */
static int
lock_job(struct db *db, const char *job, char *err)
{
	struct db_result	*r;
	const char		*p[1] = { job };
	int			 planned;

	if (db_exec_prepared(db, "SELECT planned_at IS NOT NULL FROM print_jobs WHERE "
	    "id = $1::bigint FOR UPDATE", 1, p, &r, err) == -1)
		return -1;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		return errbuf_set(err, "print job %s does not exist", job);
	}
	planned = db_result_bool(r, 0, 0);
	db_result_free(r);
	return planned == 1;
}

static int
mark_planned(struct db *db, const char *job, const struct plan *plan,
    char *err)
{
	char		 layers[16], plate[16];
	const char	*p[4] = { job, layers, plate,
	    plan->member[0] != '\0' && text_ok(plan->member) ? plan->member :
	    NULL };

	snprintf(layers, sizeof(layers), "%d", plan->layer_count);
	snprintf(plate, sizeof(plate), "%d", plan->plate);
	return db_exec_prepared(db, "UPDATE print_jobs SET planned_at = now(), "
	    "layer_count = $2::int, plate = $3::int, member = $4 WHERE id = "
	    "$1::bigint", 4, p, NULL, err);
}

int
plan_store(struct db *db, long long job_id, const struct plan *plan,
    const int *tray_by_filament, char *err)
{
	char	job[32];
	int	planned;

	if (plan == NULL)
		return errbuf_set(err, "plan_store: no plan");
	snprintf(job, sizeof(job), "%lld", job_id);
	if (db_begin(db, err) == -1)
		return -1;
	if ((planned = lock_job(db, job, err)) == -1)
		goto fail;
	if (planned == 1) {
		db_rollback(db);
		return 0;
	}
	if (store_filaments(db, job, plan, tray_by_filament, err) == -1 ||
	    store_layers(db, job, plan, err) == -1 ||
	    store_marks(db, job, plan, err) == -1 ||
	    mark_planned(db, job, plan, err) == -1 ||
	    db_commit(db, err) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}
