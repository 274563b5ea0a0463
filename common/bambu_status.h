/* bambu_status.h: the printer status the worker and the web app use, read out of a merged report state. */
#ifndef COMMON_BAMBU_STATUS_H
#define COMMON_BAMBU_STATUS_H

#include "bambu_project.h"
#include "bambu_state.h"

#define BAMBU_TRAYS_MAX		48	/* 4 AMS x 4 + A2L 4 + 8 HT + 2 external, with room */
#define BAMBU_UNITS_MAX		16
#define BAMBU_EXTRUDERS_MAX	2
#define BAMBU_STATE_LEN		16	/* gcode_state, print_type */

/* One tray: an AMS slot or an external spool holder. */
struct bambu_tray {
	int	 tray;		/* printer tray id (bambu_tray.h); BAMBU_TRAY_INVALID in an unknown unit */
	int	 unit;		/* unit id as reported (0..3, 16, 128..135), 254/255 for external */
	int	 slot;		/* tray id within the unit */
	int	 loaded;	/* 1: tray_type set and tray_exist_bits does not say empty */
	int	 remain;	/* percent 0..100, -1 unknown */
	int	 weight;	/* tray_weight: net grams of a full spool from its tag (1..100000), -1 unknown or "0" */
	char	 type[16];	/* tray_type "PLA", "" */
	char	 color[9];	/* tray_color "RRGGBBAA" (8 hex digits), "" */
	char	 info_idx[16];	/* tray_info_idx "GFA01" */
	char	 sub_brands[64];/* tray_sub_brands "PLA Basic" */
	char	 tag_uid[17];	/* RFID UID, 16 hex digits (zeros: no tag) */
	char	 uuid[33];	/* tray_uuid, 32 hex digits (zeros: not a Bambu spool) */
};

/* One AMS unit. */
struct bambu_unit {
	int	 id;		/* as reported */
	int	 type;		/* info bits 0-3 (1 AMS, 2 AMS Lite, 3 AMS 2 Pro, 4 AMS HT, 5 A2L Lite), -1 */
	int	 extruder;	/* info bits 8-11: 0 right/main, 1 left/deputy; -1 unknown or unset */
};

/* One extruder of print.device.extruder.info (new-protocol printers). */
struct bambu_extruder {
	int	 id;		/* 0 right/main, 1 left/deputy */
	long	 snow;		/* raw (unit << 8) | slot, -1 absent */
	int	 tray;		/* snow as a tray id, BAMBU_TRAY_NONE, BAMBU_TRAY_INVALID */
	double	 temp;		/* temp & 0xFFFF, NAN absent */
	double	 target;	/* temp >> 16, NAN absent */
};

/*
 * Everything the worker and the web app read.  Ints are -1 and doubles NAN
 * when the state lacks the field or it is out of range; texts are "".
 */
struct bambu_status {
	int		 complete;	/* bambu_state_complete() */
	char		 gcode_state[BAMBU_STATE_LEN];	/* IDLE, PREPARE, RUNNING, PAUSE, FINISH, FAILED, ... */
	char		 print_type[BAMBU_STATE_LEN];	/* cloud, local, idle, system, "" */
	int		 layer_num;
	int		 total_layer_num;
	int		 mc_percent;
	int		 mc_remaining_time;		/* minutes */
	double		 nozzle_temper;
	double		 nozzle_target_temper;
	double		 bed_temper;
	double		 bed_target_temper;
	long long	 print_error;			/* 0 none; 50348044 = cancelled */
	char		 task_id[BAMBU_ID_LEN];
	char		 subtask_id[BAMBU_ID_LEN];
	char		 subtask_name[BAMBU_NAME_LEN];
	char		 gcode_file[BAMBU_PATH_LEN];
	int		 tray_now;	/* raw ams.tray_now: 255 none, 254 external, else as sent */
	int		 tray_tar;	/* raw ams.tray_tar */
	int		 tray_pre;	/* raw ams.tray_pre */
	int		 tray_active;	/* tray id loaded in the active extruder, BAMBU_TRAY_NONE */
	int		 nextruders;	/* extruder.state & 0xF, else the info entries */
	int		 active_extruder;	/* (extruder.state >> 4) & 0xF, 0 */
	int		 ninfo;		/* entries in extruders[] */
	struct bambu_extruder extruders[BAMBU_EXTRUDERS_MAX];
	int		 nunits;
	struct bambu_unit units[BAMBU_UNITS_MAX];
	int		 ntrays;
	int		 trays_dropped;	/* trays beyond BAMBU_TRAYS_MAX */
	struct bambu_tray trays[BAMBU_TRAYS_MAX];
	int		 nmapping;	/* print.mapping (new protocol), decoded */
	int		 mapping[BAMBU_FILAMENTS_MAX];
};

/* Fills *out from the state (never fails: what is missing or out of range stays unknown). */
void	 bambu_status_get(const struct bambu_state *st,
	    struct bambu_status *out);

/*
 * Returns tray with the external ids made this printer's: 254 or 255 become
 * the id of the only external holder when the status lists exactly one
 * (A1/P1 call it 254, X1C 01.11 and P2S 255); anything else is returned as
 * it is.
 */
int	 bambu_status_canon(const struct bambu_status *s, int tray);

/* Returns the status tray whose tray id is `tray`, or NULL (borrowed from s). */
const struct bambu_tray *bambu_status_tray(const struct bambu_status *s,
	    int tray);

#endif
