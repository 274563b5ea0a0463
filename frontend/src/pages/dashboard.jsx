// pages/dashboard.jsx: a live card per printer (state, progress, trays as colour chips, warnings), polled every 4 s.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { usePoll } from '../poll.js';
import { ErrorNote, Chip, Link, Loading, useTitle } from '../ui.jsx';
import * as fmt from '../format.js';
import { trayLabel, unitLabel, spoolName, isLow, tagState, tagWords, materialMismatch } from '../trays.js';
import { forecastLines } from '../forecast.js';
import { printerProblem, spoolmanBanner } from '../problems.js';
import { TrayDialog } from './tray.jsx';

const POLL_MS = 4000;

function trayName(label, t) {
	const parts = [label];
	parts.push(t.type || (t.loaded === false ? 'empty' : 'material unknown'));
	parts.push(t.spool ? spoolName(t.spool) : 'no spool mapped');
	if (t.spool && typeof t.spool.remaining_weight === 'number')
		parts.push(fmt.grams(t.spool.remaining_weight) + ' left');
	if (isLow(t.spool))
		parts.push('low');
	if (t.spool && materialMismatch(t.type, t.spool.material))
		parts.push(`material mismatch: spool is ${t.spool.material}`);
	if (t.tag)
		parts.push(tagWords(t));
	return parts.join(', ');
}

function Tray({ printer, unit, t, onOpen }) {
	const label = trayLabel(unit.kind, unit.unit, t.tray);
	const feeding = printer.tray_now === t.tray;
	const missing = t.loaded === true && !t.spool;
	const tag = tagState(t);
	const mismatch = !!t.spool && !!materialMismatch(t.type, t.spool.material);
	return (
		<li>
			<button type="button" class={'tray' + (feeding ? ' feeding' : '') +
				(missing || isLow(t.spool) || mismatch || tag === 'conflict' ? ' warn' : '')}
				aria-label={trayName(label, t)} data-tray={`${printer.id}:${t.tray}`}
				onClick={() => onOpen(printer, t.tray, label)}>
				<Chip color={t.color || (t.spool && t.spool.color_hex)} size="big" />
				<span class="tray-text">
					<span class="tray-label">{unit.kind === 'ams' ? label.replace(/^AMS \d+ /, '') : ''}
						{feeding ? (unit.kind === 'ams' ? ' · feeding' : 'feeding') : ''}</span>
					<span class="tray-material">{t.type || (t.loaded === false ? 'Empty' : '?')}</span>
					<span class="tray-spool">{t.spool ? spoolName(t.spool) : 'No spool'}</span>
					<span class="tray-grams">
						{t.spool ? fmt.grams(t.spool.remaining_weight) : ''}
						{t.remain !== null && t.remain !== undefined ? ` (${t.remain} %)` : ''}
					</span>
					{mismatch ? <span class="tray-tag tag-conflict">⚠ Not {t.type}: {t.spool.material}</span> : null}
					{tag ? <span class={'tray-tag tag-' + tag}>{tag === 'conflict' ? '⚠ Tag conflict' :
						tagWords(t).replace(/^./, (c) => c.toUpperCase())}</span> : null}
				</span>
			</button>
		</li>
	);
}

function Warnings({ p, user }) {
	const w = [];
	const missing = [];
	for (const u of p.units || [])
		for (const t of u.trays) {
			const label = trayLabel(u.kind, u.unit, t.tray);
			const mismatch = t.spool ? materialMismatch(t.type, t.spool.material) : null;
			if (t.loaded === true && !t.spool)
				missing.push(`${label} (${t.type || 'unknown material'})`);
			else if (isLow(t.spool))
				w.push(<li key={'l' + t.tray}>Spool low in {label}: {spoolName(t.spool)} has {fmt.grams(t.spool.remaining_weight)} left</li>);
			if (mismatch)
				w.push(<li key={'x' + t.tray}>{label}: {mismatch}</li>);
		}
	// A loaded tray without a spool: its filament is charged to no spool.  Many of them make one line.
	if (missing.length === 1)
		w.unshift(<li key="m">No spool mapped in {missing[0]}: its use is not charged to a spool</li>);
	else if (missing.length > 1)
		w.unshift(<li key="m">No spool mapped in {missing.length} loaded trays: {missing.join(', ')}</li>);
	if (p.needs_review > 0)
		w.push(<li key="r">{p.needs_review} Spoolman {p.needs_review === 1 ? 'update needs' : 'updates need'} review
			{user.role === 'admin' ? <> (<Link href="/admin#outbox">outbox</Link>)</> : null}</li>);
	if (p.print_error)
		w.push(<li key="e">The printer reports error {p.print_error}</li>);
	for (const u of p.units || [])
		for (const t of u.trays)
			if (tagState(t) === 'conflict')
				w.push(<li key={'c' + t.tray}>RFID {tagWords(t)} ({trayLabel(u.kind, u.unit, t.tray)}): open the tray
					to see what to do</li>);
	// The runout forecast of the print in progress (docs/smart-trays.md): a line per spool that will run out.
	for (const f of forecastLines(p.forecast, spoolNames(p)).runsOut)
		w.push(<li key={'f' + f.key} class="runout">{f.text}</li>);
	if (!w.length)
		return null;
	return <ul class="warnings" aria-label={`Warnings for ${p.name}`}>{w}</ul>;
}

