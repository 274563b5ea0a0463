/* bambu_tray.c: the printer's tray numbering and the three encodings Bambu reports use for a tray. */
#include "bambu_tray.h"

/* Slots per AMS-type unit. */
#define SLOTS	4

int
bambu_tray_of(long long unit, long long slot)
{
	if (unit == BAMBU_TRAY_EXT_MAIN || unit == BAMBU_TRAY_EXT_DEPUTY) {
		if (slot == 0)
			return (int)unit;
		return slot == 255 ? BAMBU_TRAY_NONE : BAMBU_TRAY_INVALID;
	}
	if (slot < 0 || slot >= SLOTS)
		return BAMBU_TRAY_INVALID;
	if (unit >= 0 && unit <= BAMBU_UNIT_AMS_LAST)
		return (int)(unit * SLOTS + slot);
	if (unit == BAMBU_UNIT_A2L)
		return BAMBU_TRAY_A2L_FIRST + (int)slot;
	if (unit >= BAMBU_UNIT_HT_FIRST && unit <= BAMBU_UNIT_HT_LAST &&
	    slot == 0)
		return (int)unit;
	return BAMBU_TRAY_INVALID;
}

int
bambu_tray_packed(long long v)
{
	if (v == BAMBU_PACKED_NONE)
		return BAMBU_TRAY_NONE;
	if (v < 0 || v > BAMBU_PACKED_NONE)
		return BAMBU_TRAY_INVALID;
	return bambu_tray_of(v >> 8, v & 0xFF);
}

int
bambu_tray_flat(long long v)
{
	if (v == -1 || v == BAMBU_PACKED_NONE)
		return BAMBU_TRAY_NONE;
	if (v >= 0 && v < (BAMBU_UNIT_AMS_LAST + 1) * SLOTS)
		return (int)v;
	if (v >= BAMBU_TRAY_A2L_FIRST && v < BAMBU_TRAY_A2L_FIRST + SLOTS)
		return (int)v;
	if ((v >= BAMBU_UNIT_HT_FIRST && v <= BAMBU_UNIT_HT_LAST) ||
	    v == BAMBU_TRAY_EXT_DEPUTY || v == BAMBU_TRAY_EXT_MAIN)
		return (int)v;
	/* X1C 01.11: AMS HT 128 as ams_id * 4 + slot = 512. */
	if (v >= BAMBU_UNIT_HT_FIRST * SLOTS &&
	    v <= BAMBU_UNIT_HT_LAST * SLOTS && v % SLOTS == 0)
		return (int)(v / SLOTS);
	return BAMBU_TRAY_INVALID;
}

int
bambu_tray_external(int tray)
{
	return tray == BAMBU_TRAY_EXT_MAIN || tray == BAMBU_TRAY_EXT_DEPUTY;
}
