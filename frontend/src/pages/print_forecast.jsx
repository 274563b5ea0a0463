// pages/print_forecast.jsx: the runout forecast of a print while it runs (its printer's live status), for the print page.
import { api } from '../api.js';
import { usePoll } from '../poll.js';
import { forecastLines } from '../forecast.js';

const POLL_MS = 15000;
const LIVE = ['preparing', 'running', 'paused'];

/** PrintForecast: for a print in progress, whether its spools last (GET /printers/{id}/status); nothing otherwise. */
export function PrintForecast({ p }) {
	const live = LIVE.includes(p.state) && p.printer_id !== undefined && p.printer_id !== null;
	return live ? <LiveForecast p={p} /> : null;
}

function LiveForecast({ p }) {
	const poll = usePoll((signal) => api('GET', `/printers/${p.printer_id}/status`, undefined, { signal }), POLL_MS);
	const st = poll.data;
	if (!st || !st.job || st.job.id !== p.id || !st.forecast)
		return null;
	const names = new Map();
	for (const u of st.units || [])
		for (const t of u.trays)
			if (t.spool && t.spool.name)
				names.set(t.spool.id, t.spool.name);
	const f = forecastLines(st.forecast, names);
	return (
		<section aria-labelledby="forecast-h">
			<h2 id="forecast-h">Runout forecast</h2>
			{st.forecast.ok === true ? <p class="ok-note">Every spool lasts to the end of the print.</p> : null}
			{f.runsOut.length ? <ul class="warnings">{f.runsOut.map((l) => <li key={l.key}>{l.text}</li>)}</ul> : null}
			{f.unknown.length ? <ul class="forecast-unknown muted small">
				{f.unknown.map((l) => <li key={l.key}>{l.text}</li>)}</ul> : null}
		</section>
	);
}
