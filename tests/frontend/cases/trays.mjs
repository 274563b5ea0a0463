// cases/trays.mjs: the dashboard and the tray dialog: live progress, mapping spools by search and by QR code, the keyboard (browser.test.mjs runs them in order).
import { S } from '../lib/context.mjs';
import { must } from '../lib/api.mjs';
import { check } from '../lib/tap.mjs';
import { poll, reEscape } from '../lib/wait.mjs';
import { layerText, printerCard, trayButton, trayLabel } from '../lib/pages.mjs';

/* testDashboard(): the demo printer's card: "Layer X / Y" increases between two looks, the progress bar agrees with the text. */
export async function testDashboard()
{
	const card = printerCard(S.page, S.printer.name);
	await card.waitFor({ timeout: 15000 });
	// While preparing, a printer may report no total yet: the first look is one with a total.
	const first = await poll('"Layer X / Y" with Y > 0 on the printer card', async (last) => {
		const t = await layerText(card);
		last(JSON.stringify(t));
		return t && t.total > 0 ? t : null;
	}, 30000);
	const second = await poll(`the layer to pass ${first.layer}`, async (last) => {
		const t = await layerText(card);
		last(JSON.stringify(t));
		return t && t.layer > first.layer ? t : null;
	}, 60000, 500);
	check(second.total === first.total,
	    `the dashboard shows the print going on: layer ${first.layer} / ${first.total}, then ${second.layer} / ` +
	    `${second.total}`);
	// The bar and the "NN %" text come from one status; the print moves on (2 layers/s in the demo) while the
	// page polls, so the API's percent is only near it.
	const bar = card.getByRole('progressbar').first();
	const seen = await poll('the progress bar and its "NN %" text to agree', async (last) => {
		const now = Number(await bar.getAttribute('aria-valuenow'));
		const text = /(\d+)\s*%/.exec(await card.innerText());
		last(`aria-valuenow ${now}, text ${text && text[0]}`);
		return text && Number(text[1]) === now ? now : null;
	}, 10000, 100);
	check(seen >= 0 && seen <= 100, `the progress bar has aria-valuenow ${seen} (0 to 100), as the card's text says`);
	const state = must(await S.api.get(`/api/v1/printers/${S.printer.id}/status`), 200, 'GET status');
	check(Math.abs(seen - state.percent) <= 25 || state.percent < seen,
	    `the progress bar (${seen}) follows the printer's percent (${state.percent} now)`);
}

/* openTray(tray): clicks the tray's button on the dashboard; the dialog. */
async function openTray(tray)
{
	const card = printerCard(S.page, S.printer.name);
	await trayButton(card, tray).first().click();
	const dialog = S.page.getByRole('dialog');
	await dialog.waitFor({ timeout: 10000 });
	return dialog;
}

/* mappedTo(tray): the spool id the API says is in the tray (null: none). */
async function mappedTo(tray)
{
	const t = must(await S.api.get(`/api/v1/printers/${S.printer.id}/trays`), 200, 'GET trays').trays
		.find((x) => x.tray === tray);
	return t && t.spool ? t.spool.id : null;
}

/*
 * finishMapping(dialog, tray, spool, pick): clicks pick (a result button) while shown and "Move it here" when the
 * spool is in another tray (409); waits for the API and the tray button.  Returns true when it moved the spool.
 */
async function finishMapping(dialog, tray, spool, pick)
{
	let moved = false;
	await poll(`spool #${spool.id} in ${trayLabel(tray)}`, async (last) => {
		if (await mappedTo(tray) === spool.id)
			return true;
		const move = S.page.getByRole('button', { name: 'Move it here', exact: true });
		if (await move.count() && await move.first().isVisible()) {
			await move.first().click();
			moved = true;
			return false;
		}
		if (pick && await pick.count() && await pick.first().isVisible())
			await pick.first().click().catch(() => {});
		last(await dialog.innerText().catch(() => '(no dialog)'));
		return false;
	}, 30000, 400);
	const close = S.page.getByRole('button', { name: 'Close', exact: true });
	if (await dialog.isVisible() && await close.count())
		await close.first().click();
	await dialog.waitFor({ state: 'hidden', timeout: 10000 });
	const card = printerCard(S.page, S.printer.name);
	await trayButton(card, tray, spool.name).first().waitFor({ timeout: 15000 });
	return moved;
}

