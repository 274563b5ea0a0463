/* sim.h: the printer simulator's print script (from a sliced file) and report builders. */
#ifndef TESTS_PRINTER_SIM_H
#define TESTS_PRINTER_SIM_H

#include <stddef.h>

#include <jansson.h>

#include "plan.h"

#define SIM_NAME_LEN	256
#define SIM_MAX_AMS	4		/* AMS units (4 trays each), global tray ids 0..15 */
#define SIM_TRAY_EXT	254		/* the external spool (vt_tray) */
#define SIM_TRAY_NONE	255		/* nothing loaded */
#define SIM_UNMAPPED	-1		/* ams_mapping value of an unmapped filament */

/* One step of a print, in file order. */
enum sim_ev {
	SIM_EV_LAYER,		/* M73 L<value>: layer_num becomes value */
	SIM_EV_PERCENT,		/* M73 P<value> (the engine's progress mark): mc_percent */
	SIM_EV_TOOL		/* M620 S<value>A: the printer loads slicer filament value */
};

struct sim_event {
	enum sim_ev	 kind;
	int		 value;
	int		 layer;		/* the layer the event belongs to */
	double		 at;		/* time from RUNNING, in layers (layer k starts at k) */
};

/* What the print job decided (echoed in project_file, and given to the engine). */
struct sim_jobopts {
	int	 plate;			/* 1-based, 0 = the file's first plate */
	int	 use_ams;
	int	 flow_cali;
	int	 timelapse;
	int	 bed_leveling;
};

/* A sliced file turned into the steps a printer reports. */
struct sim_job {
	char			 path[4096];
	char			 name[SIM_NAME_LEN];	/* the file's name on the printer */
	char			 member[128];		/* Metadata/plate_N.gcode, "" for plain gcode */
	char			 md5[33];		/* of the gcode (plate_N.gcode.md5), "" if absent */
	int			 plate;
	int			 layer_count;
	int			 nproject;		/* project filaments (ams_mapping length) */
	int			 used[PLAN_MAX_FILAMENTS];	/* 1: the print extrudes it */
	int			 first_tool;		/* first slicer filament loaded, -1 */
	struct plan		*plan;
	struct sim_event	*ev;
	size_t			 nev;
};

/*
 * Analyses path (a .gcode.3mf or .gcode) with the engine under the job
 * options and builds the event script.  `name` is the file's name on the
 * printer (NULL: the base name of path).  Returns 0, or -1 with err set.
 */
int	 sim_job_load(struct sim_job *job, const char *path, const char *name,
	    const struct sim_jobopts *opts, char *err);
void	 sim_job_free(struct sim_job *job);

/* The "print" object of a full report, from the built-in A1 template or a capture file. */
json_t	*sim_template_load(const char *path, char *err);

/* Hex helpers for RFID-like identifiers, stable for a (serial, tray) pair. */
void	 sim_hex_id(char *out, size_t ndigits, const char *serial, int tray,
	    unsigned salt);

#endif
