// lib/pages.mjs: what the browser tests do on the frontend's pages, by the agreed accessible names (docs/testing-browser.md).
import { poll, reEscape } from './wait.mjs';

/* login(page, url, username, password): opens url, logs in through the form, waits for the "Log out" button. */
export async function login(page, url, username, password)
{
	await page.goto(url);
	await page.getByLabel('Username', { exact: true }).fill(username);
	await page.getByLabel('Password', { exact: true }).fill(password);
	await page.getByRole('button', { name: 'Log in', exact: true }).click();
	await page.getByRole('button', { name: 'Log out', exact: true }).waitFor({ timeout: 15000 });
}

/*
 * nav(page, name): follows the navigation link `name` ("Dashboard", "History", "Usage", "Admin"); opens a
 * collapsed menu first when the link is hidden (a phone layout).  Returns the URL reached.
 */
export async function nav(page, name)
{
	const link = page.getByRole('link', { name, exact: true }).first();
	if (!(await link.isVisible())) {
		const menu = page.getByRole('button', { name: /menu|navigation/i }).first();
		if (await menu.isVisible())
			await menu.click();
	}
	await link.click();
	return page.url();
}

/* printerCard(page, name): the dashboard's <article> of printer `name` (its aria-label). */
export function printerCard(page, name)
{
	return page.getByRole('article', { name, exact: true });
}

/* trayLabel(tray): the start of a tray button's accessible name: "AMS 1 slot 2", "External spool". */
export function trayLabel(tray)
{
	if (tray === 254 || tray === 255)
		return 'External spool';
	return `AMS ${Math.floor(tray / 4) + 1} slot ${(tray % 4) + 1}`;
}

/* trayButton(card, tray, rest): the tray's button in a printer card; rest (a string) must also be in its name. */
export function trayButton(card, tray, rest)
{
	const re = new RegExp(`^${reEscape(trayLabel(tray))}(?![0-9])${rest ? `.*${reEscape(rest)}` : ''}`, 's');
	return card.getByRole('button', { name: re });
}

/* layerText(card): {layer, total} from the card's "Layer X / Y" text, or null when there is none. */
export async function layerText(card)
{
	const el = card.getByText(/Layer\s+\d+\s*\/\s*\d+/).first();
	if (!(await el.count()))
		return null;
	const m = /Layer\s+(\d+)\s*\/\s*(\d+)/.exec(await el.innerText());
	return m ? { layer: +m[1], total: +m[2] } : null;
}

/*
 * overflow(page, width): {scrollWidth, offenders}: the document's width, and the outermost elements that reach
 * past `width` outside any scrolling box ("tag.class "text" (right N px)", widest first, at most 6).
 * No horizontal overflow means scrollWidth <= width.
 */
export async function overflow(page, width)
{
	return page.evaluate((w) => {
		const doc = document.documentElement;
		const clips = (el) => /(auto|scroll|hidden|clip)/.test(getComputedStyle(el).overflowX);
		const past = (el) => el.getBoundingClientRect().right > w + 1;
		const found = [];
		for (const el of document.body.querySelectorAll('*')) {
			if (!past(el) || el.getBoundingClientRect().width === 0)
				continue;
			// An absolutely positioned element escapes a clipping box that is not its containing block
			// (a .visually-hidden label in a scrolling table): only an overflowing ancestor excuses it.
			const free = /absolute|fixed/.test(getComputedStyle(el).position);
			let inside = false;
			for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
				if ((clips(a) && !free) || past(a)) {
					inside = true;
					break;
				}
			if (inside)
				continue;
			const cls = typeof el.className === 'string' && el.className.trim() ?
				'.' + el.className.trim().split(/\s+/).join('.') : '';
			const text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 50);
			found.push([el.getBoundingClientRect().right,
				`${el.tagName.toLowerCase()}${cls} "${text}" (right ${Math.round(el.getBoundingClientRect().right)} px)`]);
		}
		found.sort((x, y) => y[0] - x[0]);
		return { scrollWidth: Math.max(doc.scrollWidth, document.body.scrollWidth),
			offenders: found.slice(0, 6).map((f) => f[1]) };
	}, width);
}

/* swState(page): the service worker as the page sees it: {scope, script, controlled, caches: {name: [urls]}}. */
export async function swState(page)
{
	return page.evaluate(async () => {
		if (!('serviceWorker' in navigator))
			return { error: 'navigator.serviceWorker is missing' };
		const ready = await Promise.race([navigator.serviceWorker.ready,
			new Promise((r) => setTimeout(() => r(null), 15000))]);
		if (!ready)
			return { error: 'navigator.serviceWorker.ready did not resolve within 15 s' };
		const out = { scope: ready.scope, script: ready.active && ready.active.scriptURL,
			controlled: !!navigator.serviceWorker.controller, caches: {} };
		for (const name of await caches.keys()) {
			const c = await caches.open(name);
			out.caches[name] = (await c.keys()).map((r) => r.url);
		}
		return out;
	});
}

/* waitIdle(page): waits until the page has loaded and shows no "Loading" placeholder. */
export async function waitIdle(page)
{
	await page.waitForLoadState('load');
	await poll('the page to finish loading', async () =>
		(await page.getByText(/^Loading/).count()) === 0, 15000, 100);
}

/* rendered(page): resolves once the page has painted twice: state set by a response that arrived is on screen. */
export async function rendered(page)
{
	await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}
