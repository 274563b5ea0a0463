// browser.test.mjs: the frontend in Debian's headless Chromium against the running demo stack (tests/frontend/test_browser.sh).
//
// Environment: BROWSER_URL (the stack's nginx, e.g. http://127.0.0.1:8080), BROWSER_USER and BROWSER_PASSWORD (an
// admin), BROWSER_PRINTER (optional: the name of the printer playing the demo print; default the first with a
// print), CHROMIUM (default /usr/bin/chromium), SCREENSHOTS_DIR (set: also write the screenshots there),
// BROWSER_TMP (a directory for the fake camera file; default a new one under /tmp), BROWSER_TIMEOUT_S (how long
// to wait for the demo print to charge filament; default 240).
// Prints TAP-like lines; exits 1 when a check failed.  What is covered: docs/testing-browser.md.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiLogin, must } from './lib/api.mjs';
import { writeQrY4m } from './lib/camera.mjs';
import { DESKTOP, PASSWORD, S, URL, USER, WAIT_S } from './lib/context.mjs';
import { check, diag, step, summary } from './lib/tap.mjs';
import { poll } from './lib/wait.mjs';
import { login, trayLabel } from './lib/pages.mjs';
import { takeScreenshots } from './lib/screenshots.mjs';
import { testDashboard, testDialogKeyboard, testMapByQr, testMapBySearch } from './cases/trays.mjs';
import { testAdmin, testHistory, testLocationReview, testUsage } from './cases/pages.mjs';
import { testColourSchemes, testServiceWorker } from './cases/pwa.mjs';
import { testHostileNames, testLogout, testPhoneLongNames, testPhoneWidth } from './cases/safety.mjs';

if (!URL || !USER || !PASSWORD) {
	console.log('not ok 1 - BROWSER_URL, BROWSER_USER and BROWSER_PASSWORD must be set (tests/frontend/test_browser.sh sets them)');
	process.exit(1);
}

const tmp = process.env.BROWSER_TMP || mkdtempSync(join(tmpdir(), 'sk-browser-'));

/* demoPrinter(): waits until a printer (BROWSER_PRINTER, else any) has a print in progress; its status. */
async function demoPrinter()
{
	const want = process.env.BROWSER_PRINTER;
	return poll('a printer of the demo with a running print', async (last) => {
		const st = must(await S.api.get('/api/v1/status'), 200, 'GET /api/v1/status');
		const p = st.printers.find((x) => (want ? x.name === want : x.job) && x.job);
		last(JSON.stringify(st.printers.map((x) => [x.name, x.state, x.layer, x.job && x.job.name])));
		return p;
	}, WAIT_S * 1000, 1000);
}

/* chooseTrays(): two trays of the demo printer to map spools to (AMS trays, reported first, the active one last). */
function chooseTrays(trays, trayNow)
{
	const ams = trays.filter((t) => t.tray < 128);
	const score = (t) => (t.tray === trayNow ? 4 : 0) + (t.spool ? 2 : 0) + (t.reported ? 0 : 1);
	ams.sort((a, b) => score(a) - score(b) || a.tray - b.tray);
	if (ams.length < 2)
		throw new Error(`the demo printer shows ${ams.length} AMS trays, want 2: ${JSON.stringify(trays)}`);
	return [ams[0], ams[1]];
}

/* chooseSpools(): two spools of Spoolman with a name, not in a tray first. */
function chooseSpools(spools, avoid)
{
	const named = spools.filter((s) => s.name && !s.archived && !avoid.includes(s.id));
	named.sort((a, b) => (a.in_tray ? 1 : 0) - (b.in_tray ? 1 : 0) || a.id - b.id);
	if (named.length < 2)
		throw new Error(`Spoolman has ${named.length} usable spools, want 2`);
	return [named[0], named[1]];
}

