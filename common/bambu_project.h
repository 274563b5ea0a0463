/* bambu_project.h: the project_file command echo and its slicer filament to printer tray mapping. */
#ifndef COMMON_BAMBU_PROJECT_H
#define COMMON_BAMBU_PROJECT_H

#include <jansson.h>

#define BAMBU_FILAMENTS_MAX	64	/* slicer filaments 0..63, as PLAN_MAX_FILAMENTS */
#define BAMBU_URL_LEN		4096
#define BAMBU_PATH_LEN		512
#define BAMBU_NAME_LEN		256
#define BAMBU_ID_LEN		32

/* One ams_mapping2 element. */
struct bambu_amsref {
	long long	 ams_id;
	long long	 slot_id;
};

/*
 * The fields of a print.command "project_file" message.  Texts are "" and
 * ints -1 when the echo does not carry them; flags are 1, 0 or -1.
 */
struct bambu_project {
	char		 url[BAMBU_URL_LEN];	/* ftp://, file:///sdcard/..., https://... */
	int		 url_cut;		/* 1: url was longer than BAMBU_URL_LEN - 1 */
	char		 param[BAMBU_PATH_LEN];	/* "Metadata/plate_2.gcode" */
	char		 subtask_name[BAMBU_NAME_LEN];
	char		 task_id[BAMBU_ID_LEN];
	char		 subtask_id[BAMBU_ID_LEN];
	char		 project_id[BAMBU_ID_LEN];
	char		 md5[BAMBU_ID_LEN + 8];
	char		 result[BAMBU_ID_LEN];	/* "success", "SUCCESS", "failed" */
	int		 plate_idx;		/* plate_idx, plate, or N of param */
	int		 use_ams;
	int		 timelapse;
	int		 bed_leveling;
	int		 flow_cali;
	int		 extrude_cali_flag;	/* 0, 1, 2 */
	int		 auto_bed_leveling;	/* 0, 1, 2 */
	int		 nams_mapping;
	long long	 ams_mapping[BAMBU_FILAMENTS_MAX];	/* raw values */
	int		 nams_mapping2;
	struct bambu_amsref ams_mapping2[BAMBU_FILAMENTS_MAX];
	int		 nmapping;
	long long	 mapping[BAMBU_FILAMENTS_MAX];	/* raw (unit << 8) | slot */
	int		 nfilaments;		/* longest of the three arrays */
	int		 tray[BAMBU_FILAMENTS_MAX];	/* bambu_project_tray() of each */
};

/*
 * Fills *pf from `print`, the (borrowed) print object of a project_file
 * message.  Returns 0, or -1 with err set when a field has the wrong type
 * (ams_mapping not an array of integers, an ams_mapping2 element without
 * integer ams_id/slot_id, use_ams neither boolean nor integer, ...) or an
 * array has more than BAMBU_FILAMENTS_MAX elements; *pf is then undefined.
 */
int	 bambu_project_parse(const json_t *print, struct bambu_project *pf,
	    char *err) __attribute__((warn_unused_result));

/*
 * Returns the printer tray id (bambu_tray.h) that slicer filament `filament`
 * (0-based, the T<n> of the G-code) prints from: ams_mapping2 first, then
 * mapping, then ams_mapping (the first that names a tray); with use_ams
 * false, an external spool (255 unless ams_mapping2 names 254).  Returns
 * BAMBU_TRAY_NONE when nothing maps it, BAMBU_TRAY_INVALID when the only
 * values for it decode to nothing known.
 */
int	 bambu_project_tray(const struct bambu_project *pf, int filament);

#endif
