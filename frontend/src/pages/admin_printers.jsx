// pages/admin_printers.jsx: the admin's printer list: add, edit (the access code is write-only), delete.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Dialog, ErrorNote, Loading, useAsync } from '../ui.jsx';

function intOrNull(v) {
	return v === '' || v === null ? null : Number(v);
}

function PrinterForm({ p, users, onClose, onDone }) {
	const isNew = !p;
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const submit = async (e) => {
		e.preventDefault();
		const f = new FormData(e.currentTarget);
		const body = {
			name: f.get('name').trim(), host: f.get('host').trim(), serial: f.get('serial').trim(),
			model: f.get('model').trim() || null,
			mqtt_port: intOrNull(f.get('mqtt_port')) ?? 8883, ftps_port: intOrNull(f.get('ftps_port')) ?? 990,
			insecure_tls: f.get('insecure_tls') === 'on', enabled: f.get('enabled') === 'on',
			owner_id: intOrNull(f.get('owner_id')),
		};
		const code = f.get('access_code');
		if (code)
			body.access_code = code;
		if (isNew && body.model === null)
			delete body.model;
		setBusy(true);
		setError(null);
		try {
			await api(isNew ? 'POST' : 'PATCH', isNew ? '/printers' : `/printers/${p.id}`, body);
			onDone();
			onClose();
		} catch (err) {
			setError(err);
			setBusy(false);
		}
	};
	const remove = async () => {
		if (!window.confirm(`Delete the printer ${p.name}? Its trays and access rights go too.`))
			return;
		setBusy(true);
		setError(null);
		try {
			await api('DELETE', `/printers/${p.id}`);
			onDone();
			onClose();
		} catch (err) {
			setError(err);
			setBusy(false);
		}
	};
	const v = p || { mqtt_port: 8883, ftps_port: 990, enabled: true, insecure_tls: false };
	return (
		<Dialog title={isNew ? 'Add a printer' : `Printer ${p.name}`} onClose={onClose} wide>
			<form onSubmit={submit} class="grid-form">
				<div class="field"><label for="pf-name">Name</label>
					<input id="pf-name" name="name" required maxLength={64} defaultValue={v.name || ''} /></div>
				<div class="field"><label for="pf-host">Host</label>
					<input id="pf-host" name="host" required maxLength={253} defaultValue={v.host || ''}
						placeholder="192.168.1.50" autocapitalize="none" spellcheck={false} /></div>
				<div class="field"><label for="pf-serial">Serial</label>
					<input id="pf-serial" name="serial" required maxLength={64} pattern="[A-Za-z0-9]+"
						defaultValue={v.serial || ''} autocapitalize="characters" spellcheck={false} /></div>
				<div class="field"><label for="pf-code">Access code</label>
					<input id="pf-code" name="access_code" type="password" autocomplete="new-password" maxLength={256}
						required={isNew} aria-describedby="pf-code-hint" />
					<p id="pf-code-hint" class="hint">{isNew ? 'From the printer\'s screen (LAN mode).' :
						p.access_code_set ? 'Stored encrypted and never shown. Leave empty to keep it.' :
							'No code stored yet.'}</p></div>
				<div class="field"><label for="pf-model">Model</label>
					<input id="pf-model" name="model" maxLength={64} defaultValue={v.model || ''} placeholder="X1C" /></div>
				<div class="field"><label for="pf-owner">Owner of new prints</label>
					<select id="pf-owner" name="owner_id" defaultValue={v.owner_id ? String(v.owner_id) : ''}>
						<option value="">nobody</option>
						{users.map((u) => <option key={u.id} value={String(u.id)}>{u.username}</option>)}
					</select></div>
				<div class="field"><label for="pf-mqtt">MQTT port</label>
					<input id="pf-mqtt" name="mqtt_port" type="number" min={1} max={65535} defaultValue={v.mqtt_port} /></div>
				<div class="field"><label for="pf-ftps">FTPS port</label>
					<input id="pf-ftps" name="ftps_port" type="number" min={1} max={65535} defaultValue={v.ftps_port} /></div>
				<div class="check"><input id="pf-enabled" name="enabled" type="checkbox" defaultChecked={v.enabled} />
					<label for="pf-enabled">Enabled (the worker follows it)</label></div>
				<div class="check"><input id="pf-insecure" name="insecure_tls" type="checkbox"
					defaultChecked={v.insecure_tls} /><label for="pf-insecure">Accept any TLS certificate
					(insecure)</label></div>
				<ErrorNote error={error} />
				<div class="row">
					<button type="submit" disabled={busy}>{isNew ? 'Add printer' : 'Save printer'}</button>
					{!isNew ? <button type="button" class="danger" disabled={busy} onClick={remove}>Delete printer</button> : null}
				</div>
			</form>
		</Dialog>
	);
}

/** PrintersSection: GET /api/v1/printers with add, edit and delete. */
export function PrintersSection() {
	const printers = useAsync((signal) => api('GET', '/printers', undefined, { signal }), []);
	const users = useAsync((signal) => api('GET', '/users', undefined, { signal }), []);
	const [editing, setEditing] = useState(null);	// null, 'new' or a printer id
	const list = printers.data || [];
	const current = typeof editing === 'number' ? list.find((p) => p.id === editing) : null;
	return (
		<section id="printers" class="card" aria-labelledby="printers-h">
			<h2 id="printers-h">Printers</h2>
			<ErrorNote error={printers.error} />
			{printers.loading && !printers.data ? <Loading what="printers" /> : null}
			<div class="table-wrap">
				<table class="stack">
					<thead><tr><th scope="col">Name</th><th scope="col">Host</th><th scope="col">Serial</th>
						<th scope="col">Model</th><th scope="col">Owner</th><th scope="col">State</th>
						<th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
					<tbody>
						{list.map((p) => (
							<tr key={p.id}>
								<td data-label="Name">{p.name}</td><td data-label="Host">{p.host}</td>
								<td data-label="Serial">{p.serial}</td><td data-label="Model">{p.model || '–'}</td>
								<td data-label="Owner">{p.owner || '–'}</td>
								<td data-label="State">{p.enabled ? 'enabled' : 'disabled'}{p.access_code_set ? '' : ', no access code'}
									{p.insecure_tls ? ', insecure TLS' : ''}</td>
								<td class="actions"><button type="button" class="small" onClick={() => setEditing(p.id)}
									aria-label={`Edit printer ${p.name}`}>Edit</button></td>
							</tr>
						))}
					</tbody>
				</table>
			</div>
			<button type="button" onClick={() => setEditing('new')}>Add a printer</button>
			{editing === 'new' || current ? <PrinterForm p={current} users={users.data || []}
				onClose={() => setEditing(null)} onDone={printers.reload} /> : null}
		</section>
	);
}