/* setUp(): logs in to the API, waits for the demo print, picks trays and spools, writes the camera file, starts Chromium (returns true). */
async function setUp()
{
	S.api = await apiLogin(URL, USER, PASSWORD);
	const st = await demoPrinter();
	S.printer = st;
	S.trays = must(await S.api.get(`/api/v1/printers/${st.id}/trays`), 200, 'GET trays').trays;
	[S.trayA, S.trayB] = chooseTrays(S.trays, st.tray_now);
	const inTrays = [S.trayA, S.trayB].map((t) => t.spool && t.spool.id).filter(Boolean);
	const spools = must(await S.api.get('/api/v1/spools?limit=200'), 200, 'GET /api/v1/spools').spools;
	[S.spoolA, S.spoolB] = chooseSpools(spools, inTrays);
	S.camera = writeQrY4m(join(tmp, 'qr.y4m'), `web+spoolman:s-${S.spoolB.id}`).path;
	diag(`printer "${st.name}" (id ${st.id}), print "${st.job.name}"; ${trayLabel(S.trayA.tray)} <- spool ` +
	    `#${S.spoolA.id} by search, ${trayLabel(S.trayB.tray)} <- spool #${S.spoolB.id} by QR code`);
	S.browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream',
			'--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${S.camera}`],
	});
	S.desktop = await S.browser.newContext({ ...DESKTOP, baseURL: URL });
	await S.desktop.grantPermissions(['camera'], { origin: URL });
	S.desktop.setDefaultTimeout(15000);
	S.page = await S.desktop.newPage();
	S.errors = [];
	S.page.on('pageerror', (e) => S.errors.push(String(e)));
	S.urls = {};
	return true;
}

/* testLogin(): a wrong password is refused with a message; the right one logs in (returns true). */
async function testLogin()
{
	const page = S.page;
	await page.goto(URL);
	await page.getByLabel('Username', { exact: true }).fill(USER);
	await page.getByLabel('Password', { exact: true }).fill(PASSWORD + 'x');
	await page.getByRole('button', { name: 'Log in', exact: true }).click();
	const said = await poll('an error after a wrong password', async () => {
		const alert = page.getByRole('alert');
		return (await alert.count()) ? (await alert.first().innerText()).trim() : '';
	}, 10000);
	check(said && !(await page.getByRole('button', { name: 'Log out' }).count()),
	    'a wrong password is refused with a message (role=alert)', said);
	await login(page, URL, USER, PASSWORD);
	S.urls.dashboard = page.url();
	check(true, 'logs in through the form and sees the "Log out" button');
	return true;
}

async function main()
{
	const ready = await step('set-up: the demo stack answers, a printer prints, Chromium starts', setUp);
	if (!ready) {
		summary();
		return 1;
	}
	if (!await step('login', testLogin)) {
		check(false, 'the other pages (not run: logging in failed)');
		summary();
		return 1;
	}
	await step('dashboard: live progress', testDashboard);
	await step('tray dialog: map a spool by search', testMapBySearch);
	await step('tray dialog: map a spool by QR code', testMapByQr);
	await step('tray dialog: keyboard', testDialogKeyboard);
	await step('history and print page', testHistory);
	await step('usage page', testUsage);
	await step('admin page', testAdmin);
	await step('admin page: refused location updates', testLocationReview);
	await step('service worker, manifest, offline', testServiceWorker);
	await step('light and dark colour schemes', testColourSchemes);
	if (process.env.SCREENSHOTS_DIR)
		await step('screenshots', () => takeScreenshots(S, process.env.SCREENSHOTS_DIR));
	await step('phone width (360 px)', testPhoneWidth);
	await step('hostile printer names are text', testHostileNames);
	await step('phone width (360 px) with long names', testPhoneLongNames);
	check(S.errors.length === 0, 'no uncaught JavaScript error on the pages', S.errors.join('\n'));
	await step('log out', testLogout);
	return summary();
}

let status = 1;
try {
	status = await main();
} finally {
	if (S.browser)
		await S.browser.close().catch(() => {});
	if (S.api)
		await S.api.close().catch(() => {});
	if (!process.env.BROWSER_TMP)
		rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
