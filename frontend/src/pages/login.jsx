// pages/login.jsx: the log-in page and the first-run setup page (one-time token, first admin).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Link, useTitle } from '../ui.jsx';

function errorText(e) {
	if (e.error === 'invalid_login')
		return 'Wrong user name or password.';
	if (e.error === 'too_many_attempts' || e.error === 'rate_limited')
		return 'Too many attempts: wait a few minutes and try again.';
	return e.detail;
}

/** LoginPage: "Username", "Password", "Log in"; onDone(user) with the logged-in user (and its csrf_token). */
export function LoginPage({ onDone, setupNeeded }) {
	useTitle('Log in');
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState(null);
	const submit = async (e) => {
		e.preventDefault();
		const f = new FormData(e.currentTarget);
		setBusy(true);
		setError(null);
		try {
			onDone(await api('POST', '/session', { username: f.get('username'), password: f.get('password') }));
		} catch (err) {
			setError(errorText(err));
			setBusy(false);
		}
	};
	return (
		<section class="card auth">
			<h1>Log in to Spoolkeeper</h1>
			<form onSubmit={submit}>
				<label for="login-user">Username</label>
				<input id="login-user" name="username" autocomplete="username" autocapitalize="none" required
					autofocus />
				<label for="login-password">Password</label>
				<input id="login-password" name="password" type="password" autocomplete="current-password"
					required />
				<ErrorNote>{error}</ErrorNote>
				<button type="submit" disabled={busy}>Log in</button>
			</form>
			{setupNeeded ? <p>First time here? <Link href="/setup">Set up the first admin</Link>.</p> : null}
		</section>
	);
}

/** SetupPage: "Setup token", "Username", "Password", "Create admin"; onDone(user) once the admin exists. */
export function SetupPage({ onDone }) {
	useTitle('Setup');
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState(null);
	const submit = async (e) => {
		e.preventDefault();
		const f = new FormData(e.currentTarget);
		const body = { token: f.get('token').trim(), username: f.get('username'), password: f.get('password') };
		if (f.get('display_name'))
			body.display_name = f.get('display_name');
		setBusy(true);
		setError(null);
		try {
			onDone(await api('POST', '/setup', body));
		} catch (err) {
			setError(err.error === 'invalid_token' ?
				'This setup token is not valid: it was used, it expired, or an admin exists already. ' +
				'Print a new one with: spoolkeeper setup-token' : err.detail);
			setBusy(false);
		}
	};
	return (
		<section class="card auth">
			<h1>Set up Spoolkeeper</h1>
			<p>Create the first admin with the one-time token that <code>make run</code> or
				<code> spoolkeeper setup-token</code> printed.</p>
			<form onSubmit={submit}>
				<label for="setup-token">Setup token</label>
				<input id="setup-token" name="token" autocomplete="off" autocapitalize="none" spellcheck={false}
					required autofocus />
				<label for="setup-user">Username</label>
				<input id="setup-user" name="username" autocomplete="username" autocapitalize="none" required />
				<label for="setup-display">Display name <span class="muted">(optional)</span></label>
				<input id="setup-display" name="display_name" autocomplete="name" />
				<label for="setup-password">Password</label>
				<input id="setup-password" name="password" type="password" autocomplete="new-password" minLength={8}
					required aria-describedby="setup-password-hint" />
				<p id="setup-password-hint" class="hint">At least 8 characters; not your user name.</p>
				<ErrorNote>{error}</ErrorNote>
				<button type="submit" disabled={busy}>Create admin</button>
			</form>
			<p><Link href="/login">Log in instead</Link></p>
		</section>
	);
}
