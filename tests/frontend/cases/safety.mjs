// cases/safety.mjs: hostile printer names, the phone width, logging out (browser.test.mjs runs them in order).
import { PHONE, S, URL, XSS } from '../lib/context.mjs';
import { must } from '../lib/api.mjs';
import { check, diag } from '../lib/tap.mjs';
import { poll } from '../lib/wait.mjs';
import { overflow, printerCard, trayButton, waitIdle } from '../lib/pages.mjs';

/* makeHostilePrinters(): two printers whose names are HTML, made through the API as admin. */
async function makeHostilePrinters()
{
	S.hostile = [];
	for (let i = 0; i < XSS.length; i++) {
		const p = must(await S.api.send('POST', '/api/v1/printers', {
			name: XSS[i], host: '127.0.0.1', serial: `XSS0000000000${i}`, access_code: '12345678',
			mqtt_port: 9, ftps_port: 9, enabled: false,
		}), 201, `POST /api/v1/printers "${XSS[i]}"`);
		S.hostile.push(p);
	}
}

/* testHostileNames(): printers named with HTML show as text on the dashboard, history and admin pages and run nothing. */
export async function testHostileNames()
{
	await makeHostilePrinters();
	const page = S.page;
	const places = [['dashboard', S.urls.dashboard], ['history', S.urls.history], ['admin', S.urls.admin]];
	for (const [where, url] of places) {
		await page.goto(url);
		await waitIdle(page);
		for (const name of XSS) {
			const shown = await poll(`"${name}" on the ${where} page`, async () =>
				(await page.getByText(name, { exact: false }).count()) > 0 ||
				(await page.locator('option', { hasText: name }).count()) > 0, 15000).catch(() => false);
			check(shown, `the ${where} page shows the printer name ${name} as text`);
		}
		const xss = await page.evaluate(() => window.__xss);
		check(xss === undefined, `the ${where} page ran none of it (window.__xss is ${xss})`);
		// Not only "did not run" (a Content-Security-Policy could stop it): no such element was made either.
		const made = await page.evaluate(() => [...document.querySelectorAll('img[src="x"], script')]
			.filter((e) => e.matches('img') || e.textContent.includes('__xss')).length);
		check(made === 0, `the ${where} page made no <img src=x> or <script> element from the names (${made})`);
	}
	// Whether an injected inline handler would run here at all (it would, without a CSP forbidding it).
	const probe = await page.evaluate(() => new Promise((resolve) => {
		const d = document.createElement('div');
		window.__probe = 0;
		d.innerHTML = '<img src=x onerror="window.__probe=1">';
		setTimeout(() => resolve(window.__probe), 1500);
	}));
	diag(probe === 1 ? 'an <img onerror> put in with innerHTML does run on this site: the checks above are meaningful' :
	    'an <img onerror> put in with innerHTML does not run here (a Content-Security-Policy?): the element checks count');
	await page.goto(S.urls.dashboard);
	for (const name of XSS) {
		const seen = await printerCard(page, name).waitFor({ timeout: 10000 }).then(() => true, () => false);
		check(seen, `the dashboard has an <article> whose accessible name is the literal ${name}`);
	}
}

/* phoneCheck(page, name, url, label): no horizontal overflow at 360 px on one page (url null: unknown). */
async function phoneCheck(page, name, url, label)
{
	if (!url) {
		check(false, `360 px: the ${name} page (its URL is unknown: an earlier test failed)`);
		return;
	}
	await page.goto(url);
	await waitIdle(page);
	await page.waitForTimeout(300);
	const o = await overflow(page, 360);
	check(o.scrollWidth <= 360, `360 px: the ${name} page${label} has no horizontal overflow (width ${o.scrollWidth})`,
	    o.offenders.join('\n'));
}

/* testPhoneWidth(): no horizontal overflow at 360 px on every page and the tray dialog. */
export async function testPhoneWidth()
{
	const ctx = await S.browser.newContext({ ...PHONE, baseURL: URL, storageState: await S.desktop.storageState() });
	const page = await ctx.newPage();
	await phoneCheck(page, 'dashboard', S.urls.dashboard, '');
	await trayButton(printerCard(page, S.printer.name), S.trayA.tray).first().click();
	await page.getByRole('dialog').waitFor();
	const d = await overflow(page, 360);
	check(d.scrollWidth <= 360, `360 px: the tray dialog has no horizontal overflow (width ${d.scrollWidth})`,
	    d.offenders.join('\n'));
	for (const name of ['history', 'print', 'usage', 'admin'])
		await phoneCheck(page, name, S.urls[name], '');
	await ctx.close();
	const anon = await S.browser.newContext({ ...PHONE, baseURL: URL });
	const lp = await anon.newPage();
	await lp.goto(URL);
	await lp.getByLabel('Username', { exact: true }).waitFor();
	const o = await overflow(lp, 360);
	check(o.scrollWidth <= 360, `360 px: the login page has no horizontal overflow (width ${o.scrollWidth})`,
	    o.offenders.join('\n'));
	await anon.close();
}

/* testPhoneLongNames(): 360 px again, with the hostile printers: a 31-character name without a space must wrap. */
export async function testPhoneLongNames()
{
	const ctx = await S.browser.newContext({ ...PHONE, baseURL: URL, storageState: await S.desktop.storageState() });
	const page = await ctx.newPage();
	for (const name of ['dashboard', 'history', 'admin'])
		await phoneCheck(page, name, S.urls[name], ` with the printer named ${XSS[0]} (no space to wrap at)`);
	await ctx.close();
}

/* testLogout(): "Log out" shows the login form and ends the session on the server. */
export async function testLogout()
{
	const page = S.page;
	await page.getByRole('button', { name: 'Log out', exact: true }).click();
	await page.getByLabel('Username', { exact: true }).waitFor({ timeout: 10000 });
	const status = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
	check(status === 401, `"Log out" ends the session: the login form again, and GET /api/v1/me answers ${status}`);
}
