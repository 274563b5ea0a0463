// pages/usage.jsx: filament used over a range: per day, spool, printer and filament type, with CSV download.
import { useMemo, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { navigate } from '../router.js';
import { ErrorNote, Loading, useAsync, useTitle } from '../ui.jsx';
import { Chart, ChartFigure } from '../chart.jsx';
import * as fmt from '../format.js';
import { daySeconds } from '../axis.js';

const GROUPS = [
	['day', 'Grams per day'],
	['spool', 'Grams per spool'],
	['printer', 'Grams per printer'],
	['filament_type', 'Grams per filament type'],
	['user', 'Grams per user'],
];

function defaultRange() {
	const to = new Date();
	const from = new Date(to);
	from.setDate(from.getDate() - 29);
	return { from: fmt.isoDay(from), to: fmt.isoDay(to) };
}

function keyLabel(group, r) {
	switch (group) {
	case 'spool': return r.spool_id === null ? 'no spool' : `#${r.spool_id} ${r.spool_name || ''}`.trim();
	case 'printer': return r.printer || `printer ${r.printer_id}`;
	case 'filament_type': return r.filament_type;
	case 'user': return r.user || 'nobody';
	default: return r.day;
	}
}

function UsageFigure({ group, caption, rows, from, to }) {
	const chart = useMemo(() => {
		if (!rows || !rows.length)
			return null;
		if (group === 'day') {
			// Unix seconds, sorted by day, over at least the whole range asked for (axis.js).
			const days = rows.filter((r) => daySeconds(r.day) !== null)
				.sort((a, b) => daySeconds(a.day) - daySeconds(b.day));
			return { x: days.map((r) => daySeconds(r.day)), xDomain: [daySeconds(from), daySeconds(to)],
				series: [{ label: 'grams', values: days.map((r) => r.grams) }] };
		}
		const sorted = rows.slice().sort((a, b) => b.grams - a.grams || b.mm - a.mm);
		return { x: sorted.map((_, i) => i), categories: sorted.map((r) => keyLabel(group, r)),
			series: [{ label: 'grams', values: sorted.map((r) => r.grams) }] };
	}, [rows, group, from, to]);
	const columns = [
		[group === 'filament_type' ? 'Filament type' : group.charAt(0).toUpperCase() + group.slice(1), (r) => keyLabel(group, r)],
		['Grams', (r) => fmt.grams(r.grams)], ['Length', (r) => fmt.mm(r.mm)],
		['Without weight', (r) => (r.mm_no_grams ? fmt.mm(r.mm_no_grams) : '–')], ['Prints', (r) => r.prints],
	];
	return (
		<ChartFigure caption={caption} rows={rows} columns={columns}>
			{chart ? <Chart x={chart.x} series={chart.series} categories={chart.categories} time={group === 'day'}
				xDomain={chart.xDomain} bars yLabel="g" /> : null}
		</ChartFigure>
	);
}

/** UsagePage: GET /api/v1/usage for each grouping over the range in the address (?from=&to=&printer=). */
export function UsagePage({ search }) {
	useTitle('Usage');
	const sp = new URLSearchParams(search);
	const def = defaultRange();
	const range = { from: sp.get('from') || def.from, to: sp.get('to') || def.to, printer: sp.get('printer') || '' };
	const [csvGroup, setCsvGroup] = useState('day');
	const tz = fmt.timeZone();
	const printers = useAsync((signal) => api('GET', '/printers', undefined, { signal }), []);
	const bad = range.from > range.to ? 'From is after To: pick a range that starts before it ends.' : null;
	const data = useAsync(async (signal) => {
		if (bad)
			return null;
		const all = await Promise.all(GROUPS.map(([g]) =>
			api('GET', '/usage' + query({ group: g, ...range, tz }), undefined, { signal })));
		return Object.fromEntries(GROUPS.map(([g], i) => [g, all[i]]));
	}, [range.from, range.to, range.printer]);
	const set = (k, v) => navigate('/usage' + query({ ...range, [k]: v }), true);
	const total = data.data && data.data.day ? data.data.day.total : null;
	return (
		<section>
			<h1>Usage</h1>
			<form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Range">
				<div class="field">
					<label for="u-from">From</label>
					<input id="u-from" type="date" value={range.from} required
						onChange={(e) => e.currentTarget.value && set('from', e.currentTarget.value)} />
				</div>
				<div class="field">
					<label for="u-to">To</label>
					<input id="u-to" type="date" value={range.to} required
						onChange={(e) => e.currentTarget.value && set('to', e.currentTarget.value)} />
				</div>
				<div class="field">
					<label for="u-printer">Printer</label>
					<select id="u-printer" value={range.printer} onChange={(e) => set('printer', e.currentTarget.value)}>
						<option value="">All printers</option>
						{(printers.data || []).map((p) => <option key={p.id} value={String(p.id)}>{p.name}</option>)}
					</select>
				</div>
				<div class="field">
					<label for="u-csv">CSV rows</label>
					<select id="u-csv" value={csvGroup} onChange={(e) => setCsvGroup(e.currentTarget.value)}>
						{GROUPS.map(([g, l]) => <option key={g} value={g}>{l.replace('Grams per ', 'per ')}</option>)}
					</select>
				</div>
				<a class="button" href={'/api/v1/usage' + query({ group: csvGroup, ...range, tz, format: 'csv' })}
					download>Download CSV</a>
			</form>
			<ErrorNote>{bad}</ErrorNote>
			<ErrorNote error={data.error} />
			{data.loading && !data.data ? <Loading what="usage" /> : null}
			{total ? <p class="total">In this range: <strong>{fmt.grams(total.grams)}</strong> over {total.prints}
				{total.prints === 1 ? ' print' : ' prints'} and {total.layers} layers
				{total.mm_no_grams ? `, plus ${fmt.mm(total.mm_no_grams)} of filament without a known weight` : ''}.</p> : null}
			{data.data ? (
				<div class="figures">
					{GROUPS.map(([g, caption]) => (
						<UsageFigure key={g} group={g} caption={caption} rows={data.data[g].rows} from={range.from}
							to={range.to} />
					))}
				</div>
			) : null}
		</section>
	);
}
