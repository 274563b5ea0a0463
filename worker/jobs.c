/* jobs.c: print jobs in the database: start, progress, and charging finished layers in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errbuf.h"
#include "jobs.h"

#define JOB_COLUMNS "id, job_key, state, planned_at IS NOT NULL, " \
	"coalesce(layer_count, -1), checkpoint_layer, reported_layer"

/* Grams of a row as Spoolman computes them; NULL when the file gave no density or diameter. */
#define GRAMS(mm) "CASE WHEN f.density IS NULL OR f.diameter IS NULL THEN NULL " \
	"ELSE f.density * " mm " * pi() * (f.diameter / 2) ^ 2 / 1000 END"

/* The spool in the tray now (NULL: none), joined on the filament's tray. */
#define SPOOL_JOIN "LEFT JOIN tray_assignments ta ON ta.printer_id = $2 " \
	"AND ta.tray = f.tray AND ta.valid_to IS NULL "

static const char charge_layers_sql[] =
    "WITH ins AS (INSERT INTO usage_ledger (job_id, layer, filament_index, "
    "kind, tray, spool_id, mm, grams) "
    "SELECT l.job_id, l.layer, l.filament_index, 'layer', f.tray, ta.spool_id, "
    "l.mm, " GRAMS("l.mm") " FROM job_plan_layers l "
    "JOIN job_filaments f ON f.job_id = l.job_id "
    "AND f.filament_index = l.filament_index " SPOOL_JOIN
    "WHERE l.job_id = $1 AND l.layer > $3::int AND l.layer <= $4::int "
    "ON CONFLICT ON CONSTRAINT usage_ledger_once DO NOTHING "
    "RETURNING id, spool_id) "
    "INSERT INTO spoolman_outbox (ledger_id) "
    "SELECT id FROM ins WHERE spool_id IS NOT NULL";

static const char charge_partial_sql[] =
    "WITH ins AS (INSERT INTO usage_ledger (job_id, layer, filament_index, "
    "kind, percent, tray, spool_id, mm, grams) "
    "SELECT m.job_id, m.layer, m.filament_index, 'partial', $4::int, f.tray, "
    "ta.spool_id, m.mm, " GRAMS("m.mm") " FROM job_plan_marks m "
    "JOIN job_filaments f ON f.job_id = m.job_id "
    "AND f.filament_index = m.filament_index " SPOOL_JOIN
    "WHERE m.job_id = $1 AND m.layer = $3::int AND m.seq = (SELECT max(seq) "
    "FROM job_plan_marks WHERE job_id = $1 AND layer = $3::int "
    "AND percent <= $4::int) "
    "ON CONFLICT ON CONSTRAINT usage_ledger_once DO NOTHING "
    "RETURNING id, spool_id) "
    "INSERT INTO spoolman_outbox (ledger_id) "
    "SELECT id FROM ins WHERE spool_id IS NOT NULL";

static int
is_ended(const char *state)
{
	return strcmp(state, "finished") == 0 || strcmp(state, "failed") == 0 ||
	    strcmp(state, "cancelled") == 0 || strcmp(state, "abandoned") == 0;
}

/* Fills *j from row 0 of a JOB_COLUMNS result. */
static int
job_row(const struct db_result *r, struct job *j, char *err)
{
	long long v[4];
	int i;

	if (db_result_int64(r, 0, 0, &j->id) == -1)
		return errbuf_set(err, "print_jobs: bad id");
	snprintf(j->key, sizeof(j->key), "%s", db_result_get(r, 0, 1));
	snprintf(j->state, sizeof(j->state), "%s", db_result_get(r, 0, 2));
	j->planned = db_result_bool(r, 0, 3) == 1;
	for (i = 0; i < 3; i++)
		if (db_result_int64(r, 0, 4 + i, &v[i]) == -1)
			return errbuf_set(err, "print_jobs: bad number");
	j->layer_count = (int)v[0];
	j->checkpoint_layer = (int)v[1];
	j->reported_layer = (int)v[2];
	return 0;
}

int
jobs_load_active(struct db *db, long long printer_id, struct job *j, char *err)
{
	struct db_result	*r;
	char			 pid[32];
	const char		*p[1] = { pid };
	int			 rc;

	snprintf(pid, sizeof(pid), "%lld", printer_id);
	if (db_exec_prepared(db, "SELECT " JOB_COLUMNS " FROM print_jobs "
	    "WHERE printer_id = $1 AND state IN ('preparing', 'running', "
	    "'paused')", 1, p, &r, err) == -1)
		return -1;
	rc = db_result_rows(r) == 0 ? 0 : job_row(r, j, err) == 0 ? 1 : -1;
	db_result_free(r);
	return rc;
}

