// format.js: how numbers, weights, times and printer states are shown.

const WHOLE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/**
 * grams(g): every weight on every page, always in grams, rounded half away from zero the same way everywhere:
 * "912 g", "1,250 g" (never "1.25 kg": a kilogram figure beside gram figures reads as a different amount),
 * "0.38 g" under 10 g (a layer's use); "–" for null or a non-number.
 */
export function grams(g) {
	if (typeof g !== 'number' || !Number.isFinite(g))
		return '–';
	if (Math.abs(g) >= 9.995)
		return WHOLE.format(Math.sign(g) * Math.round(Math.abs(g)) || 0) + ' g';
	const r = Math.sign(g) * Math.round(Math.abs(g) * 100) / 100;
	return (r || 0).toFixed(2) + ' g';
}

/** mm(v): "4.19 m", "222 mm"; "–" for null. */
export function mm(v) {
	if (v === null || v === undefined)
		return '–';
	if (Math.abs(v) >= 1000)
		return (v / 1000).toFixed(2) + ' m';
	return Math.round(v) + ' mm';
}

/** minutes(m): "1 h 34 min", "12 min"; "–" for null. */
export function minutes(m) {
	if (m === null || m === undefined || m < 0)
		return '–';
	const h = Math.floor(m / 60);
	return h ? `${h} h ${m % 60} min` : `${m} min`;
}

/** dateTime(iso): the time in the browser's locale and zone; "–" for null. */
export function dateTime(iso) {
	if (!iso)
		return '–';
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** duration(fromIso, toIso): "2 h 5 min" between two times; "–" when one is missing. */
export function duration(fromIso, toIso) {
	if (!fromIso || !toIso)
		return '–';
	const ms = new Date(toIso) - new Date(fromIso);
	return Number.isFinite(ms) && ms >= 0 ? minutes(Math.round(ms / 60000)) : '–';
}

/** ago(iso): "5 s ago", "3 min ago", "2 h ago". */
export function ago(iso) {
	if (!iso)
		return 'never';
	const s = Math.max(0, Math.round((Date.now() - new Date(iso)) / 1000));
	if (s < 90)
		return `${s} s ago`;
	if (s < 5400)
		return `${Math.round(s / 60)} min ago`;
	if (s < 172800)
		return `${Math.round(s / 3600)} h ago`;
	return `${Math.round(s / 86400)} days ago`;
}

/** isoDay(date): "YYYY-MM-DD" of a Date in the browser's zone. */
export function isoDay(d) {
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** cssColor(c): "#RRGGBB" from the printer's "RRGGBBAA" or Spoolman's "RRGGBB" (with or without #); null if not a colour. */
export function cssColor(c) {
	if (typeof c !== 'string')
		return null;
	const m = /^#?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$/.exec(c.trim());
	return m ? '#' + m[1] : null;
}

const STATES = {
	IDLE: 'Idle', PREPARE: 'Preparing', RUNNING: 'Printing', PAUSE: 'Paused', FINISH: 'Finished',
	FAILED: 'Failed', SLICING: 'Slicing', INIT: 'Starting', OFFLINE: 'Offline', UNKNOWN: 'Unknown',
};

/** printerState(s): a word for the printer's gcode_state ("RUNNING" -> "Printing"); "Unknown" for null. */
export function printerState(s) {
	if (!s)
		return 'Unknown';
	return STATES[s] || s.charAt(0) + s.slice(1).toLowerCase();
}

let zone = null;

/** timeZone(): the browser's IANA time zone, for the API's tz parameter ("UTC" when unknown or refused). */
export function timeZone() {
	if (zone)
		return zone;
	try {
		zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
	} catch (e) {
		zone = 'UTC';
	}
	return zone;
}

/** zoneRefused(): the server does not know the browser's zone: days are UTC from now on. */
export function zoneRefused() {
	zone = 'UTC';
}
