// pages/tray.jsx: the tray dialog: the spool in a tray, Spoolman search, pick (with "Move it here" on 409),
// remove, QR scanning of Spoolman labels, and the tray's RFID tag (assigned by tag, link a tag, conflicts).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { Chip, Dialog, ErrorNote, Loading, useAsync } from '../ui.jsx';
import { Scanner } from '../qr.jsx';
import * as fmt from '../format.js';
import { spoolName, tagState, conflictAdvice, linkTagError, materialMismatch } from '../trays.js';

const SEARCH_DELAY_MS = 300;
const PENDING_RELOAD_MS = 3000;	/* a tag being looked up is usually matched within seconds */

/* live: the same tray in the dashboard's last poll: its remaining weight comes from the same copy of Spoolman's
   spool (spool_cache) but is newer than this dialog's one read, so the dialog and the card show the same figure. */
function CurrentSpool({ t, live }) {
	if (!t)
		return null;
	const s = t.spool;
	const left = s && live && live.id === s.id && typeof live.remaining_weight === 'number' ?
		live.remaining_weight : s && s.remaining_weight;
	const mismatch = materialMismatch(t.type, s && s.material);
	return (
		<section class="current" aria-labelledby="tray-current">
			<h3 id="tray-current">In this tray</h3>
			<p class="muted small">Printer reports: {t.loaded === false ? 'empty' : t.type || 'unknown material'}
				{t.remain !== null && t.remain !== undefined ? `, ${t.remain} % left` : ''}
				{t.reported === false ? ' (not reported by the printer)' : ''}</p>
			{s ? (
				<dl class="facts">
					<dt>Spool</dt><dd>{spoolName(s)}</dd>
					<dt>Vendor</dt><dd>{s.vendor || '–'}</dd>
					<dt>Material</dt><dd>{s.material || '–'}</dd>
					<dt>Colour</dt><dd><Chip color={s.color_hex} /> {s.color_hex ? '#' + s.color_hex : '–'}</dd>
					<dt>Remaining</dt><dd>{fmt.grams(left)}</dd>
					<dt>Since</dt><dd>{fmt.dateTime(s.since)}</dd>
				</dl>
			) : <p>No spool is mapped to this tray.</p>}
			{mismatch ? <p class="mismatch" role="note">⚠ {mismatch}</p> : null}
		</section>
	);
}

/** The "Link this tag" controls of a tray whose tag no spool carries: the picked spool, link it or put it in by hand. */
function LinkControls({ picked, busy, onLink, onPut }) {
	return (
		<div class="tag-box">
			<p id="tray-link-hint" class="small" role="status">{picked ?
				`Selected: #${picked.id} ${picked.name || 'Unnamed spool'}` : 'Pick the spool with this tag below.'}</p>
			<div class="row">
				<button type="button" disabled={busy || !picked} onClick={() => onLink(picked)}
					aria-describedby="tray-link-hint">Link this tag</button>
				{picked ? <button type="button" class="ghost" disabled={busy} onClick={() => onPut(picked)}>
					Put it in by hand (without the tag)</button> : null}
			</div>
		</div>
	);
}

/** The tray's RFID tag: what it did, and what to do (docs/smart-trays.md); nothing without a tag. */
function TagSection({ t, canChange }) {
	const state = tagState(t);
	if (!state)
		return null;
	const tag = <code class="tag-id">{t.tag}</code>;
	let text;
	if (state === 'matched' && t.assigned_by === 'tag')
		text = <>The spool was assigned by its RFID tag {tag}. It cannot be changed by hand while the tag is in the
			tray: take the spool out of the AMS to change it.</>;
	else if (state === 'matched')
		text = <>Tag {tag} names spool #{t.tag_spool_id}.</>;
	else if (state === 'pending')
		text = <>Tag {tag}: being looked up in Spoolman…</>;
	else if (state === 'unknown')
		text = <>No spool in Spoolman carries the RFID tag {tag}.{canChange ? ' Pick its spool in the search below, ' +
			'then "Link this tag" writes the tag onto it, and the tray is assigned by its tag from then on.' : ''}</>;
	else
		text = <>Tag {tag}: {conflictAdvice(t)}</>;
	return (
		<section class={'tag-box' + (state === 'conflict' ? ' conflict' : '')} aria-labelledby="tray-tag">
			<h3 id="tray-tag">RFID tag</h3>
			<p id="tray-tag-text">{text}</p>
		</section>
	);
}

