// pages/print.jsx: one print: its facts, usage per spool and per slicer filament, and a per-layer chart.
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Chip, Link, Loading, useAsync, useTitle } from '../ui.jsx';
import { Chart, ChartFigure, color } from '../chart.jsx';
import * as fmt from '../format.js';
import { PrintForecast } from './print_forecast.jsx';

function LayerChart({ p }) {
	const { x, series, rows, unit } = useMemo(() => {
		const L = p.layers || { layer: [], series: [] };
		const useGrams = L.series.length > 0 && L.series.every((s) => Array.isArray(s.grams));
		const fil = new Map((p.filaments || []).map((f) => [f.index, f]));
		const ser = L.series.map((s, i) => {
			const f = fil.get(s.filament_index);
			const label = `Filament ${s.filament_index + 1}` + (f && f.type ? ` (${f.type})` : '') +
				(f && f.tray_label ? `, ${f.tray_label}` : '');
			return { label, values: (useGrams ? s.grams : s.mm).map((v) => v ?? 0),
				color: (f && fmt.cssColor(f.color)) || color(i) };
		});
		const r = L.layer.map((layer, i) => ({ layer, vals: ser.map((s) => s.values[i]) }));
		return { x: L.layer, series: ser, rows: r, unit: useGrams ? 'g' : 'mm' };
	}, [p]);
	const columns = [['Layer', (r) => r.layer], ...series.map((s, i) => [s.label, (r) => r.vals[i]])];
	return (
		<ChartFigure caption={`Filament per layer (${unit === 'g' ? 'grams' : 'millimetres'}), by slicer filament`}
			rows={rows} columns={columns} empty="No layer has been charged yet.">
			<Chart x={x} series={series} yLabel={unit} bars={x.length <= 400} stacked />
		</ChartFigure>
	);
}

/** Owner: whose print it is; admins and the printer's operators may change it (PATCH /api/v1/prints/{id}). */
function Owner({ p, user, onChanged }) {
	const mine = (user.printers || []).find((x) => x.printer_id === p.printer_id);
	const canEdit = user.role === 'admin' || (mine && mine.access === 'operator');
	const users = useAsync((signal) => user.role === 'admin' ? api('GET', '/users', undefined, { signal }) :
		Promise.resolve([]), [user.role]);
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	if (!canEdit)
		return <>{p.user || 'nobody'}</>;
	const opts = new Map([['', 'nobody']]);
	if (p.user_id !== null)
		opts.set(String(p.user_id), p.user || `user ${p.user_id}`);
	opts.set(String(user.id), user.username);
	for (const u of users.data || [])
		opts.set(String(u.id), u.username);
	const change = async (v) => {
		setBusy(true);
		setError(null);
		try {
			await api('PATCH', `/prints/${p.id}`, { user_id: v === '' ? null : Number(v) });
			onChanged();
		} catch (e) {
			setError(e);
		}
		setBusy(false);
	};
	return (
		<>
			<label for="print-owner" class="visually-hidden">Whose print</label>
			<select id="print-owner" class="inline" value={p.user_id === null ? '' : String(p.user_id)} disabled={busy}
				onChange={(e) => change(e.currentTarget.value)}>
				{[...opts].map(([v, l]) => <option key={v} value={v}>{l}</option>)}
			</select>
			<ErrorNote error={error} />
		</>
	);
}

/** PrintPage: GET /api/v1/prints/{id}. */
export function PrintPage({ params, user }) {
	const r = useAsync((signal) => api('GET', `/prints/${encodeURIComponent(params.id)}`, undefined, { signal }),
		[params.id]);
	const p = r.data;
	useTitle(p ? p.name || `Print ${p.id}` : 'Print');
	if (r.error && !p)
		return (
			<section>
				<h1>Print {params.id}</h1>
				<ErrorNote error={r.error} />
				<p><Link href="/history">Back to the history</Link></p>
			</section>
		);
	if (!p)
		return <Loading what="print" />;
	const ob = p.outbox || {};
	return (
		<section>
			<p class="crumbs"><Link href="/history">History</Link></p>
			<h1>{p.name || p.gcode_file || `Print ${p.id}`}</h1>
			<dl class="facts card">
				<dt>Printer</dt><dd>{p.printer}</dd>
				<dt>User</dt><dd><Owner p={p} user={user} onChanged={r.reload} /></dd>
				<dt>State</dt><dd><span class={'badge pstate-' + p.state}>{p.state}</span>{p.error ? ` (${p.error})` : ''}</dd>
				<dt>File</dt><dd>{p.gcode_file || '–'}{p.plate ? `, plate ${p.plate}` : ''}</dd>
				<dt>Started</dt><dd>{fmt.dateTime(p.started_at)}</dd>
				<dt>Ended</dt><dd>{fmt.dateTime(p.ended_at)}</dd>
				<dt>Layers</dt><dd>{p.checkpoint_layer ?? '–'} of {p.layer_count ?? '–'} charged</dd>
				<dt>Filament</dt><dd>{fmt.grams(p.grams)} used, {fmt.grams(p.planned_grams)} planned
					{p.mm_no_grams ? `; ${fmt.mm(p.mm_no_grams)} without a known weight` : ''}</dd>
				<dt>Spoolman</dt><dd>{ob.done || 0} sent, {(ob.pending || 0) + (ob.inflight || 0)} waiting,
					{' '}{ob.needs_review || 0} to review, {ob.discarded || 0} discarded
					{p.printer_needs_review && user.role === 'admin' ? <> (<Link href="/admin#outbox">outbox</Link>)</> : null}</dd>
			</dl>
			<PrintForecast p={p} />

			<h2>Usage per spool</h2>
			<div class="table-wrap">
				<table>
					<thead><tr><th scope="col">Spool</th><th scope="col" class="num">Grams</th>
						<th scope="col" class="num">Length</th><th scope="col" class="num">Layers</th></tr></thead>
					<tbody>
						{(p.spools || []).map((s, i) => (
							<tr key={i}>
								<td class="text">{s.spool_id === null ? 'No spool was mapped' :
									`#${s.spool_id} ${s.spool_name || ''}`}</td>
								<td class="num">{fmt.grams(s.grams)}{s.mm_no_grams ? ' + ' + fmt.mm(s.mm_no_grams) : ''}</td>
								<td class="num">{fmt.mm(s.mm)}</td>
								<td class="num">{s.layers}</td>
							</tr>
						))}
						{!(p.spools || []).length ? <tr><td colSpan={4}>Nothing charged yet.</td></tr> : null}
					</tbody>
				</table>
			</div>

			<h2>Slicer filaments</h2>
			<div class="table-wrap">
				<table>
					<thead><tr><th scope="col">Filament</th><th scope="col">Tray</th>
						<th scope="col" class="num">Planned</th><th scope="col" class="num">Charged</th>
						<th scope="col">Spools</th></tr></thead>
					<tbody>
						{(p.filaments || []).map((f) => (
							<tr key={f.index}>
								<td><Chip color={f.color} /> {f.index + 1} {f.type || ''}</td>
								<td>{f.tray_label || '–'}</td>
								<td class="num">{f.planned_grams !== null ? fmt.grams(f.planned_grams) : fmt.mm(f.planned_mm)}</td>
								<td class="num">{f.charged_grams !== null ? fmt.grams(f.charged_grams) : fmt.mm(f.charged_mm)}</td>
								<td>{(f.spool_ids || []).map((id) => '#' + id).join(', ') || '–'}</td>
							</tr>
						))}
					</tbody>
				</table>
			</div>

			<LayerChart p={p} />
		</section>
	);
}
