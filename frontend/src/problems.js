// problems.js: connection problems in plain words with what to do: a printer's connection_error, Spoolman down.
const pad = (n) => String(n).padStart(2, '0');

/** sinceClock(iso, now): "HH:MM" when it is today, else "D Mon HH:MM"; null for null or a bad time. */
export function sinceClock(iso, now = new Date()) {
	const d = iso ? new Date(iso) : null;
	if (!d || Number.isNaN(d.getTime()))
		return null;
	const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
	if (d.toDateString() === now.toDateString())
		return hm;
	return `${d.getDate()} ${d.toLocaleString('en', { month: 'short' })} ${hm}`;
}

/**
 * printerProblem(p, now): {kind, text, advice} for a printer card when the printer is not connected and the worker
 * named why (GET /status "connection_error"); null otherwise (connected, disabled, or no problem known).
 */
export function printerProblem(p, now = new Date()) {
	const e = p && p.connection_error;
	if (!e || p.connected || p.enabled === false || typeof e.message !== 'string')
		return null;
	const since = sinceClock(e.since, now);
	const text = `${e.message.replace(/^./, (c) => c.toUpperCase())}${since ? ` (since ${since})` : ''}.`;
	let advice;
	if (e.kind === 'auth')
		advice = 'Check the access code in Admin > Printers (printer screen: Settings > LAN only / access code).';
	else if (e.kind === 'tls')
		advice = 'Check that the address in Admin > Printers is this printer\'s and that its serial number is ' +
			'right; the worker trusts only Bambu Lab\'s certificate for that serial.';
	else
		advice = `Check that the printer is on and on the network, and its address: host ${p.host || hostOf(e.message) ||
			'in Admin > Printers'}.`;
	return { kind: e.kind, text, advice };
}

/** The "host:port" a message names ("cannot reach 192.168.1.50:8883: ..."), or null. */
function hostOf(message) {
	const m = /([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):\d+/.exec(message);
	return m ? m[0] : null;
}

/**
 * spoolmanBanner(s, now): the dashboard's banner text when Spoolman is unreachable (GET /status "spoolman" with
 * ok === false), else null: "Spoolman is unreachable since 09:12 (error). 3 uses are waiting and will be sent
 * when it is back."
 */
export function spoolmanBanner(s, now = new Date()) {
	if (!s || s.ok !== false)
		return null;
	const since = sinceClock(s.since, now);
	const n = typeof s.backlog === 'number' ? s.backlog : 0;
	let text = 'Spoolman is unreachable' + (since ? ` since ${since}` : '') + (s.error ? ` (${s.error})` : '') + '.';
	if (n > 0)
		text += ` ${n} ${n === 1 ? 'use is' : 'uses are'} waiting and will be sent when it is back.`;
	else
		text += ' Nothing is waiting to be sent.';
	return text;
}