function SpoolResult({ s, onPick, busy, selected }) {
	const where = s.tray ? `in ${s.tray.printer}, ${s.tray.label}` : s.in_tray ? 'in a tray of another printer' : '';
	return (
		<li>
			<button type="button" class={'result' + (selected ? ' selected' : '')} disabled={busy}
				aria-pressed={selected === undefined ? undefined : selected} onClick={() => onPick(s)}>
				<Chip color={s.color_hex} />
				<span>
					<strong>#{s.id} {s.name || 'Unnamed spool'}</strong>
					<span class="muted small"> {[s.vendor, s.material, fmt.grams(s.remaining_weight) + ' left', where]
						.filter(Boolean).join(' · ')}</span>
				</span>
			</button>
		</li>
	);
}

/** TrayDialog: one tray of one printer (the printer as in GET /status); onChanged() after a change. */
export function TrayDialog({ printer, tray, label, onClose, onChanged, live }) {
	const canChange = printer.access === 'admin' || printer.access === 'operator';
	const trays = useAsync((signal) => api('GET', `/printers/${printer.id}/trays`, undefined, { signal }),
		[printer.id]);
	const t = trays.data ? trays.data.trays.find((x) => x.tray === tray) || null : null;
	const [q, setQ] = useState('');
	const [results, setResults] = useState(null);
	const [searchError, setSearchError] = useState(null);
	const [searching, setSearching] = useState(false);
	const [scanning, setScanning] = useState(false);
	const [busy, setBusy] = useState(false);
	const [message, setMessage] = useState(null);
	const [error, setError] = useState(null);
	const [conflict, setConflict] = useState(null);
	const [picked, setPicked] = useState(null);
	const seq = useRef(0);
	const tag = tagState(t);
	const byTag = !!t && t.assigned_by === 'tag';
	const linking = tag === 'unknown';	// a pick selects the spool to link (or to put in by hand)

	useEffect(() => {
		if (tag !== 'pending')
			return undefined;
		const timer = setTimeout(trays.reload, PENDING_RELOAD_MS);
		return () => clearTimeout(timer);
	}, [tag, trays.data]);

	useEffect(() => {
		if (!canChange)
			return undefined;
		const mine = ++seq.current;
		const ac = new AbortController();
		const timer = setTimeout(async () => {
			setSearching(true);
			try {
				const r = await api('GET', '/spools' + query({ q: q.trim(), limit: 30 }), undefined,
					{ signal: ac.signal });
				if (mine === seq.current) {
					setResults(r);
					setSearchError(null);
				}
			} catch (e) {
				if (mine === seq.current && e.name !== 'AbortError')
					setSearchError(e);
			}
			if (mine === seq.current)
				setSearching(false);
		}, q ? SEARCH_DELAY_MS : 0);
		return () => {
			clearTimeout(timer);
			ac.abort();
		};
	}, [q]);

	const put = async (spool, move) => {
		setBusy(true);
		setError(null);
		setMessage(null);
		try {
			const r = await api('PUT', `/printers/${printer.id}/trays/${tray}`,
				{ spool_id: spool ? spool.id : null, move: !!move });
			setConflict(null);
			setPicked(null);
			let m = spool ? `${spoolName(r.spool || spool)} is now in ${label}.` : `${label} is now empty.`;
			if (r.moved_from)
				m += ` It was taken out of ${r.moved_from.printer}, ${r.moved_from.label}.`;
			if (r.spoolman === 'unreachable' || r.spoolman === 'error' || r.spoolman === 'not_configured')
				m += ' Spoolman could not be asked about the spool, so its name shows once Spoolman answers.';
			setMessage(m);
			trays.reload();
			onChanged();
		} catch (e) {
			if (e.status === 409 && e.error === 'tag_assigned')
				setError({ detail: (spool && spool.id !== (t && t.spool && t.spool.id) ? 'That spool was put in its ' +
					'tray by its RFID tag and stays there while the tag is in that tray. ' : 'This tray was assigned ' +
					'by its RFID tag and cannot be changed by hand while the tag is in it. ') + '(' + e.detail + ')' });
			else if (e.status === 409 && spool)
				setConflict({ spool, detail: e.detail });
			else
				setError(e);
		}
		setBusy(false);
	};

	const link = async (spool) => {
		setBusy(true);
		setError(null);
		setMessage(null);
		setConflict(null);
		try {
			const r = await api('POST', `/printers/${printer.id}/trays/${tray}/link-tag`, { spool_id: spool.id });
			setMessage(`The tag is now on ${spoolName(r.spool || spool)} in Spoolman, and the spool is in ${label}, ` +
				'assigned by its tag.');
			setPicked(null);
			trays.reload();
			onChanged();
		} catch (e) {
			setError({ detail: linkTagError(e) });
		}
		setBusy(false);
	};

	const scanned = async (code) => {
		seq.current++;		// a search still under way must not replace the scanned spool
		setSearching(false);
		setScanning(false);
		setError(null);
		setConflict(null);
		try {
			const s = await api('GET', '/spools/lookup' + query({ code }));
			setResults({ spools: [s], matched: 1, scanned: 1, truncated: false, fromScan: true });
			setMessage(`Scanned spool #${s.id}. Pick it below ${linking ? 'to link this tray\'s tag to it' :
				'to put it in ' + label}.`);
		} catch (e) {
			setError(e);
		}
	};

	return (
		<Dialog title={`${printer.name}: ${label}`} onClose={onClose} returnTo={`[data-tray="${printer.id}:${tray}"]`}>
			{trays.loading && !trays.data ? <Loading what="tray" /> : null}
			<ErrorNote error={trays.error} />
			<CurrentSpool t={t} live={live} />
			<TagSection t={t} canChange={canChange} />
			<p role="status" class="ok-note">{message || ''}</p>
			<ErrorNote error={error} />
			{conflict ? (
				<div class="conflict" role="alert">
					<p>{conflict.detail}</p>
					<button type="button" disabled={busy} onClick={() => put(conflict.spool, true)}>Move it here</button>
					<button type="button" class="ghost" onClick={() => setConflict(null)}>Keep it there</button>
				</div>
			) : null}
			{canChange && byTag ? (
				<div class="row actions">
					<button type="button" class="danger" disabled aria-describedby="tray-tag-text">Remove spool</button>
				</div>
			) : null}
			{canChange && !byTag ? (
				<>
					<div class="row actions">
						<button type="button" onClick={() => setScanning(!scanning)} aria-expanded={scanning}>
							{scanning ? 'Stop scanning' : 'Scan QR code'}</button>
						{t && t.spool ? <button type="button" class="danger" disabled={busy}
							onClick={() => put(null, false)}>Remove spool</button> : null}
					</div>
					{scanning ? <Scanner onCode={scanned} /> : null}
					{/* While the camera looks, the list waits: the scanned spool then becomes the one result. */}
					<label for="spool-search">Search spools</label>
					<input id="spool-search" type="search" value={q} autocomplete="off"
						placeholder="name, vendor, material, colour, #id"
						onInput={(e) => setQ(e.currentTarget.value)} aria-describedby="spool-search-count" />
					<p id="spool-search-count" class="muted small" role="status">
						{searching ? 'Searching…' : results ?
							`${results.matched} ${results.matched === 1 ? 'spool' : 'spools'}` +
							(results.truncated ? ' (showing the first ' + results.spools.length + ')' : '') : ''}
					</p>
					<ErrorNote error={searchError} />
					{results && results.spools.length > 0 && !scanning ? <p class="hint">The grams in this list are
						Spoolman's own figures, read now; the tray above shows Spoolman's figure as of the last
						charged layer, so they may differ by what a running print used since.</p> : null}
					{linking ? <LinkControls picked={picked} busy={busy} onLink={link}
						onPut={(sp) => put(sp, false)} /> : null}
					{results && !scanning ? (
						<ul class="results" aria-label={results.fromScan ? 'Scanned spool' : 'Spools'}>
							{results.spools.map((s) => <SpoolResult key={s.id} s={s} busy={busy}
								selected={linking ? !!picked && picked.id === s.id : undefined}
								onPick={(sp) => (linking ? setPicked(sp) : put(sp, false))} />)}
						</ul>
					) : null}
				</>
			) : null}
			{!canChange ? <p class="muted">You may look at this printer but not change its trays.</p> : null}
		</Dialog>
	);
}
