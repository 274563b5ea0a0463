// cases/pwa.mjs: the service worker, the manifest, offline, and the colour schemes (browser.test.mjs runs them in order).
import { DESKTOP, S } from '../lib/context.mjs';
import { check, diag } from '../lib/tap.mjs';
import { nav, printerCard, swState } from '../lib/pages.mjs';

/* testServiceWorker(): the service worker registers, controls the page, caches no /api answer; manifest; offline shell. */
export async function testServiceWorker()
{
	const page = S.page;
	await page.goto(S.urls.dashboard);
	let sw = await swState(page);
	check(!sw.error && sw.script && /\/sw\.js/.test(sw.script), `the service worker registers (${sw.script || sw.error})`);
	// Reload under its control, then use pages that call the API.
	await page.reload();
	await printerCard(page, S.printer.name).waitFor();
	await nav(page, 'History');
	await page.getByRole('table').first().waitFor();
	sw = await swState(page);
	check(sw.controlled, 'the page is controlled by the service worker after a reload');
	const urls = Object.values(sw.caches || {}).flat();
	const api = urls.filter((u) => new globalThis.URL(u).pathname.startsWith('/api/'));
	check(urls.length > 0 && api.length === 0, `the caches hold ${urls.length} shell files and no /api answer`,
	    api.length ? `cached API answers:\n${api.slice(0, 10).join('\n')}` : JSON.stringify(sw.caches, null, 1));
	const me = await page.evaluate(async () => (await fetch('/api/v1/me')).headers.get('cache-control'));
	diag(`GET /api/v1/me Cache-Control: ${me}`);
	// Installable: a manifest with a name, a standalone display and a 512 px icon.
	const man = await page.evaluate(async () => {
		const link = document.querySelector('link[rel=manifest]');
		return link ? (await fetch(link.href)).json() : null;
	});
	check(man && man.name && man.display === 'standalone' && man.start_url &&
	    (man.icons || []).some((i) => /512/.test(i.sizes || '')),
	    `the web manifest names the app ("${man && man.name}"), standalone, with a 512 px icon`, JSON.stringify(man));
	// Offline, a page still opens from the cached shell (not the browser's offline page); the API is not faked.
	await S.desktop.setOffline(true);
	try {
		await page.goto(S.urls.history);
		const shell = await page.evaluate(() => !!document.getElementById('app') && document.title);
		check(shell && /Spoolkeeper/.test(shell), `offline, the app shell still opens from the cache (title "${shell}")`);
		const api = await page.evaluate(async () => {
			try {
				return (await fetch('/api/v1/me')).status;
			} catch (e) {
				return 'network error';
			}
		});
		check(api === 'network error', `offline, GET /api/v1/me is a network error, not an answer from a cache (${api})`);
	} finally {
		await S.desktop.setOffline(false);
	}
	await page.goto(S.urls.dashboard);
	await printerCard(page, S.printer.name).waitFor();
}

/* luminance(css): the relative luminance (0 black, 1 white) of an "rgb(r, g, b)" colour. */
function luminance(css)
{
	const [r, g, b] = (css.match(/\d+(\.\d+)?/g) || [0, 0, 0]).slice(0, 3).map((v) => {
		const c = Number(v) / 255;
		return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
	});
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/* testColourSchemes(): light and dark colour schemes, each with readable text (contrast >= 4.5:1). */
export async function testColourSchemes()
{
	const state = await S.desktop.storageState();
	for (const scheme of ['light', 'dark']) {
		const ctx = await S.browser.newContext({ ...DESKTOP, colorScheme: scheme, storageState: state });
		const page = await ctx.newPage();
		await page.goto(S.urls.dashboard);
		await printerCard(page, S.printer.name).waitFor();
		const c = await page.evaluate(() => {
			const st = getComputedStyle(document.body);
			return { bg: st.backgroundColor, fg: st.color };
		});
		await ctx.close();
		const bg = luminance(c.bg), fg = luminance(c.fg);
		const contrast = (Math.max(bg, fg) + 0.05) / (Math.min(bg, fg) + 0.05);
		check((scheme === 'dark' ? bg < 0.2 : bg > 0.6) && contrast >= 4.5,
		    `the ${scheme} colour scheme: page ${c.bg}, text ${c.fg} (contrast ${contrast.toFixed(1)}:1, want >= 4.5)`);
	}
}
