/* plan_store.h: stores the engine's plan of a print job (filaments, per-layer amounts, progress marks) in one transaction. */
#ifndef WORKER_PLAN_STORE_H
#define WORKER_PLAN_STORE_H

#include "db.h"
#include "plan.h"

/*
 * Stores plan as the plan of print job job_id, in one transaction:
 *   - job_filaments: one row per slicer filament that extrudes or appears in
 *     a layer or a progress mark (index, tray_by_filament[index] when it is a
 *     valid tray id, type, color, tray_info_idx, density, diameter, mm,
 *     slicer_mm, grams = plan_mm_to_grams(mm, diameter, density); unknown
 *     figures, a density or diameter of 0 ("unknown" in some files) or beyond
 *     the schema's fences, empty texts and texts that are not clean UTF-8
 *     are NULL);
 *   - job_plan_layers: every cell of the plan (layer, filament, mm);
 *   - job_plan_marks: every amount of every progress mark (seq = the mark's
 *     position in the file, percent, layer, filament, mm);
 *   - print_jobs: planned_at = now(), layer_count, plate, member (NULL for
 *     plain gcode).
 * Rows go in with one INSERT ... SELECT FROM unnest($n::type[], ...) per
 * table (array parameters: a few statements whatever the number of layers).
 * tray_by_filament (borrowed, may be NULL: every tray unknown) has
 * PLAN_MAX_FILAMENTS entries, -1 for unknown.  The job row is locked first
 * (FOR UPDATE): a job that is already planned is left alone and 0 returned
 * (idempotent, also against a concurrent planner).  Must not be called
 * inside a transaction.  Returns 0, or -1 with err set (nothing stored;
 * db_sqlstate() tells why, e.g. 23514 for a figure the schema refuses).
 */
int	 plan_store(struct db *, long long job_id, const struct plan *,
	    const int *tray_by_filament, char *err)
	    __attribute__((warn_unused_result));

#endif
