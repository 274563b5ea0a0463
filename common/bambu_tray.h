/* bambu_tray.h: the printer's tray numbering and the three encodings Bambu reports use for a tray. */
#ifndef COMMON_BAMBU_TRAY_H
#define COMMON_BAMBU_TRAY_H

/*
 * A printer tray id (docs/bambu-mqtt.md, "Tray numbering") is one int:
 *   0..15     AMS, AMS Lite, AMS 2 Pro unit u (0..3), slot s (0..3): u * 4 + s
 *   24..27    the A2L's AMS Lite (unit id 16), slot s: 24 + s
 *   128..135  AMS HT unit u (one slot): u
 *   254       external spool of the left/deputy extruder (or, on printers of
 *             the old protocol, the only external spool)
 *   255       external spool of the right/main extruder (or the only one)
 * and two sentinels.
 */
#define BAMBU_TRAY_NONE		(-1)	/* nothing loaded, filament unmapped */
#define BAMBU_TRAY_INVALID	(-2)	/* a value no known encoding explains */

#define BAMBU_UNIT_AMS_LAST	3	/* AMS-type units are 0..3 */
#define BAMBU_UNIT_A2L		16	/* the A2L reports its AMS Lite as 16 */
#define BAMBU_TRAY_A2L_FIRST	24	/* BambuStudio AMS_LITE_MIXED_TRAY_INDEX_OFFSET */
#define BAMBU_UNIT_HT_FIRST	128
#define BAMBU_UNIT_HT_LAST	135
#define BAMBU_TRAY_EXT_DEPUTY	254	/* VIRTUAL_TRAY_DEPUTY_ID */
#define BAMBU_TRAY_EXT_MAIN	255	/* VIRTUAL_TRAY_MAIN_ID */
#define BAMBU_PACKED_NONE	65535	/* (unit << 8) | slot meaning "nothing" */

/*
 * Returns the tray id of slot `slot` of unit `unit` (an ams_mapping2 pair, or
 * an AMS unit id and tray id of a report): BAMBU_TRAY_NONE for the "nothing"
 * pairs (255, 255) and (254, 255), BAMBU_TRAY_INVALID for anything else that
 * names no tray.
 */
int	 bambu_tray_of(long long unit, long long slot);

/*
 * Returns the tray id of a packed value (unit << 8) | slot, as print.mapping[]
 * and device.extruder.info[].snow carry it: 65535 is BAMBU_TRAY_NONE, and the
 * rest decodes as bambu_tray_of().
 */
int	 bambu_tray_packed(long long v);

/*
 * Returns the tray id of one element of a project_file ams_mapping array:
 * -1 and 65535 are BAMBU_TRAY_NONE (-1 is also what BambuStudio writes for
 * an external spool: see ams_mapping2), tray ids stand for themselves, and
 * 512..540 is AMS HT unit v / 4 as X1C firmware 01.11 writes it.
 */
int	 bambu_tray_flat(long long v);

/* Returns 1 if tray is 254 or 255, an external spool. */
int	 bambu_tray_external(int tray);

#endif
