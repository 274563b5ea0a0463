// setup.test.mjs: the first-run setup page in headless Chromium against a fresh stack with no admin (tests/frontend/test_browser.sh).
//
// Environment: BROWSER_URL (the fresh stack's nginx), BROWSER_SETUP_TOKEN (its one-time token from
// `spoolkeeper setup-token`), CHROMIUM (default /usr/bin/chromium), TAP_FIRST (the number of the first line).
// Prints TAP-like lines; exits 1 when a check failed.
import { chromium } from 'playwright-core';
import { check, step, summary } from './lib/tap.mjs';
import { overflow } from './lib/pages.mjs';
import { poll } from './lib/wait.mjs';

const URL = process.env.BROWSER_URL;
const TOKEN = process.env.BROWSER_SETUP_TOKEN;
const ADMIN = { username: 'first-admin', password: 'a long first password 42' };

/* fill(page, token): the setup form with token and ADMIN, then "Create admin". */
async function fill(page, token)
{
	await page.getByLabel('Setup token', { exact: true }).fill(token);
	await page.getByLabel('Username', { exact: true }).fill(ADMIN.username);
	await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
	await page.getByRole('button', { name: 'Create admin', exact: true }).click();
}

async function main()
{
	if (!URL || !TOKEN) {
		check(false, 'setup: BROWSER_URL and BROWSER_SETUP_TOKEN must be set (the stack printed no setup token?)');
		return summary();
	}
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
	});
	try {
		const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
		ctx.setDefaultTimeout(15000);
		const page = await ctx.newPage();
		const errors = [];
		page.on('pageerror', (e) => errors.push(String(e)));
		await step('setup: a fresh install opens on the setup page', async () => {
			await page.goto(URL);
			await page.getByLabel('Setup token', { exact: true }).waitFor();
		});
		await step('setup: 360 px: the setup page has no horizontal overflow', async () => {
			const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true,
				hasTouch: true });
			const pp = await phone.newPage();
			await pp.goto(URL);
			await pp.getByLabel('Setup token', { exact: true }).waitFor({ timeout: 15000 });
			const o = await overflow(pp, 360);
			await phone.close();
			check(o.scrollWidth <= 360, `setup: 360 px: the setup page has no horizontal overflow (width ${o.scrollWidth})`,
			    o.offenders.join('\n'));
		});
		await step('setup: a wrong token is refused with a message', async () => {
			await fill(page, '0'.repeat(TOKEN.length));
			const said = await poll('an error after a wrong token', async () => {
				const alert = page.getByRole('alert');
				return (await alert.count()) ? (await alert.first().innerText()).trim() : '';
			}, 10000);
			check(said && !(await page.getByRole('button', { name: 'Log out' }).count()),
			    'setup: a wrong token is refused with a message (role=alert)', said);
		});
		await step('setup: the token creates the first admin, logged in, who sees "Admin"', async () => {
			await fill(page, TOKEN);
			await page.getByRole('button', { name: 'Log out', exact: true }).waitFor();
			await page.getByRole('link', { name: 'Admin', exact: true }).first().waitFor();
		});
		await step('setup: the token works once (after logging out, the login page, not the setup page)', async () => {
			await page.getByRole('button', { name: 'Log out', exact: true }).click();
			await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
			const setup = await page.evaluate(async () => (await (await fetch('/api/v1/setup')).json()).needed);
			check(setup === false, `setup: GET /api/v1/setup says needed: ${setup} once an admin exists`);
		});
		check(errors.length === 0, 'setup: no uncaught JavaScript error', errors.join('\n'));
	} finally {
		await browser.close();
	}
	return summary();
}

process.exit(await main());
