// pages/admin_outbox.jsx: the Spoolman outbox review: rows by state, retry and discard (with a reason).
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { Dialog, ErrorNote, Link, Loading } from '../ui.jsx';
import * as fmt from '../format.js';

const VIEWS = [
	['needs_review', 'Needs review'],
	['pending,inflight,needs_review', 'Open'],
	['done', 'Sent'],
	['discarded', 'Discarded'],
	['pending,inflight,needs_review,done,discarded', 'All'],
];

function Discard({ row, onClose, onDone }) {
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const submit = async (e) => {
		e.preventDefault();
		const reason = new FormData(e.currentTarget).get('reason').trim();
		setBusy(true);
		setError(null);
		try {
			await api('POST', `/outbox/${row.id}/discard`, { reason });
			onDone();
			onClose();
		} catch (err) {
			setError(err);
			setBusy(false);
		}
	};
	return (
		<Dialog title={`Discard outbox row ${row.id}`} onClose={onClose}>
			<p>The use of {row.use_g !== null ? fmt.grams(row.use_g) : fmt.mm(row.use_mm)} on spool #{row.spool_id}
				{' '}will never be sent to Spoolman.</p>
			<form onSubmit={submit}>
				<div class="field"><label for="od-reason">Reason</label>
					<input id="od-reason" name="reason" required maxLength={1000} autofocus
						placeholder="spool thrown away" /></div>
				<ErrorNote error={error} />
				<button type="submit" class="danger" disabled={busy}>Discard row</button>
			</form>
		</Dialog>
	);
}

/** OutboxSection: GET /api/v1/outbox with state views and "Show more"; retry and discard per row. */
export function OutboxSection() {
	const [view, setView] = useState(VIEWS[0][0]);
	const [rows, setRows] = useState([]);
	const [next, setNext] = useState(null);
	const [open, setOpen] = useState(null);
	const [loading, setLoading] = useState(true);
	const [error, setError] = useState(null);
	const [note, setNote] = useState(null);
	const [discarding, setDiscarding] = useState(null);
	const [tick, setTick] = useState(0);

	const load = async (cursor) => {
		setLoading(true);
		setError(null);
		try {
			const r = await api('GET', '/outbox' + query({ state: view, limit: 50, cursor }));
			setRows((old) => (cursor ? old.concat(r.rows) : r.rows));
			setNext(r.next);
			setOpen(r.open);
		} catch (e) {
			setError(e);
		}
		setLoading(false);
	};
	useEffect(() => {
		load(null);
	}, [view, tick]);
	const retry = async (row) => {
		setError(null);
		try {
			await api('POST', `/outbox/${row.id}/retry`, {});
			setNote(`Row ${row.id} will be sent again.`);
			setTick((t) => t + 1);
		} catch (e) {
			setError(e);
		}
	};
	return (
		<section id="outbox" class="card" aria-labelledby="outbox-h">
			<h2 id="outbox-h">Outbox</h2>
			<p class="muted">Uses of filament waiting to be sent to Spoolman, and those Spoolman refused.
				{open ? ` Open now: ${open.pending} pending, ${open.inflight} being sent, ${open.needs_review} to review.` : ''}</p>
			<div class="field">
				<label for="ob-view">Show</label>
				<select id="ob-view" value={view} onChange={(e) => setView(e.currentTarget.value)}>
					{VIEWS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
				</select>
			</div>
			<p role="status" class="ok-note">{note || ''}</p>
			<ErrorNote error={error} />
			<div class="table-wrap">
				<table class="stack">
					<thead><tr><th scope="col">Row</th><th scope="col">Print</th><th scope="col">Spool</th>
						<th scope="col" class="num">Amount</th><th scope="col">State</th><th scope="col">Last error</th>
						<th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
					<tbody>
						{rows.map((r) => (
							<tr key={r.id}>
								<td data-label="Row">{r.id}<div class="muted small">{fmt.dateTime(r.created_at)}</div></td>
								<td data-label="Print">{r.job_id ? <Link href={`/prints/${r.job_id}`}>{r.print_name || `Print ${r.job_id}`}</Link> :
									'manual'}{r.printer ? <div class="muted small">{r.printer}, layer {r.layer}</div> : null}</td>
								<td data-label="Spool">#{r.spool_id} {r.spool_name || ''}</td>
								<td class="num" data-label="Amount">{r.use_g !== null ? fmt.grams(r.use_g) : fmt.mm(r.use_mm)}</td>
								<td data-label="State">{r.state}{r.attempts ? ` (${r.attempts} tries)` : ''}</td>
								<td class="wrap" data-label="Last error">{r.last_error || '–'}</td>
								<td class="actions">{r.state === 'needs_review' || r.state === 'pending' ? (
									<span class="row">
										<button type="button" class="small" onClick={() => retry(r)}
											aria-label={`Retry row ${r.id}`}>Retry</button>
										<button type="button" class="small danger" onClick={() => setDiscarding(r)}
											aria-label={`Discard row ${r.id}`}>Discard</button>
									</span>) : null}</td>
							</tr>
						))}
					</tbody>
				</table>
			</div>
			{loading ? <Loading what="outbox" /> : null}
			{!loading && !rows.length && !error ? <p>Nothing here.</p> : null}
			{next && !loading ? <button type="button" onClick={() => load(next)}>Show more</button> : null}
			{discarding ? <Discard row={discarding} onClose={() => setDiscarding(null)}
				onDone={() => { setNote(`Row ${discarding.id} discarded.`); setTick((t) => t + 1); }} /> : null}
		</section>
	);
}
