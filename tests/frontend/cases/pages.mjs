// cases/pages.mjs: the history, a print, usage and admin pages (browser.test.mjs runs them in order).
import { S, SPOOLMAN_URL, WAIT_S } from '../lib/context.mjs';
import { must } from '../lib/api.mjs';
import { check, skip } from '../lib/tap.mjs';
import { poll } from '../lib/wait.mjs';
import { nav, rendered } from '../lib/pages.mjs';

/* chargedPrint(): waits until the demo print has charged filament to a spool; the print with its usage. */
async function chargedPrint()
{
	return poll('the demo print to charge filament (grams > 0)', async (last) => {
		const p = must(await S.api.get(`/api/v1/prints/${S.printer.job.id}`), 200, 'GET print');
		last(`state ${p.state}, layers_charged ${p.layers_charged}, grams ${p.grams}`);
		return p.grams > 0 && p.spools.some((s) => s.spool_id && s.grams > 0) ? p : null;
	}, WAIT_S * 1000, 1000);
}

/* testHistory(): the history lists the charged demo print, its filters work; its page shows the usage per spool and a chart. */
export async function testHistory()
{
	const print = await chargedPrint();
	const page = S.page;
	S.urls.history = await nav(page, 'History');
	const table = page.getByRole('table').first();
	// The demo plays the same file again and again: every print has the same name, so the row is found by its link.
	const link = table.getByRole('link', { name: print.name, exact: true }).and(page.locator(`a[href$="/prints/${print.id}"]`));
	await link.waitFor({ timeout: 15000 });
	check(true, `the history lists the print "${print.name}" (#${print.id}, ${print.state})`);
	// Filters: a printer without prints and a state the demo never reaches hide it; "Any state" shows it again.
	const filter = page.getByLabel('Printer', { exact: true });
	const opts = await filter.locator('option').allInnerTexts();
	check(opts.some((o) => o.trim() === S.printer.name), 'the "Printer" filter offers the demo printer', opts.join(' | '));
	const state = page.getByLabel('State', { exact: true });
	await state.selectOption('cancelled');
	await poll('the print to leave the list under the state "cancelled"', async () => !(await link.count()), 10000);
	await state.selectOption('');
	await link.waitFor({ timeout: 10000 });
	check(true, 'the "State" filter hides the print under "cancelled" and shows it again under any state');
	await link.click();
	S.urls.print = page.url();
	await page.getByRole('heading', { name: print.name, exact: true }).waitFor({ timeout: 15000 });
	const rows = await page.getByRole('table').first().getByRole('row').allInnerTexts();
	const charged = print.spools.filter((s) => s.spool_id && s.grams > 0);
	for (const s of charged) {
		const row = rows.find((r) => r.includes(`#${s.spool_id}`) || (s.spool_name && r.includes(s.spool_name)));
		const grams = row && [...row.matchAll(/(\d+(?:[.,]\d+)?)\s*g\b/g)].map((m) => Number(m[1].replace(',', '.')));
		check(row && grams.some((g) => g > 0),
		    `the print page shows spool #${s.spool_id} with grams > 0 (API: ${s.grams} g)`, rows.join('\n'));
	}
	const fig = page.locator('figure').first();
	const caption = (await fig.locator('figcaption').innerText()).trim();
	const drawn = await fig.locator('canvas, svg').count();
	check(caption.length > 0 && drawn > 0, `the print page has a chart in a <figure> with a caption ("${caption}")`);
}

/* testUsage(): the usage page: From/To, "Download CSV" gives a CSV, every chart figure has a caption. */
export async function testUsage()
{
	const page = S.page;
	S.urls.usage = await nav(page, 'Usage');
	await page.getByLabel('From', { exact: true }).waitFor({ timeout: 10000 });
	check(await page.getByLabel('To', { exact: true }).count() === 1, 'the usage page has "From" and "To"');
	const csv = page.getByRole('link', { name: 'Download CSV', exact: true });
	const href = await csv.getAttribute('href');
	const r = await page.request.get(new globalThis.URL(href, page.url()).href);
	const body = await r.text();
	check(r.status() === 200 && /text\/csv/.test(r.headers()['content-type'] || '') && /grams/.test(body.split('\n')[0]),
	    `"Download CSV" (${href}) gives a CSV with a header line`, `${r.status()} ${body.slice(0, 300)}`);
	await poll('a chart on the usage page', async () => (await page.locator('figure').locator('canvas, svg').count()) > 0,
	    15000);
	const figs = await page.locator('figure').count();
	const caps = await page.locator('figure figcaption').count();
	check(figs >= 1 && caps === figs, `the usage page shows ${figs} chart figure(s), each with a caption`);
	await testDayLegend(page);
}

