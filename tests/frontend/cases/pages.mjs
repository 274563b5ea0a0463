// cases/pages.mjs: the history, a print, usage and admin pages (browser.test.mjs runs them in order).
import { S, WAIT_S } from '../lib/context.mjs';
import { must } from '../lib/api.mjs';
import { check } from '../lib/tap.mjs';
import { poll } from '../lib/wait.mjs';
import { nav } from '../lib/pages.mjs';

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
}

/* testAdmin(): the admin page's four sections. */
export async function testAdmin()
{
	const page = S.page;
	S.urls.admin = await nav(page, 'Admin');
	for (const h of ['Users', 'Printers', 'Spoolman', 'Outbox'])
		check(await page.getByRole('heading', { name: h, exact: true }).first().isVisible().catch(() => false),
		    `the admin page has the section "${h}"`);
}