/* checkMoved(spool, moved): when the spool was in another tray, "Move it here" was offered and emptied that tray. */
async function checkMoved(spool, moved)
{
	const from = spool.tray;
	if (!from || from.printer_id !== S.printer.id)
		return;
	const now = await mappedTo(from.tray);
	check(moved && now !== spool.id, `spool #${spool.id} was in ${from.label}: "Move it here" was offered (409) ` +
	    `and moved it (${from.label} now holds ${now === null ? 'nothing' : `#${now}`})`);
}

/* testMapBySearch(): maps spool A to tray A through "Search spools" (and "Move it here"). */
export async function testMapBySearch()
{
	const { trayA: tray, spoolA: spool } = S;
	const dialog = await openTray(tray.tray);
	S.urls.trayDialog = S.page.url();
	await dialog.getByLabel('Search spools').fill(spool.name);
	const result = dialog.getByRole('button', { name: new RegExp(`#${spool.id}(?![0-9]).*${reEscape(spool.name)}|` +
	    `${reEscape(spool.name)}.*#${spool.id}(?![0-9])`, 's') });
	await result.first().waitFor({ timeout: 15000 });
	const others = await dialog.getByRole('button', { name: /#\d+/ }).count();
	check(others >= 1, `searching "${spool.name}" lists spool #${spool.id} (${others} results)`);
	await result.first().click();
	const moved = await finishMapping(dialog, tray.tray, spool, null);
	check(true, `spool #${spool.id} "${spool.name}" mapped to ${trayLabel(tray.tray)} by search: the tray button ` +
	    'names it and the API has it');
	await checkMoved(spool, moved);
}

/* testMapByQr(): maps spool B to tray B from the QR code on the fake camera (and "Move it here"). */
export async function testMapByQr()
{
	const { trayB: tray, spoolB: spool } = S;
	const dialog = await openTray(tray.tray);
	await dialog.getByRole('button', { name: 'Scan QR code', exact: true }).click();
	const pick = dialog.getByRole('button', { name: new RegExp(`#${spool.id}(?![0-9])`) });
	const moved = await finishMapping(dialog, tray.tray, spool, pick);
	check(true, `spool #${spool.id} mapped to ${trayLabel(tray.tray)} from the QR code "web+spoolman:s-${spool.id}"` +
	    ' on the fake camera (the npm decoder: no BarcodeDetector in Chromium on Linux)');
	await checkMoved(spool, moved);
}

/* testDialogKeyboard(): Tab stays inside the tray dialog; Esc closes it and gives the focus back to the tray button. */
export async function testDialogKeyboard()
{
	const page = S.page;
	const dialog = await openTray(S.trayA.tray);
	let outside = 0;
	for (let i = 0; i < 25; i++) {
		await page.keyboard.press('Tab');
		if (!(await page.evaluate(() => !!document.activeElement.closest('[role=dialog], dialog'))))
			outside++;
	}
	check(outside === 0, `keyboard: Tab keeps the focus inside the tray dialog (${outside} of 25 presses left it)`);
	await page.keyboard.press('Escape');
	await dialog.waitFor({ state: 'hidden', timeout: 5000 });
	// The focus goes back to the button that opened the dialog (WAI-ARIA dialog pattern), not to <body>.
	const back = await page.evaluate(() => {
		const a = document.activeElement;
		return { tag: a.tagName.toLowerCase(), name: (a.getAttribute('aria-label') || a.textContent || '').trim() };
	});
	check(back.tag === 'button' && back.name.startsWith(trayLabel(S.trayA.tray)),
	    'keyboard: Esc closes the dialog and the focus returns to the tray button',
	    `the focus is on <${back.tag}> "${back.name.slice(0, 60)}"`);
}
