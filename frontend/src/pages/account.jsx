// pages/account.jsx: the logged-in user's own account: who they are and a password change (POST /me/password).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Dialog, ErrorNote } from '../ui.jsx';

/** AccountDialog: onChanged(user) with the answer (a new session and CSRF token) after a password change. */
export function AccountDialog({ user, onClose, onChanged }) {
	const [error, setError] = useState(null);
	const [done, setDone] = useState(false);
	const [busy, setBusy] = useState(false);
	const submit = async (e) => {
		e.preventDefault();
		const form = e.currentTarget;
		const f = new FormData(form);
		if (f.get('new_password') !== f.get('repeat')) {
			setError(new Error('The two new passwords differ.'));
			return;
		}
		setBusy(true);
		setError(null);
		try {
			const u = await api('POST', '/me/password', { current_password: f.get('current_password'),
				new_password: f.get('new_password') });
			form.reset();
			setDone(true);
			onChanged(u);
		} catch (err) {
			setError(err);
		}
		setBusy(false);
	};
	return (
		<Dialog title="Your account" onClose={onClose}>
			<dl class="facts">
				<dt>User</dt><dd>{user.username}</dd>
				{user.display_name ? <><dt>Name</dt><dd>{user.display_name}</dd></> : null}
				<dt>Role</dt><dd>{user.role}</dd>
			</dl>
			<form onSubmit={submit}>
				<h3>Change your password</h3>
				<div class="field"><label for="acct-current">Current password</label>
					<input id="acct-current" name="current_password" type="password" autocomplete="current-password"
						required /></div>
				<div class="field"><label for="acct-new">New password</label>
					<input id="acct-new" name="new_password" type="password" autocomplete="new-password" minLength={8}
						required aria-describedby="acct-hint" /></div>
				<div class="field"><label for="acct-repeat">New password again</label>
					<input id="acct-repeat" name="repeat" type="password" autocomplete="new-password" minLength={8}
						required /></div>
				<p id="acct-hint" class="hint">At least 8 characters; not your user name. Your other sessions end.</p>
				<ErrorNote error={error} />
				<p role="status" class="ok-note">{done ? 'Password changed; your other sessions have ended.' : ''}</p>
				<button type="submit" disabled={busy}>Change password</button>
			</form>
		</Dialog>
	);
}
