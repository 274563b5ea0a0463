// pages/admin_rfid.jsx: the RFID and location settings (tag field, storage location, auto-create) in the settings.
import { api } from '../api.js';
import { ErrorNote, Loading, formKey, useAction } from '../ui.jsx';

/** savedText(r): what the server saved (its answer to PUT /settings), in a sentence or two. */
function savedText(r) {
	let m = `Saved. Tags are read from the spool field "${r.rfid_field}"; a spool taken out of a tray gets ` +
		(r.storage_location ? `the location "${r.storage_location}".` : 'no location (it is cleared).');
	m += r.rfid_autocreate ? ' A tag no spool carries becomes a new Spoolman spool.' :
		' A tag no spool carries waits to be linked by hand.';
	if (r.spoolman && !r.spoolman.ok)
		m += ` Spoolman does not answer right now (${r.spoolman.detail || r.spoolman.error}).`;
	return m;
}

/** RfidSection: the rfid_field, storage_location and rfid_autocreate fields of the settings; settings: AdminPage's. */
export function RfidSection({ settings }) {
	const act = useAction();
	const s = settings.data;
	const save = async (e) => {
		e.preventDefault();
		const f = new FormData(e.currentTarget);
		const body = { rfid_field: f.get('field').trim(), storage_location: f.get('location').trim(),
			rfid_autocreate: f.get('autocreate') === 'on' };
		act.run(async () => {
			const r = await api('PUT', '/settings', body);
			settings.reload();
			return savedText(r);
		});
	};
	return (
		<section id="rfid" class="card" aria-labelledby="rfid-h">
			<h2 id="rfid-h">RFID and locations</h2>
			<ErrorNote error={settings.error} />
			{!s && settings.loading ? <Loading what="settings" /> : null}
			{s && s.rfid_field === undefined ? <p class="muted">This server does not offer these settings yet.</p> : null}
			{s && s.rfid_field !== undefined ? (
				<form onSubmit={save} key={formKey(s.rfid_field, s.storage_location, s.rfid_autocreate)}>
					<div class="field"><label for="rf-field">Spoolman field for the tag</label>
						<input id="rf-field" name="field" defaultValue={s.rfid_field || ''} placeholder="tag"
							maxLength={64} pattern="[a-z0-9_]{1,64}" spellcheck={false} autocomplete="off"
							aria-describedby="rf-field-hint" />
						<p id="rf-field-hint" class="hint">The key of the spool extra field that holds a spool's RFID tag
							(a-z, 0-9 and _; empty: "tag"). Created in Spoolman when missing.</p></div>
					<div class="field"><label for="rf-location">Storage location</label>
						<input id="rf-location" name="location" defaultValue={s.storage_location || ''}
							placeholder="Shelf" maxLength={64} aria-describedby="rf-location-hint" />
						<p id="rf-location-hint" class="hint">The Spoolman location of a spool taken out of a tray
							(empty: the location is cleared). In a tray it is "printer / AMS n / Slot m".</p></div>
					<div class="check"><input id="rf-autocreate" name="autocreate" type="checkbox"
						defaultChecked={!!s.rfid_autocreate} aria-describedby="rf-autocreate-hint" />
						<label for="rf-autocreate">Create a spool in Spoolman for an unknown tag</label></div>
					<p id="rf-autocreate-hint" class="hint">From what the AMS reads (material, colour, weight, name);
						off: the tray shows "tag not linked" until someone links the tag to a spool.</p>
					<div class="row"><button type="submit" disabled={act.busy}>Save RFID settings</button></div>
					<p class="ok-note" role="status">{act.result || ''}</p>
				</form>
			) : null}
			<ErrorNote error={act.error} />
		</section>
	);
}