/*
 * testDayLegend(): hovering the "Grams per day" chart shows a day of the chosen range and its grams in the legend
 * (a time axis fed milliseconds, or uPlot's own range for a lone day, puts the bars out of sight: the legend then
 * stays at "--").
 */
async function testDayLegend(page)
{
	const from = await page.getByLabel('From', { exact: true }).inputValue();
	const to = await page.getByLabel('To', { exact: true }).inputValue();
	const fig = page.locator('figure', { has: page.getByText('Grams per day', { exact: true }) });
	const over = fig.locator('.u-over');
	const seen = [];
	let hit = null;
	if (await over.count() === 1) {
		const box = await over.boundingBox();
		for (let i = 0; i <= 60 && !hit; i++) {
			await page.mouse.move(box.x + box.width * i / 60, box.y + box.height * 0.9);
			const vals = await fig.locator('.u-legend .u-value').allTextContents();
			seen.push(vals.join(' | '));
			if (/^\d{4}-\d{2}-\d{2}$/.test(vals[0] || '') && /^[0-9.]+$/.test(vals[1] || ''))
				hit = vals;
		}
		await page.mouse.move(0, 0);
	}
	check(!!hit && hit[0] >= from && hit[0] <= to && Number(hit[1]) > 0,
	    `usage: hovering "Grams per day" shows a day of ${from}..${to} and its grams in the legend` +
	    (hit ? ` (${hit[0]}: ${hit[1]} g)` : ''),
	    `legend values seen: ${[...new Set(seen)].slice(0, 5).join('; ') || 'no chart'}`);
	if (!hit)
		return;
	// The x axis spans From..To: the hovered day's bar is drawn where that day falls in the range.  Found by its
	// colour in the canvas, along a line just above the plot's bottom.
	const ob = await over.boundingBox();
	const bar = await fig.locator('canvas').first().evaluate((c, ob) => {
		const r = c.getBoundingClientRect(), k = c.width / r.width;
		const y = Math.round((ob.y + ob.height * 0.97 - r.top) * k);
		const x0 = Math.round((ob.x - r.left) * k), x1 = Math.round((ob.x + ob.width - r.left) * k);
		const px = c.getContext('2d').getImageData(x0, y, x1 - x0, 1).data;
		const cols = [];
		for (let i = 0; i < x1 - x0; i++)
			if (px[4 * i] > 170 && px[4 * i + 1] > 60 && px[4 * i + 1] < 170 && px[4 * i + 2] < 110)
				cols.push(i);
		return cols.length ? (cols[0] + cols[cols.length - 1]) / 2 / (x1 - x0) : null;
	}, ob);
	const day = (d) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)) / 86400000;
	const want = (day(hit[0]) - day(from) + 0.5) / (day(to) - day(from) + 1);
	check(bar !== null && Math.abs(bar - want) < 0.05,
	    `usage: the x axis of "Grams per day" spans ${from}..${to} (the bar of ${hit[0]} is where that day falls)`,
	    `bar centre at ${bar === null ? 'no bar found' : (bar * 100).toFixed(1) + ' %'} of the plot, want ` +
	    `${(want * 100).toFixed(1)} %`);
}

/* isSettingsRead(r): r is a GET /api/v1/settings (a request or a response's request). */
function isSettingsRead(r)
{
	return r.method() === 'GET' && new URL(r.url()).pathname === '/api/v1/settings';
}

/* testAdmin(): the admin page's sections. */
export async function testAdmin()
{
	const page = S.page;
	let reads = 0;
	const count = (r) => { reads += isSettingsRead(r) ? 1 : 0; };

	page.on('request', count);
	S.urls.admin = await nav(page, 'Admin');
	for (const h of ['Users', 'Printers', 'Spoolman', 'Notifications', 'RFID and locations', 'Outbox',
	    'Location updates'])
		check(await page.getByRole('heading', { name: h, exact: true }).first().isVisible().catch(() => false),
		    `the admin page has the section "${h}"`);
	await page.locator('#rf-field').waitFor({ timeout: 10000 }).catch(() => {});
	page.off('request', count);
	check(reads === 1, `the three settings sections share one GET /api/v1/settings (${reads} made)`);
	/* The settings forms answer: the connection check names the stand-in, a save says what was saved. */
	const spoolman = page.locator('section#spoolman');
	await spoolman.getByRole('button', { name: 'Check connection' }).click();
	const ok = await spoolman.getByText(/^Spoolman .* answers at /).waitFor({ timeout: 10000 })
	    .then(() => true, () => false);
	check(ok, '"Check connection" shows that the Spoolman stand-in answers');
	/* An edit not saved yet in one section survives a save in another (which reads the settings again). */
	const hook = page.locator('#wh-url');
	const before = await hook.inputValue();
	await hook.fill('https://unsaved.example/hook');
	const reread = page.waitForResponse((r) => isSettingsRead(r.request()), { timeout: 10000 });
	const rfid = page.locator('section#rfid');
	await rfid.getByRole('button', { name: 'Save RFID settings' }).click();
	const saved = await rfid.locator('p.ok-note').filter({ hasText: /\S/ }).waitFor({ timeout: 10000 })
	    .then(() => true, () => false);
	check(saved, '"Save RFID settings" says what the server saved');
	check(await reread.then(() => true, () => false), 'a save reads the settings again');
	await rendered(page);
	check(await hook.inputValue() === 'https://unsaved.example/hook',
	    'an unsaved webhook URL is still there after the RFID section saved');
	await hook.fill(before);
}

