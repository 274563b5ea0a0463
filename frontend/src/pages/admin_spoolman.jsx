// pages/admin_spoolman.jsx: where Spoolman is (URL, proxy login; the password write-only) and a connection check.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Loading, formKey, useAction } from '../ui.jsx';
import * as fmt from '../format.js';

function CheckResult({ check }) {
	if (!check)
		return null;
	if (check.ok)
		return <p class="ok-note" role="status">Spoolman {check.version} answers at {check.url}.</p>;
	return <p class="error" role="alert">Spoolman check failed ({check.error}): {check.detail}</p>;
}

/** SpoolmanSection: PUT /api/v1/settings and POST /api/v1/settings/check; settings: AdminPage's GET /settings. */
export function SpoolmanSection({ settings }) {
	const act = useAction();	/* its result: the Spoolman check of a save or of "Check connection" */
	const [saves, setSaves] = useState(0);	/* each save empties the write-only password field */
	const s = settings.data;
	const save = async (e) => {
		e.preventDefault();
		const f = new FormData(e.currentTarget);
		const body = { spoolman_url: f.get('url').trim(), spoolman_user: f.get('user').trim() };
		if (f.get('clear_password') === 'on')
			body.spoolman_password = null;
		else if (f.get('password'))
			body.spoolman_password = f.get('password');
		act.run(async () => {
			const r = await api('PUT', '/settings', body);
			setSaves((n) => n + 1);
			settings.reload();
			return r.spoolman;
		});
	};
	const runCheck = () => act.run(async () => (await api('POST', '/settings/check', {})).spoolman);
	return (
		<section id="spoolman" class="card" aria-labelledby="spoolman-h">
			<h2 id="spoolman-h">Spoolman</h2>
			<ErrorNote error={settings.error} />
			{!s && settings.loading ? <Loading what="settings" /> : null}
			{s ? (
				<form onSubmit={save} key={formKey(s.spoolman_url, s.spoolman_user, s.spoolman_password_set)}>
					<div class="field"><label for="sm-url">Spoolman URL</label>
						<input id="sm-url" name="url" type="url" defaultValue={s.spoolman_url || ''}
							placeholder="http://spoolman.lan:7912" maxLength={2048} spellcheck={false}
							aria-describedby="sm-url-hint" />
						<p id="sm-url-hint" class="hint">Empty: no Spoolman (nothing is sent).</p></div>
					<div class="field"><label for="sm-user">Proxy user</label>
						<input id="sm-user" name="user" defaultValue={s.spoolman_user || ''} autocomplete="off"
							aria-describedby="sm-user-hint" />
						<p id="sm-user-hint" class="hint">Only for a reverse proxy with a login in front of Spoolman.</p></div>
					<div class="field"><label for="sm-password">Proxy password</label>
						<input key={saves} id="sm-password" name="password" type="password" autocomplete="new-password"
							aria-describedby="sm-password-hint" />
						<p id="sm-password-hint" class="hint">{s.spoolman_password_set ?
							'A password is stored (encrypted, never shown). Leave empty to keep it.' : 'None stored.'}</p></div>
					{s.spoolman_password_set ? <div class="check"><input id="sm-clear" name="clear_password"
						type="checkbox" /><label for="sm-clear">Remove the stored password</label></div> : null}
					<div class="row">
						<button type="submit" disabled={act.busy}>Save settings</button>
						<button type="button" disabled={act.busy} onClick={runCheck}>Check connection</button>
					</div>
					<p class="muted small">Last changed {fmt.dateTime(s.updated_at)}.</p>
				</form>
			) : null}
			<ErrorNote error={act.error} />
			<CheckResult check={act.result} />
		</section>
	);
}
