// pages/history.jsx: the print list with filters in the address (printer, user, state, from, to) and keyset paging.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { navigate } from '../router.js';
import { ErrorNote, Link, Loading, useAsync, useTitle } from '../ui.jsx';
import * as fmt from '../format.js';

const STATES = ['preparing', 'running', 'paused', 'finished', 'failed', 'cancelled', 'abandoned'];
const FILTERS = ['printer', 'user', 'state', 'from', 'to'];
const PAGE = 50;

function filtersOf(search) {
	const sp = new URLSearchParams(search);
	const f = {};
	for (const k of FILTERS)
		f[k] = sp.get(k) || '';
	return f;
}

function Filters({ f, user, printers, users }) {
	const set = (k, v) => navigate('/history' + query({ ...f, [k]: v }), true);
	return (
		<form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
			<div class="field">
				<label for="f-printer">Printer</label>
				<select id="f-printer" value={f.printer} onChange={(e) => set('printer', e.currentTarget.value)}>
					<option value="">All printers</option>
					{(printers || []).map((p) => <option key={p.id} value={String(p.id)}>{p.name}</option>)}
				</select>
			</div>
			<div class="field">
				<label for="f-user">User</label>
				<select id="f-user" value={f.user} onChange={(e) => set('user', e.currentTarget.value)}>
					<option value="">Everyone</option>
					<option value="none">Nobody's prints</option>
					{user.role !== 'admin' ? <option value={String(user.id)}>Mine</option> : null}
					{(users || []).map((u) => <option key={u.id} value={String(u.id)}>{u.username}</option>)}
				</select>
			</div>
			<div class="field">
				<label for="f-state">State</label>
				<select id="f-state" value={f.state} onChange={(e) => set('state', e.currentTarget.value)}>
					<option value="">Any state</option>
					{STATES.map((s) => <option key={s} value={s}>{s}</option>)}
				</select>
			</div>
			<div class="field">
				<label for="f-from">From</label>
				<input id="f-from" type="date" value={f.from} max={f.to || undefined}
					onChange={(e) => set('from', e.currentTarget.value)} />
			</div>
			<div class="field">
				<label for="f-to">To</label>
				<input id="f-to" type="date" value={f.to} min={f.from || undefined}
					onChange={(e) => set('to', e.currentTarget.value)} />
			</div>
			{FILTERS.some((k) => f[k]) ? <button type="button" class="ghost"
				onClick={() => navigate('/history', true)}>Clear filters</button> : null}
		</form>
	);
}

/** HistoryPage: the prints the user may see, newest first, 50 at a time ("Show more"). */
export function HistoryPage({ user, search }) {
	useTitle('History');
	const f = filtersOf(search);
	const key = FILTERS.map((k) => f[k]).join('|');
	const printers = useAsync((signal) => api('GET', '/printers', undefined, { signal }), []);
	const users = useAsync((signal) => user.role === 'admin' ? api('GET', '/users', undefined, { signal }) :
		Promise.resolve([]), [user.role]);
	const [rows, setRows] = useState([]);
	const [next, setNext] = useState(null);
	const [loading, setLoading] = useState(true);
	const [error, setError] = useState(null);
	const params = { ...f, tz: fmt.timeZone() };

	const load = async (cursor, signal) => {
		setLoading(true);
		setError(null);
		try {
			const r = await api('GET', '/prints' + query({ ...params, limit: PAGE, cursor }), undefined, { signal });
			setRows((old) => (cursor ? old.concat(r.prints) : r.prints));
			setNext(r.next);
		} catch (e) {
			if (e.name === 'AbortError')
				return;
			setError(e);
			if (!cursor)
				setRows([]);
		}
		setLoading(false);
	};
	useEffect(() => {
		const ac = new AbortController();
		setRows([]);
		setNext(null);
		load(null, ac.signal);
		return () => ac.abort();
	}, [key]);

	return (
		<section>
			<div class="page-head">
				<h1>History</h1>
				<a class="button ghost" href={'/api/v1/prints' + query({ ...params, format: 'csv' })} download>
					Download prints as CSV</a>
			</div>
			<Filters f={f} user={user} printers={printers.data} users={users.data} />
			<ErrorNote error={error || printers.error} />
			<div class="table-wrap">
				<table class="prints">
					<caption class="visually-hidden">Prints, newest first</caption>
					<thead>
						<tr><th scope="col">Print</th><th scope="col">Printer</th><th scope="col" class="opt">User</th>
							<th scope="col">State</th><th scope="col">Started</th><th scope="col" class="opt">Duration</th>
							<th scope="col" class="num">Filament</th></tr>
					</thead>
					<tbody>
						{rows.map((p) => (
							<tr key={p.id}>
								<td class="text"><Link href={`/prints/${p.id}`}>{p.name || p.gcode_file || `Print ${p.id}`}</Link></td>
								<td class="text">{p.printer}</td>
								<td class="opt">{p.user || '–'}</td>
								<td><span class={'badge pstate-' + p.state}>{p.state}</span></td>
								<td>{fmt.dateTime(p.started_at)}</td>
								<td class="opt">{fmt.duration(p.started_at, p.ended_at)}</td>
								<td class="num">{fmt.grams(p.grams)}{p.mm_no_grams ? ` + ${fmt.mm(p.mm_no_grams)}` : ''}</td>
							</tr>
						))}
					</tbody>
				</table>
			</div>
			{loading ? <Loading what="prints" /> : null}
			{!loading && !rows.length && !error ? <p>No prints match these filters.</p> : null}
			{next && !loading ? <button type="button" onClick={() => load(next)}>Show more</button> : null}
		</section>
	);
}
