// pages/admin_review.jsx: the review list of a queue to Spoolman (the outbox, location updates): rows by state, retry, discard.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { Dialog, ErrorNote, Loading } from '../ui.jsx';

function Discard({ kind, row, onClose, onDone }) {
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const submit = async (e) => {
		e.preventDefault();
		const reason = new FormData(e.currentTarget).get('reason').trim();
		setBusy(true);
		setError(null);
		try {
			await api('POST', `${kind.path}/${row.id}/discard`, { reason });
			onDone();
			onClose();
		} catch (err) {
			setError(err);
			setBusy(false);
		}
	};
	return (
		<Dialog title={`Discard ${kind.noun} ${row.id}`} onClose={onClose}>
			<p>{kind.what(row)} will never be sent to Spoolman.</p>
			<form onSubmit={submit}>
				<div class="field"><label for={`${kind.id}-reason`}>Reason</label>
					<input id={`${kind.id}-reason`} name="reason" required maxLength={1000} autofocus
						placeholder={kind.placeholder} /></div>
				<ErrorNote error={error} />
				<button type="submit" class="danger" disabled={busy}>Discard {kind.noun}</button>
			</form>
		</Dialog>
	);
}

/**
 * ReviewSection: GET kind.path with state views and "Show more"; Retry and Discard (with a reason) per row.  kind:
 * id, title, path, noun ("row"), intro(open) (a sentence), views ([state list, label]), head ([label, class]),
 * cells(row) (the <td>s), canRetry(row), canDiscard(row), what(row) (the discard dialog's subject), placeholder.
 */
export function ReviewSection({ kind }) {
	const [view, setView] = useState(kind.views[0][0]);
	const [rows, setRows] = useState([]);
	const [next, setNext] = useState(null);
	const [open, setOpen] = useState(null);
	const [loading, setLoading] = useState(true);
	const [error, setError] = useState(null);
	const [note, setNote] = useState(null);
	const [discarding, setDiscarding] = useState(null);
	const [tick, setTick] = useState(0);
	const Noun = kind.noun[0].toUpperCase() + kind.noun.slice(1);

	const load = async (cursor) => {
		setLoading(true);
		setError(null);
		try {
			const r = await api('GET', kind.path + query({ state: view, limit: 50, cursor }));
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
			await api('POST', `${kind.path}/${row.id}/retry`, {});
			setNote(`${Noun} ${row.id} will be sent again.`);
			setTick((t) => t + 1);
		} catch (e) {
			setError(e);
		}
	};
	return (
		<section id={kind.id} class="card" aria-labelledby={`${kind.id}-h`}>
			<h2 id={`${kind.id}-h`}>{kind.title}</h2>
			<p class="muted">{kind.intro(open)}</p>
			<div class="field">
				<label for={`${kind.id}-view`}>Show</label>
				<select id={`${kind.id}-view`} value={view} onChange={(e) => setView(e.currentTarget.value)}>
					{kind.views.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
				</select>
			</div>
			<p role="status" class="ok-note">{note || ''}</p>
			<ErrorNote error={error} />
			<div class="table-wrap">
				<table class="stack">
					<thead><tr>{kind.head.map(([h, cls]) => <th scope="col" class={cls} key={h}>{h}</th>)}
						<th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
					<tbody>
						{rows.map((r) => (
							<tr key={r.id}>
								{kind.cells(r)}
								<td class="actions"><span class="row">
									{kind.canRetry(r) ? <button type="button" class="small" onClick={() => retry(r)}
										aria-label={`Retry ${kind.noun} ${r.id}`}>Retry</button> : null}
									{kind.canDiscard(r) ? <button type="button" class="small danger"
										onClick={() => setDiscarding(r)}
										aria-label={`Discard ${kind.noun} ${r.id}`}>Discard</button> : null}
								</span></td>
							</tr>
						))}
					</tbody>
				</table>
			</div>
			{loading ? <Loading what={kind.title.toLowerCase()} /> : null}
			{!loading && !rows.length && !error ? <p>Nothing here.</p> : null}
			{next && !loading ? <button type="button" onClick={() => load(next)}>Show more</button> : null}
			{discarding ? <Discard kind={kind} row={discarding} onClose={() => setDiscarding(null)}
				onDone={() => { setNote(`${Noun} ${discarding.id} discarded.`); setTick((t) => t + 1); }} /> : null}
		</section>
	);
}