/* fault(rule): sets the Spoolman stand-in's fault rules (mode "none" clears them). */
async function fault(rule)
{
	const r = await fetch(`${SPOOLMAN_URL}/_control/fault`, { method: 'POST', body: JSON.stringify(rule) });
	if (!r.ok)
		throw new Error(`stand-in /_control/fault: HTTP ${r.status}`);
}

/* refused(spool, n): waits until n location updates of spool are in needs_review; returns them, oldest first. */
async function refused(spool, n)
{
	return poll(`${n} refused location update(s) of spool #${spool}`, async () => {
		const rows = must(await S.api.get('/api/v1/location-updates?state=needs_review'), 200,
		    'GET location-updates').rows.filter((r) => r.spool_id === spool);
		return rows.length >= n ? rows : null;
	}, 60000);
}

/*
 * testLocationReview(): Spoolman refuses the locations of spool A (a 404 from the stand-in) as it leaves its tray
 * and comes back: both wait in "Location updates".  The older one offers only Discard (the spool moved since) and
 * is discarded with a reason; the latest is sent again once Spoolman takes it, and the stand-in has it.
 */
export async function testLocationReview()
{
	if (!SPOOLMAN_URL) {
		skip('location updates review', 'no Spoolman stand-in URL');
		return;
	}
	const page = S.page, spool = S.spoolA.id, path = `/api/v1/printers/${S.printer.id}/trays/${S.trayA.tray}`;
	await fault({ mode: '404', path_regex: `/spool/${spool}$`, method: 'PATCH' });
	try {
		must(await S.api.send('PUT', path, { spool_id: null }), 200, 'empty tray A');
		await refused(spool, 1);
		must(await S.api.send('PUT', path, { spool_id: spool }), 200, 'spool A back in tray A');
	} finally {
		await refused(spool, 2).catch(() => null);
		await fault({ mode: 'none' });
	}
	const [older, latest] = (await refused(spool, 2)).slice(-2);
	check(older.later && !latest.later && latest.location !== null,
	    'the refused updates say which is the latest of the spool', JSON.stringify([older, latest]));

	await page.goto(S.urls.admin);
	const sec = page.locator('section#locations');
	await sec.getByRole('button', { name: `Discard location update ${older.id}` }).waitFor({ timeout: 10000 });
	check(await sec.getByRole('button', { name: `Retry location update ${older.id}` }).count() === 0,
	    'the older refused update offers no Retry (the spool moved since)');
	await sec.getByRole('button', { name: `Discard location update ${older.id}` }).click();
	const dialog = page.getByRole('dialog');
	await dialog.getByLabel('Reason').fill('superseded by the tray change after it');
	await dialog.getByRole('button', { name: 'Discard location update' }).click();
	const gone = await sec.getByText(`Location update ${older.id} discarded.`).waitFor({ timeout: 10000 })
	    .then(() => true, () => false);
	check(gone, 'Discard with a reason: the section says it was discarded');
	await sec.getByRole('button', { name: `Retry location update ${latest.id}` }).click();
	const again = await sec.getByText(`Location update ${latest.id} will be sent again.`).waitFor({ timeout: 10000 })
	    .then(() => true, () => false);
	check(again, 'Retry on the latest: the section says it will be sent again');
	const sent = await poll(`location update ${latest.id} to be sent`, async () => {
		const rows = must(await S.api.get('/api/v1/location-updates?state=done,discarded&limit=200'), 200,
		    'GET location-updates').rows;
		const d = rows.find((r) => r.id === latest.id && r.state === 'done');
		const x = rows.find((r) => r.id === older.id && r.state === 'discarded');
		return d && x ? x : null;
	}, 60000).catch(() => null);
	check(sent && sent.last_error.includes('superseded by the tray change after it'),
	    'the latest is sent, the older one discarded with who and why', sent && sent.last_error);
	const state = await (await fetch(`${SPOOLMAN_URL}/_control/state`)).json();
	const inSpoolman = (state.spools || []).find((s) => s.id === spool);
	check(inSpoolman && inSpoolman.location === latest.location,
	    `Spoolman has spool #${spool} at "${latest.location}"`, inSpoolman && inSpoolman.location);
}
