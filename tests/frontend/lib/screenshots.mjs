// lib/screenshots.mjs: PNG screenshots of every page at phone and desktop sizes, for docs/screenshots/ (make screenshots).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { printerCard, trayButton, waitIdle } from './pages.mjs';

const SIZES = {
	phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true },
	desktop: { viewport: { width: 1366, height: 900 }, deviceScaleFactor: 1 },
};

/* settle(page): the page loaded, no "Loading" text, fonts ready, charts drawn (a short pause for their animation). */
async function settle(page)
{
	await waitIdle(page);
	await page.evaluate(() => document.fonts.ready);
	await page.waitForTimeout(400);
}

/*
 * takeScreenshots(S, dir): writes dir/<page>-<phone|desktop>.png for login, dashboard, tray dialog, history, print,
 * usage and admin, in new browser contexts logged in with the desktop context's cookies (S from
 * browser.test.mjs: browser, desktop, urls, printer, trayA).  Throws on the first page it cannot show.
 */
export async function takeScreenshots(S, dir)
{
	mkdirSync(dir, { recursive: true });
	const state = await S.desktop.storageState();
	for (const [size, opts] of Object.entries(SIZES)) {
		const anon = await S.browser.newContext({ ...opts, baseURL: S.urls.dashboard });
		const lp = await anon.newPage();
		await lp.goto(new URL('/', S.urls.dashboard).href);
		await lp.getByLabel('Username', { exact: true }).waitFor();
		await settle(lp);
		await lp.screenshot({ path: join(dir, `login-${size}.png`) });
		await anon.close();

		const ctx = await S.browser.newContext({ ...opts, storageState: state });
		const page = await ctx.newPage();
		const shots = [['dashboard', S.urls.dashboard], ['history', S.urls.history], ['print', S.urls.print],
			['usage', S.urls.usage], ['admin', S.urls.admin]];
		for (const [name, url] of shots) {
			if (!url)
				throw new Error(`the URL of the ${name} page is unknown (an earlier test failed)`);
			await page.goto(url);
			await settle(page);
			await page.screenshot({ path: join(dir, `${name}-${size}.png`) });
			if (name === 'dashboard') {
				await trayButton(printerCard(page, S.printer.name), S.trayA.tray).first().click();
				const dialog = page.getByRole('dialog');
				await dialog.waitFor();
				await dialog.getByLabel('Search spools').fill('PLA');
				await page.waitForTimeout(800);
				await page.screenshot({ path: join(dir, `tray-dialog-${size}.png`) });
			}
		}
		await ctx.close();
	}
	console.log(`# screenshots written to ${dir}`);
}
