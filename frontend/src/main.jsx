// main.jsx: the app's entry: session state, the layout with its navigation, the page routes, the service worker.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { api, setCsrf, setUnauthorizedHandler } from './api.js';
import { match, navigate, useLocation } from './router.js';
import { ErrorNote, Link, Loading } from './ui.jsx';
import { LoginPage, SetupPage } from './pages/login.jsx';
import { DashboardPage } from './pages/dashboard.jsx';
import { HistoryPage } from './pages/history.jsx';
import { PrintPage } from './pages/print.jsx';
import { UsagePage } from './pages/usage.jsx';
import { AdminPage } from './pages/admin.jsx';
import { AccountDialog } from './pages/account.jsx';

const PAGES = [
	{ path: '/', page: DashboardPage },
	{ path: '/history', page: HistoryPage },
	{ path: '/prints/:id', page: PrintPage },
	{ path: '/usage', page: UsagePage },
	{ path: '/admin', page: AdminPage, admin: true },
];

function Redirect({ to }) {
	useEffect(() => navigate(to, true), [to]);
	return null;
}

function NotFound() {
	return (
		<section>
			<h1>Page not found</h1>
			<p>There is no page at this address. <Link href="/">Go to the dashboard</Link>.</p>
		</section>
	);
}

function Nav({ user, path, onLogout, onUser }) {
	const [account, setAccount] = useState(false);
	const items = [['/', 'Dashboard'], ['/history', 'History'], ['/usage', 'Usage']];
	if (user.role === 'admin')
		items.push(['/admin', 'Admin']);
	const active = (href) => href === '/' ? path === '/' : path === href || path.startsWith(href + '/') ||
		(href === '/history' && path.startsWith('/prints/'));
	return (
		<header class="top">
			<a class="skip" href="#main">Skip to content</a>
			<span class="brand" aria-hidden="true"><img src="/icons/icon.svg" alt="" width="28" height="28" />
				Spoolkeeper</span>
			<nav aria-label="Main">
				<ul>
					{items.map(([href, label]) => (
						<li key={href}>
							<Link href={href} aria-current={active(href) ? 'page' : undefined}>{label}</Link>
						</li>
					))}
				</ul>
			</nav>
			<button type="button" class="who link" onClick={() => setAccount(true)}
				aria-label={`Account of ${user.username}`}>{user.display_name || user.username}</button>
			<button type="button" class="ghost" onClick={onLogout}>Log out</button>
			{account ? <AccountDialog user={user} onClose={() => setAccount(false)} onChanged={onUser} /> : null}
		</header>
	);
}

function App() {
	const loc = useLocation();
	const [session, setSession] = useState({ state: 'loading', user: null, setup: false, error: null });
	const mainRef = useRef(null);

	const boot = async () => {
		try {
			const me = await api('GET', '/me');
			setCsrf(me.csrf_token);
			setSession({ state: 'in', user: me, setup: false, error: null });
		} catch (e) {
			if (e.status !== 401) {
				setSession({ state: 'error', user: null, setup: false, error: e });
				return;
			}
			let setup = false;
			try {
				setup = (await api('GET', '/setup')).needed === true;
			} catch (e2) {
				/* the login page says what is wrong when it is tried */
			}
			setSession({ state: 'out', user: null, setup, error: null });
		}
	};

	useEffect(() => {
		setUnauthorizedHandler(() => {
			setCsrf(null);
			setSession((s) => (s.state === 'in' ? { state: 'out', user: null, setup: false, error: null } : s));
		});
		boot();
	}, []);

	// Focus the page's main area after each navigation, so a screen reader starts at the new page.
	const firstPath = useRef(true);
	useEffect(() => {
		if (firstPath.current) {
			firstPath.current = false;
			return;
		}
		if (mainRef.current)
			mainRef.current.focus({ preventScroll: true });
	}, [loc.path]);

	const loggedIn = (user) => {
		setCsrf(user.csrf_token);
		setSession({ state: 'in', user, setup: false, error: null });
		const next = new URLSearchParams(location.search).get('next');
		navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
	};

	const logout = async () => {
		try {
			await api('DELETE', '/session');
		} catch (e) {
			/* the session is gone either way for this page */
		}
		setCsrf(null);
		setSession({ state: 'out', user: null, setup: false, error: null });
		navigate('/login', true);
	};

	if (session.state === 'loading')
		return <main id="main" class="narrow"><Loading what="Spoolkeeper" /></main>;
	if (session.state === 'error')
		return (
			<main id="main" class="narrow">
				<h1>Spoolkeeper</h1>
				<ErrorNote error={session.error} />
				<button type="button" onClick={() => { setSession({ ...session, state: 'loading' }); boot(); }}>
					Try again</button>
			</main>
		);
	if (session.state === 'out') {
		const wantSetup = loc.path === '/setup' || (session.setup && loc.path !== '/login');
		if (!wantSetup && loc.path !== '/login') {
			const next = loc.path + loc.search;
			return <Redirect to={'/login' + (next !== '/' ? '?next=' + encodeURIComponent(next) : '')} />;
		}
		return (
			<main id="main" class="narrow" ref={mainRef} tabIndex={-1}>
				{wantSetup ? <SetupPage onDone={loggedIn} /> :
					<LoginPage onDone={loggedIn} setupNeeded={session.setup} />}
			</main>
		);
	}

	const user = session.user;
	if (loc.path === '/login' || loc.path === '/setup')
		return <Redirect to="/" />;
	let body = <NotFound />;
	for (const p of PAGES) {
		const params = match(p.path, loc.path);
		if (!params)
			continue;
		const Page = p.page;
		body = p.admin && user.role !== 'admin' ? <NotFound /> : <Page user={user} params={params} search={loc.search} />;
		break;
	}
	return (
		<>
			<Nav user={user} path={loc.path} onLogout={logout} onUser={(u) => {
				setCsrf(u.csrf_token);
				setSession({ state: 'in', user: u, setup: false, error: null });
			}} />
			<main id="main" ref={mainRef} tabIndex={-1}>{body}</main>
		</>
	);
}

const root = document.getElementById('app');
root.textContent = '';
render(<App />, root);

if ('serviceWorker' in navigator && location.protocol !== 'file:') {
	window.addEventListener('load', () => {
		navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* no offline shell: fine */ });
	});
}