static int
lease_assert(struct db *db, const struct jobs_lease *l, char *err)
{
	char		 pid[32], tok[32];
	const char	*p[2] = { pid, tok };

	snprintf(pid, sizeof(pid), "%lld", l->printer_id);
	snprintf(tok, sizeof(tok), "%lld", l->token);
	return db_exec_prepared(db, "SELECT lease_assert($1, $2)", 2, p, NULL, err);
}

/* The job's filament -> tray mapping as print_jobs.ams_mapping stores it (new text), or NULL. */
static char *
mapping_json(const struct job_start *js)
{
	json_t	*a;
	char	*s;
	int	 i;

	if (js->trays == NULL || js->ntrays == 0)
		return NULL;
	a = json_array();
	for (i = 0; i < js->ntrays; i++)
		json_array_append_new(a, json_integer(js->trays[i] >= 0 ?
		    js->trays[i] : -1));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static const char *
flag(int v)
{
	return v < 0 ? NULL : v ? "true" : "false";
}

static int
insert_job(struct db *db, const struct jobs_lease *l,
    const struct job_start *js, char *err)
{
	const struct bambu_project	*pf = js->project;
	char				 pid[32], plate[16], *map = mapping_json(js);
	const char			*p[12];
	int				 rc;

	snprintf(pid, sizeof(pid), "%lld", l->printer_id);
	snprintf(plate, sizeof(plate), "%d", pf != NULL ? pf->plate_idx : -1);
	p[0] = pid;
	p[1] = js->key;
	p[2] = js->task_id;
	p[3] = js->subtask_id;
	p[4] = js->subtask_name;
	p[5] = js->gcode_file;
	p[6] = pf != NULL && pf->url[0] != '\0' ? pf->url : NULL;
	p[7] = pf != NULL && pf->plate_idx > 0 ? plate : NULL;
	p[8] = pf != NULL && strncmp(pf->param, "Metadata/", 9) == 0 ?
	    pf->param : NULL;
	p[9] = map;
	p[10] = pf != NULL ? flag(pf->use_ams) : NULL;
	p[11] = pf != NULL ? flag(pf->flow_cali >= 0 ? pf->flow_cali :
	    pf->extrude_cali_flag >= 0 ? pf->extrude_cali_flag != 0 : -1) : NULL;
	rc = db_exec_prepared(db, "INSERT INTO print_jobs (printer_id, job_key, task_id, "
	    "subtask_id, subtask_name, gcode_file, file_url, plate, member, "
	    "ams_mapping, use_ams, flow_cali) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7, $8::int, $9, $10::jsonb, $11::boolean, $12::boolean) "
	    "ON CONFLICT (printer_id, job_key) DO NOTHING", 12, p, NULL, err);
	free(map);
	return rc;
}

int
jobs_start(struct db *db, const struct jobs_lease *l,
    const struct job_start *js, struct job *j, char *err)
{
	struct db_result	*r = NULL;
	char			 pid[32];
	const char		*p[2] = { pid, js->key };
	int			 rc = -1;

	snprintf(pid, sizeof(pid), "%lld", l->printer_id);
	if (db_begin(db, err) == -1)
		return -1;
	if (lease_assert(db, l, err) == -1 || insert_job(db, l, js, err) == -1 ||
	    db_exec_prepared(db, "SELECT " JOB_COLUMNS " FROM print_jobs WHERE "
	    "printer_id = $1 AND job_key = $2", 2, p, &r, err) == -1)
		goto out;
	if (db_result_rows(r) != 1) {
		errbuf_set(err, "job %s vanished", js->key);
		goto out;
	}
	if (job_row(r, j, err) == -1 || db_commit(db, err) == -1)
		goto out;
	rc = is_ended(j->state) ? 0 : 1;
out:
	db_result_free(r);
	if (rc == -1)
		db_rollback(db);
	return rc;
}

/* The progress columns of a locked job row. */
struct progress {
	char	 state[16];
	int	 percent;		/* checkpoint_percent, -1 NULL */
	int	 partial_charged;
	int	 mapped;		/* ams_mapping is set */
};

static int
lock_job(struct db *db, struct job *j, struct progress *pr, char *err)
{
	struct db_result	*r;
	char			 id[32];
	const char		*p[1] = { id };
	long long		 pct;

	snprintf(id, sizeof(id), "%lld", j->id);
	if (db_exec_prepared(db, "SELECT " JOB_COLUMNS ", coalesce(checkpoint_percent, "
	    "-1), partial_charged, ams_mapping IS NOT NULL FROM print_jobs "
	    "WHERE id = $1 FOR UPDATE", 1, p, &r, err) == -1)
		return -1;
	if (db_result_rows(r) != 1 || job_row(r, j, err) == -1 ||
	    db_result_int64(r, 0, 7, &pct) == -1) {
		db_result_free(r);
		return errbuf_set(err, "print job %lld not found", j->id);
	}
	snprintf(pr->state, sizeof(pr->state), "%s", j->state);
	pr->percent = (int)pct;
	pr->partial_charged = db_result_bool(r, 0, 8) == 1;
	pr->mapped = db_result_bool(r, 0, 9) == 1;
	db_result_free(r);
	return 0;
}

/* Applies the new report to the locked row's values (never backwards). */
static void
merge_progress(struct job *j, struct progress *pr, int layer, int percent,
    const char *end_state)
{
	if (is_ended(pr->state))
		return;
	if (layer > j->reported_layer)
		j->reported_layer = layer;
	if (percent > pr->percent)
		pr->percent = percent;
	if (end_state != NULL)
		snprintf(pr->state, sizeof(pr->state), "%s", end_state);
	else if (layer >= 0 && strcmp(pr->state, "preparing") == 0)
		snprintf(pr->state, sizeof(pr->state), "running");
	if (j->planned && j->reported_layer > j->layer_count)
		j->reported_layer = j->layer_count;
}

static int
save_progress(struct db *db, const struct job *j, const struct progress *pr,
    char *err)
{
	char		 id[32], rl[16], pct[16], cl[16], pc[8];
	const char	*p[6] = { id, pr->state, rl, pr->percent >= 0 ? pct : NULL,
			    cl, pc };

	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(rl, sizeof(rl), "%d", j->reported_layer);
	snprintf(pct, sizeof(pct), "%d", pr->percent);
	snprintf(cl, sizeof(cl), "%d", j->checkpoint_layer);
	snprintf(pc, sizeof(pc), "%s", pr->partial_charged ? "true" : "false");
	return db_exec_prepared(db, "UPDATE print_jobs SET state = $2, ended_at = "
	    "CASE WHEN $2 IN ('finished', 'failed', 'cancelled', 'abandoned') "
	    "THEN coalesce(ended_at, now()) END, reported_layer = $3::int, "
	    "checkpoint_percent = $4::int, checkpoint_layer = $5::int, "
	    "partial_charged = $6::boolean WHERE id = $1", 6, p, NULL, err);
}

/* Runs one charge statement for layers (from, to] or the partial of layer `from` at percent `to`. */
static int
charge(struct db *db, const char *sql, const struct jobs_lease *l,
    const struct job *j, int from, int to, char *err)
{
	char		 id[32], pid[32], a[16], b[16];
	const char	*p[4] = { id, pid, a, b };

	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(pid, sizeof(pid), "%lld", l->printer_id);
	snprintf(a, sizeof(a), "%d", from);
	snprintf(b, sizeof(b), "%d", to);
	return db_exec_prepared(db, sql, 4, p, NULL, err);
}

/* Gives filaments of a job without mapping the tray the printer has loaded. */
static int
fill_trays(struct db *db, const struct job *j, int tray_now, char *err)
{
	char		 id[32], t[16];
	const char	*p[2] = { id, t };

	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(t, sizeof(t), "%d", tray_now);
	return db_exec_prepared(db, "UPDATE job_filaments SET tray = $2::int "
	    "WHERE job_id = $1 AND tray IS NULL", 2, p, NULL, err);
}

static int
charge_due(struct db *db, const struct jobs_lease *l, struct job *j,
    struct progress *pr, int tray_now, char *err)
{
	int target, failed;

	if (!j->planned)
		return 0;
	if (!pr->mapped && tray_now >= 0 && fill_trays(db, j, tray_now, err))
		return -1;
	target = strcmp(pr->state, "finished") == 0 ? j->layer_count :
	    j->reported_layer - 1;
	if (target > j->layer_count)
		target = j->layer_count;
	if (target > j->checkpoint_layer) {
		if (charge(db, charge_layers_sql, l, j, j->checkpoint_layer,
		    target, err) == -1)
			return -1;
		j->checkpoint_layer = target;
	}
	failed = strcmp(pr->state, "failed") == 0 ||
	    strcmp(pr->state, "cancelled") == 0;
	if (failed && !pr->partial_charged && pr->percent >= 0 &&
	    j->reported_layer > j->checkpoint_layer) {
		if (charge(db, charge_partial_sql, l, j, j->reported_layer,
		    pr->percent, err) == -1)
			return -1;
		pr->partial_charged = 1;
	}
	return 0;
}

int
jobs_advance(struct db *db, const struct jobs_lease *l, struct job *j,
    int layer, int percent, const char *end_state, int tray_now, char *err)
{
	struct progress pr;

	if (db_begin(db, err) == -1)
		return -1;
	if (lease_assert(db, l, err) == -1 || lock_job(db, j, &pr, err) == -1)
		goto fail;
	merge_progress(j, &pr, layer, percent, end_state);
	if (charge_due(db, l, j, &pr, tray_now, err) == -1 ||
	    save_progress(db, j, &pr, err) == -1 || db_commit(db, err) == -1)
		goto fail;
	snprintf(j->state, sizeof(j->state), "%s", pr.state);
	return 0;
fail:
	db_rollback(db);
	return -1;
}