/** The names of the spools in a printer's trays, by spool id (the forecast gives only ids). */
function spoolNames(p) {
	const names = new Map();
	for (const u of p.units || [])
		for (const t of u.trays)
			if (t.spool && t.spool.name)
				names.set(t.spool.id, t.spool.name);
	return names;
}

/** The forecast entries that cannot be computed: quiet, below the warnings; nothing when the print is ok. */
function ForecastUnknown({ p }) {
	const lines = forecastLines(p.forecast, spoolNames(p)).unknown;
	if (!lines.length)
		return null;
	return <ul class="forecast-unknown muted small" aria-label={`Runout forecast of ${p.name}`}>
		{lines.map((l) => <li key={l.key}>{l.text}</li>)}</ul>;
}

function connection(p) {
	if (!p.enabled)
		return { cls: 'off', text: 'Disabled' };
	if (p.stale)
		return { cls: 'stale', text: `No report from the worker (last ${fmt.ago(p.updated_at)})` };
	if (!p.connected)
		return { cls: 'off', text: 'Not connected to the printer' };
	return { cls: 'ok', text: 'Connected' };
}

/** Why the printer is not connected, in plain words, and what to do (the worker's connection_error). */
function ConnProblem({ p }) {
	const x = printerProblem(p);
	if (!x)
		return null;
	return <p class={'conn-problem conn-problem-' + x.kind} role="status">{x.text} {x.advice}</p>;
}

function PrinterCard({ p, user, onOpen }) {
	const c = connection(p);
	const pct = typeof p.percent === 'number' ? Math.max(0, Math.min(100, p.percent)) : 0;
	const job = p.job;
	return (
		<article class={'card printer' + (p.stale ? ' is-stale' : '')} aria-label={p.name}>
			<div class="printer-head">
				<h2>{p.name}</h2>
				{p.model ? <span class="muted">{p.model}</span> : null}
				<span class={'conn conn-' + c.cls}>{c.text}</span>
			</div>
			<ConnProblem p={p} />
			<p class="state"><span class={'badge state-' + (p.state || 'UNKNOWN').toLowerCase()}
				data-state={p.state || ''}>{fmt.printerState(p.state)}</span>
				{job || p.subtask_name ? <span class="job-name">{(job && job.name) || p.subtask_name}</span> : null}
			</p>
			<div class="progress" role="progressbar" aria-label={`Progress of ${p.name}`} aria-valuemin="0"
				aria-valuemax="100" aria-valuenow={pct} aria-valuetext={`${pct} %`}>
				<div class="progress-bar" style={{ width: pct + '%' }} />
			</div>
			<p class="stats">
				<span>{pct} %</span>
				<span>Layer {p.layer ?? '–'} / {p.total_layers ?? '–'}</span>
				<span>{p.remaining_min ? fmt.minutes(p.remaining_min) + ' left' : ''}</span>
			</p>
			{job ? <p class="muted small">Started {fmt.dateTime(job.started_at)}
				{job.user ? ` by ${job.user}` : ''}; charged to Spoolman up to layer {job.checkpoint_layer ?? '–'}.
				{' '}<Link href={`/prints/${job.id}`}>Print details</Link></p> : null}
			<Warnings p={p} user={user} />
			<ForecastUnknown p={p} />
			{(p.units || []).map((u) => (
				<section class="unit" key={u.unit} aria-label={unitLabel(u)}>
					<h3>{unitLabel(u)}</h3>
					<ul class="trays">
						{u.trays.map((t) => <Tray key={t.tray} printer={p} unit={u} t={t} onOpen={onOpen} />)}
					</ul>
				</section>
			))}
			{!(p.units || []).length ? <p class="muted">No trays reported yet.</p> : null}
		</article>
	);
}

/** The spool of a printer's tray in the last poll (null when gone). */
function liveSpool(data, printerId, tray) {
	const p = data && data.printers.find((x) => x.id === printerId);
	for (const u of (p && p.units) || [])
		for (const t of u.trays)
			if (t.tray === tray)
				return t.spool || null;
	return null;
}

/** DashboardPage: every printer the user may see, live. */
export function DashboardPage({ user }) {
	useTitle('Dashboard');
	const poll = usePoll((signal) => api('GET', '/status', undefined, { signal }), POLL_MS);
	const [open, setOpen] = useState(null);
	const data = poll.data;
	return (
		<section>
			<div class="page-head">
				<h1>Dashboard</h1>
				<p class="muted small" aria-live="off">{poll.at ? `Updated ${poll.at.toLocaleTimeString()}` : ''}</p>
			</div>
			{poll.error ? <ErrorNote error={poll.error}>Could not refresh: </ErrorNote> : null}
			{data && spoolmanBanner(data.spoolman) ?
				<p class="banner banner-spoolman" role="alert">{spoolmanBanner(data.spoolman)}</p> : null}
			{!data && !poll.error ? <Loading what="printers" /> : null}
			{data && !data.printers.length ?
				<p>No printers yet. {user.role === 'admin' ? <Link href="/admin#printers">Add one</Link> :
					'Ask an admin to give you access to a printer.'}</p> : null}
			<div class="cards">
				{data && data.printers.map((p) => (
					<PrinterCard key={p.id} p={p} user={user}
						onOpen={(printer, tray, label) => setOpen({ printer, tray, label })} />
				))}
			</div>
			{open ? <TrayDialog printer={open.printer} tray={open.tray} label={open.label}
				live={liveSpool(data, open.printer.id, open.tray)}
				onClose={() => setOpen(null)} onChanged={poll.refresh} /> : null}
		</section>
	);
}
