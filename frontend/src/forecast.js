// forecast.js: the runout forecast of a print (GET /status "forecast", docs/smart-trays.md) as sentences.
import { grams } from './format.js';
import { trayLabel } from './trays.js';

const pad = (n) => String(n).padStart(2, '0');

/** clock(iso, now): "HH:MM" in the browser's zone; "HH:MM tomorrow", or "D Mon HH:MM" further away; null for null or a bad time. */
export function clock(iso, now = new Date()) {
	const d = iso ? new Date(iso) : null;
	if (!d || Number.isNaN(d.getTime()))
		return null;
	const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
	const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
	const days = Math.round((day(d) - day(now)) / 86400000);
	if (days <= 0)
		return hm;
	if (days === 1)
		return hm + ' tomorrow';
	return `${d.getDate()} ${d.toLocaleString('en', { month: 'short' })} ${hm}`;
}

/** where(tray): "AMS 1 slot 1", "External spool"; "an unknown tray" for null (the print has not changed trays yet). */
function where(tray) {
	return tray === null || tray === undefined ? 'an unknown tray' : trayLabel(undefined, undefined, tray);
}

/**
 * forecastLines(forecast, names, now): {runsOut: [{key, text}], unknown: [{key, text}]}: one warning per spool
 * that runs out ("Spool #1 PLA Basic runs out at layer 141 (about 09:19): 21 g short, in AMS 1 slot 1"; "(already
 * reached)" instead of the time for a layer before forecast.layer: the spool is empty by the plan) and one
 * quiet line per entry that cannot be forecast; both empty for a null forecast or one that is ok.  names maps a
 * spool id to its name (the dashboard's trays), for the spools it knows.
 */
export function forecastLines(forecast, names = new Map(), now = new Date()) {
	const out = { runsOut: [], unknown: [] };
	if (!forecast || forecast.ok === true)
		return out;
	for (const s of forecast.spools || []) {
		const key = `${s.spool_id ?? 't'}-${s.tray ?? 'x'}`;
		if (s.status === 'runs_out') {
			const name = s.spool_id !== null && names.get(s.spool_id);
			const at = clock(s.runs_out_at, now);
			const reached = typeof forecast.layer === 'number' && s.runs_out_at_layer < forecast.layer;
			let text = `Spool #${s.spool_id}${name ? ' ' + name : ''} runs out at layer ${s.runs_out_at_layer}`;
			if (reached)
				text += ' (already reached)';
			else if (at)
				text += ` (about ${at})`;
			if (typeof s.shortfall_g === 'number')
				text += `: ${grams(s.shortfall_g)} short`;
			out.runsOut.push({ key, text: text + `, in ${where(s.tray)}` });
		} else if (s.status === 'unknown') {
			const what = s.spool_id !== null && s.spool_id !== undefined ? `spool #${s.spool_id} (${where(s.tray)})` :
				where(s.tray);
			out.unknown.push({ key, text: `Runout unknown for ${what}${s.reason ? ': ' + s.reason : ''}` });
		}
	}
	return out;
}
