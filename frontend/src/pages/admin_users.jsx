// pages/admin_users.jsx: the admin's user list: add, edit (role, disabled, name), reset password, printer access.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Dialog, ErrorNote, Loading, useAsync } from '../ui.jsx';
import * as fmt from '../format.js';

function Password({ who, password }) {
	return (
		<div class="secret" role="status">
			<p>The password of <strong>{who}</strong> is shown only now; pass it on safely:</p>
			<p><code class="big">{password}</code></p>
		</div>
	);
}

function AddUser({ onDone }) {
	const [error, setError] = useState(null);
	const [made, setMade] = useState(null);
	const [busy, setBusy] = useState(false);
	const submit = async (e) => {
		e.preventDefault();
		const form = e.currentTarget;
		const f = new FormData(form);
		const body = { username: f.get('username').trim(), role: f.get('role') };
		if (f.get('display_name').trim())
			body.display_name = f.get('display_name').trim();
		setBusy(true);
		setError(null);
		try {
			const u = await api('POST', '/users', body);
			setMade(u);
			form.reset();
			onDone();
		} catch (err) {
			setError(err);
		}
		setBusy(false);
	};
	return (
		<form class="inline-form" onSubmit={submit} aria-labelledby="add-user-h">
			<h3 id="add-user-h">Add a user</h3>
			<div class="field"><label for="nu-name">Username</label>
				<input id="nu-name" name="username" required maxLength={64} autocapitalize="none" autocomplete="off" /></div>
			<div class="field"><label for="nu-display">Display name</label>
				<input id="nu-display" name="display_name" maxLength={128} autocomplete="off" /></div>
			<div class="field"><label for="nu-role">Role</label>
				<select id="nu-role" name="role"><option value="member">member</option><option value="admin">admin</option></select></div>
			<button type="submit" disabled={busy}>Add user</button>
			<ErrorNote error={error} />
			{made && made.password ? <Password who={made.username} password={made.password} /> : null}
		</form>
	);
}

function EditUser({ u, me, printers, onClose, onDone }) {
	const [error, setError] = useState(null);
	const [note, setNote] = useState(null);
	const [pw, setPw] = useState(null);
	const [busy, setBusy] = useState(false);
	const access = new Map((u.printers || []).map((a) => [a.printer_id, a.access]));
	const run = async (fn, done) => {
		setBusy(true);
		setError(null);
		setNote(null);
		try {
			await fn();
			if (done)
				setNote(done);
			onDone();
		} catch (err) {
			setError(err);
		}
		setBusy(false);
	};
	const save = (e) => {
		e.preventDefault();
		const f = new FormData(e.currentTarget);
		const body = { display_name: f.get('display_name').trim() || null, role: f.get('role'),
			disabled: f.get('disabled') === 'on' };
		run(() => api('PATCH', `/users/${u.id}`, body), 'Saved.');
	};
	const setAccess = (pid, level) => run(() => level ?
		api('PUT', `/users/${u.id}/printers/${pid}`, { access: level }) :
		api('DELETE', `/users/${u.id}/printers/${pid}`), 'Access changed.');
	const resetPassword = () => run(async () => {
		const r = await api('POST', `/users/${u.id}/password`, {});
		setPw(r.password);
	}, null);
	const self = u.id === me.id;
	return (
		<Dialog title={`User ${u.username}`} onClose={onClose} wide>
			<form onSubmit={save}>
				<div class="field"><label for="eu-display">Display name</label>
					<input id="eu-display" name="display_name" defaultValue={u.display_name || ''} maxLength={128} /></div>
				<div class="field"><label for="eu-role">Role</label>
					<select id="eu-role" name="role" defaultValue={u.role} disabled={self}>
						<option value="member">member</option><option value="admin">admin</option></select></div>
				<div class="check"><input id="eu-disabled" name="disabled" type="checkbox" defaultChecked={u.disabled}
					disabled={self} /><label for="eu-disabled">Disabled (cannot log in; sessions end)</label></div>
				{self ? <p class="hint">You cannot demote or disable yourself.</p> : null}
				<button type="submit" disabled={busy}>Save user</button>
			</form>
			{u.role !== 'admin' ? (
				<>
					<h3>Printer access</h3>
					{!printers.length ? <p class="muted">No printers yet.</p> : null}
					<ul class="plain">
						{printers.map((p) => (
							<li key={p.id} class="field row">
								<label for={`acc-${p.id}`} class="grow">{p.name}</label>
								<select id={`acc-${p.id}`} value={access.get(p.id) || ''} disabled={busy}
									onChange={(e) => setAccess(p.id, e.currentTarget.value)}>
									<option value="">no access</option>
									<option value="viewer">viewer (may look)</option>
									<option value="operator">operator (may map trays)</option>
								</select>
							</li>
						))}
					</ul>
				</>
			) : <p class="muted">Admins see and change every printer.</p>}
			<h3>Password</h3>
			<button type="button" disabled={busy} onClick={resetPassword}>Set a new random password</button>
			{pw ? <Password who={u.username} password={pw} /> : null}
			<p role="status" class="ok-note">{note || ''}</p>
			<ErrorNote error={error} />
		</Dialog>
	);
}

/** UsersSection: GET /api/v1/users with add and edit. */
export function UsersSection({ me }) {
	const users = useAsync((signal) => api('GET', '/users', undefined, { signal }), []);
	const printers = useAsync((signal) => api('GET', '/printers', undefined, { signal }), []);
	const [editing, setEditing] = useState(null);
	const pname = new Map((printers.data || []).map((p) => [p.id, p.name]));
	const list = users.data || [];
	const current = editing !== null ? list.find((u) => u.id === editing) : null;
	return (
		<section id="users" class="card" aria-labelledby="users-h">
			<h2 id="users-h">Users</h2>
			<ErrorNote error={users.error} />
			{users.loading && !users.data ? <Loading what="users" /> : null}
			<div class="table-wrap">
				<table class="stack">
					<thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Printers</th>
						<th scope="col">Last login</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
					<tbody>
						{list.map((u) => (
							<tr key={u.id} class={u.disabled ? 'muted' : ''}>
								<td data-label="User">{u.username}{u.display_name ? <span class="muted"> ({u.display_name})</span> : null}
									{u.disabled ? ' · disabled' : ''}</td>
								<td data-label="Role">{u.role}</td>
								<td data-label="Printers">{u.role === 'admin' ? 'all' : (u.printers || []).map((a) =>
									`${pname.get(a.printer_id) || '#' + a.printer_id} (${a.access})`).join(', ') || 'none'}</td>
								<td data-label="Last login">{fmt.dateTime(u.last_login_at)}</td>
								<td class="actions"><button type="button" class="small" onClick={() => setEditing(u.id)}
									aria-label={`Edit user ${u.username}`}>Edit</button></td>
							</tr>
						))}
					</tbody>
				</table>
			</div>
			<AddUser onDone={users.reload} />
			{current ? <EditUser u={current} me={me} printers={printers.data || []} onClose={() => setEditing(null)}
				onDone={users.reload} /> : null}
		</section>
	);
}
