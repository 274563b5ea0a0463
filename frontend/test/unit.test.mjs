// test/unit.test.mjs: the frontend's pure modules, its API wrapper against a stub fetch, and its built output.
//
// node test/unit.test.mjs [DIST]   (from frontend/; DIST default dist).  Prints ok / not ok lines, exits 1 on a
// failure.  Run by tests/web/test_frontend_unit.sh.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fmt from '../src/format.js';
import * as trays from '../src/trays.js';
import * as forecast from '../src/forecast.js';
import * as problems from '../src/problems.js';
import * as axis from '../src/axis.js';
import { api, query, setCsrf, setUnauthorizedHandler, ApiError } from '../src/api.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, process.argv[2] || 'dist');
let n = 0, failed = 0;

function check(cond, name, detail) {
	n++;
	if (cond) {
		console.log(`ok ${n} - ${name}`);
	} else {
		failed++;
		console.log(`not ok ${n} - ${name}`);
		if (detail !== undefined)
			console.log(`#   ${String(detail).split('\n').join('\n#   ')}`);
	}
}

function eq(got, want, name) {
	check(JSON.stringify(got) === JSON.stringify(want), name, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// --- format.js, trays.js ---------------------------------------------------------------------------------
eq([fmt.grams(912.5), fmt.grams(1250), fmt.grams(0.375), fmt.grams(null)], ['913 g', '1,250 g', '0.38 g', '–'],
	'grams: rounding, thousands in grams (no kg switch), small amounts, null');
eq([fmt.grams(987.5), fmt.grams(987.4999), fmt.grams(1000.4), fmt.grams(999.5), fmt.grams(12345.6), fmt.grams(9.994),
	fmt.grams(9.996), fmt.grams(0), fmt.grams(-0.001), fmt.grams(-912.5), fmt.grams(NaN), fmt.grams('988'),
	fmt.grams(Infinity)],
['988 g', '987 g', '1,000 g', '1,000 g', '12,346 g', '9.99 g', '10 g', '0.00 g', '0.00 g', '-913 g', '–', '–', '–'],
'grams: one rounding everywhere (half away from zero), separators, the 10 g edge, no "-0", non-numbers');
eq([fmt.mm(4190.2), fmt.mm(222.5), fmt.mm(undefined)], ['4.19 m', '223 mm', '–'], 'mm: metres and millimetres');
eq([fmt.minutes(94), fmt.minutes(12), fmt.minutes(null), fmt.minutes(-1)], ['1 h 34 min', '12 min', '–', '–'],
	'minutes: hours and minutes, unknown');
eq([fmt.cssColor('0A2CA5FF'), fmt.cssColor('#000000'), fmt.cssColor('0a2ca5'), fmt.cssColor('red'),
	fmt.cssColor('"); background: url(x'), fmt.cssColor(null)], ['#0A2CA5', '#000000', '#0a2ca5', null, null, null],
	'cssColor: printer RRGGBBAA and Spoolman RRGGBB become #RRGGBB; anything else is no colour');
eq([fmt.printerState('RUNNING'), fmt.printerState('PAUSE'), fmt.printerState('SOMETHING_NEW'),
	fmt.printerState(null)], ['Printing', 'Paused', 'Something_new', 'Unknown'], 'printerState: words for gcode_state');
eq(fmt.isoDay(new Date(2024, 1, 29, 23, 59)), '2024-02-29', 'isoDay: the local calendar day');
eq(fmt.duration('2024-03-01T10:00:00+00:00', '2024-03-01T11:05:00+00:00'), '1 h 5 min', 'duration between two times');
// axis.js: days as Unix seconds (uPlot's time scales), the x range.
{
	const noon = (y, m, d) => new Date(y, m - 1, d, 12).getTime() / 1000;
	eq([axis.daySeconds('2026-11-24'), axis.daySeconds('2024-02-29')], [noon(2026, 11, 24), noon(2024, 2, 29)],
		'daySeconds: local noon of the day, in seconds');
	check(axis.daySeconds('2026-11-24') < 2e9 && axis.daySeconds('2026-11-24') > 1.7e9,
		'daySeconds: seconds, not milliseconds', axis.daySeconds('2026-11-24'));
	eq([axis.daySeconds('2023-02-29'), axis.daySeconds('2026-13-01'), axis.daySeconds('2026-11-24T00:00:00Z'),
		axis.daySeconds(''), axis.daySeconds(null)], [null, null, null, null, null],
	'daySeconds: not a calendar day is null');
	const one = noon(2026, 11, 24);
	const r1 = axis.xRange([one], { bars: true, time: true });
	eq(r1, [one - 43200, one + 43200], 'xRange: a lone day\'s bar spans that day (not uPlot\'s 1000 days)');
	const from = noon(2026, 10, 26);
	const r2 = axis.xRange([one], { bars: true, time: true, domain: [from, one] });
	eq(r2, [from - 43200, one + 43200], 'xRange: a range asked for is shown whole, a bar at its end drawn whole');
	check(new Date(r2[1] * 1000).getFullYear() === 2026 && new Date(r2[0] * 1000).getFullYear() === 2026,
		'xRange: a range ending 2026-11-24 stays in 2026', JSON.stringify(r2));
	eq(axis.xRange([3, 1, 2], { bars: true }), [0.5, 3.5], 'xRange: unsorted x, half the smallest step each side');
	eq(axis.xRange([5, 9]), [5, 9], 'xRange: lines need no room');
	eq([axis.xRange([]), axis.xRange([NaN], { domain: [null, null] })], [null, null], 'xRange: nothing to show');
}
eq([trays.materialMismatch('PLA', 'PETG'), trays.materialMismatch('pla', 'PLA '), trays.materialMismatch('', 'PETG'),
	trays.materialMismatch(null, 'PETG'), trays.materialMismatch('PLA', null)],
['Material mismatch: the spool is PETG, the printer reports PLA in this tray', null, null, null, null],
'materialMismatch: case-insensitive; nothing when the tray reports no type or the spool has no material');
eq([trays.trayLabel('ams', 0, 0), trays.trayLabel('ams', 1, 5), trays.trayLabel('ams_ht', 128, 128),
	trays.trayLabel('external', 254, 254), trays.trayLabel('external', 255, 255)],
['AMS 1 slot 1', 'AMS 2 slot 2', 'AMS HT 1', 'External spool', 'External spool 2'],
'trayLabel: the names the browser tests and screen readers rely on');
eq([trays.spoolName({ id: 3, name: 'PETG HF Blue' }), trays.spoolName({ id: 3, name: null }), trays.spoolName(null)],
	['PETG HF Blue #3', 'Spool #3', ''], 'spoolName: with and without a cached name');
eq([trays.isLow({ id: 1, remaining_weight: 99.9 }), trays.isLow({ id: 1, remaining_weight: 100 }),
	trays.isLow({ id: 1, remaining_weight: null }), trays.isLow(null)], [true, false, false, false],
	`isLow: under ${trays.LOW_GRAMS} g only when known`);

// --- RFID tag states (trays.js) and the runout forecast (forecast.js) ---------------------------------------
const TAG = '0123456789ABCDEF0123456789ABCDEF';
eq([trays.tagState({ tag: null }), trays.tagState({ tag: TAG, tag_state: 'pending' }),
	trays.tagState({ tag: TAG, assigned_by: 'tag', conflict: null }),
	trays.tagState({ tag: TAG, assigned_by: null, conflict: 'duplicate_tag' }),
	trays.tagState({ tag: TAG, assigned_by: 'hand', conflict: null }), trays.tagState(null)],
[null, 'pending', 'matched', 'conflict', 'unlinked', null],
'tagState: the tray routes\' tag_state, else derived from the dashboard\'s tag, assigned_by and conflict');
eq([trays.tagWords({ tag: TAG, tag_state: 'matched', assigned_by: 'tag' }),
	trays.tagWords({ tag: TAG, tag_state: 'unknown' }), trays.tagWords({ tag: TAG, assigned_by: null }),
	trays.tagWords({ tag: TAG, tag_state: 'pending' }),
	trays.tagWords({ tag: TAG, tag_state: 'conflict', conflict: 'duplicate_tag' }),
	trays.tagWords({ tag: TAG, conflict: 'spool_in_other_tray' }),
	trays.tagWords({ tag: TAG, conflict: 'tag_on_several_spools' }),
	trays.tagWords({ tag: TAG, conflict: 'something_new' }), trays.tagWords({ tag: null, conflict: null })],
['assigned by tag', 'tag not linked', 'tag not linked', 'tag being looked up',
	'tag conflict: same tag in another tray', 'tag conflict: tagged spool is in another tray',
	'tag conflict: tag on several spools', 'tag conflict: unknown cause', ''],
'tagWords: each tag state and conflict kind in plain words');
{
	const adv = ['duplicate_tag', 'spool_in_other_tray', 'tag_on_several_spools', 'x'].map((c) =>
		trays.conflictAdvice({ tag: TAG, conflict: c, tag_spool_id: 7 }));
	check(/another tray too/.test(adv[0]) && /spool #7/.test(adv[1]) && /Remove it from that tray/.test(adv[1]) &&
		/Several spools in Spoolman/.test(adv[2]) && /\(x\)/.test(adv[3]) &&
		trays.conflictAdvice({ tag: TAG, conflict: null }) === '' && new Set(adv).size === 4,
	'conflictAdvice: a different instruction per conflict kind, nothing without a conflict', adv.join('\n'));
}
{
	const e409 = (error) => new ApiError(409, error, 'server sentence');
	const words = ['no_tag', 'tag_assigned', 'spool_in_other_tray', 'spool_has_tag', 'conflict'].map((k) =>
		trays.linkTagError(e409(k)));
	check(new Set(words).size === 5 && words.every((w) => w.endsWith(' (server sentence)') && w.length > 40) &&
		/no RFID tag/.test(words[0]) && /another tray/.test(words[2]) && /another RFID tag/.test(words[3]),
	'linkTagError: each 409 of link-tag in its own plain words', words.join('\n'));
	eq([trays.linkTagError(new ApiError(502, 'spoolman_error', 'Spoolman answered 500')),
		trays.linkTagError(new ApiError(409, 'new_code', 'a new refusal'))],
	['Spoolman answered 500', 'a new refusal'], 'linkTagError: other errors as the server says them');
}
{
	const now = new Date(2026, 10, 24, 8, 41);
	const at = (h, m, day = 24) => new Date(2026, 10, day, h, m).toISOString();
	eq([forecast.clock(at(9, 5), now), forecast.clock(at(0, 30, 25), now), forecast.clock(at(7, 0, 27), now),
		forecast.clock(null, now), forecast.clock('not a time', now)],
	['09:05', '00:30 tomorrow', '27 Nov 07:00', null, null], 'clock: local HH:MM, tomorrow, a later day, unknown');
	const f = { ok: false, status: 'runs_out', layer: 56, spools: [
		{ spool_id: 1, tray: 0, status: 'runs_out', need_g: 61.2, remaining_g: 40.3, shortfall_g: 20.9,
			runs_out_at_layer: 141, runs_out_at: at(9, 19) },
		{ spool_id: 4, tray: 254, status: 'runs_out', need_g: 5, remaining_g: 0, shortfall_g: 5,
			runs_out_at_layer: 57, runs_out_at: null },
		{ spool_id: 5, tray: 2, status: 'runs_out', need_g: 0, remaining_g: 0, shortfall_g: 3.5,
			runs_out_at_layer: 12, runs_out_at: at(8, 41) },
		{ spool_id: 2, tray: 1, status: 'ok', need_g: 3, remaining_g: 900, shortfall_g: null },
		{ spool_id: null, tray: 3, status: 'unknown', need_g: 4.1, remaining_g: null,
			reason: 'no spool is assigned to the tray' },
		{ spool_id: null, tray: null, status: 'unknown', reason: 'the tray is not known yet' }] };
	const lines = forecast.forecastLines(f, new Map([[1, 'PLA Basic <b>Black</b>']]), now);
	eq(lines.runsOut.map((l) => l.text), [
		'Spool #1 PLA Basic <b>Black</b> runs out at layer 141 (about 09:19): 21 g short, in AMS 1 slot 1',
		'Spool #4 runs out at layer 57: 5.00 g short, in External spool',
		'Spool #5 runs out at layer 12 (already reached): 3.50 g short, in AMS 1 slot 3'],
	'forecastLines: a sentence per spool that runs out, with its name when known and the local time when given');
	eq(lines.unknown.map((l) => l.text), ['Runout unknown for AMS 1 slot 4: no spool is assigned to the tray',
		'Runout unknown for an unknown tray: the tray is not known yet'], 'forecastLines: the unknown entries');
	check(new Set([...lines.runsOut, ...lines.unknown].map((l) => l.key)).size === 5, 'forecastLines: distinct keys');
	const none = (x) => { const l = forecast.forecastLines(x, new Map(), now); return l.runsOut.length + l.unknown.length; };
	eq([none(null), none({ ok: true, status: 'ok', spools: [{ spool_id: 1, tray: 0, status: 'ok' }] }),
		none({ ok: null, status: 'unknown', spools: [{ spool_id: 3, tray: 2, status: 'unknown', reason: 'r' }] })],
	[0, 0, 1], 'forecastLines: nothing for no forecast or an ok one; unknown lines when ok is null');
}

// --- problems.js: a printer's connection_error and Spoolman down, in plain words ----------------------------
{
	const now = new Date(2026, 10, 24, 9, 30);
	const at = (h, m, day = 24) => new Date(2026, 10, day, h, m).toISOString();
	eq([problems.sinceClock(at(9, 5), now), problems.sinceClock(at(23, 10, 23), now), problems.sinceClock(null, now),
		problems.sinceClock('nonsense', now)], ['09:05', '23 Nov 23:10', null, null],
	'sinceClock: HH:MM today, the day before that, unknown');
	const p = (e, more = {}) => ({ id: 1, enabled: true, connected: false, connection_error: e, ...more });
	const auth = problems.printerProblem(p({ kind: 'auth', message: 'the printer rejects the access code (MQTT user bblp)',
		since: at(9, 12) }), now);
	eq(auth, { kind: 'auth', text: 'The printer rejects the access code (MQTT user bblp) (since 09:12).',
		advice: 'Check the access code in Admin > Printers (printer screen: Settings > LAN only / access code).' },
	'printerProblem: auth says to check the access code');
	const un = problems.printerProblem(p({ kind: 'unreachable', message: 'cannot reach 192.168.1.50:8883: No route to host',
		since: null }), now);
	eq([un.text, un.advice], ['Cannot reach 192.168.1.50:8883: No route to host.',
		'Check that the printer is on and on the network, and its address: host 192.168.1.50:8883.'],
	'printerProblem: unreachable names the host to check');
	eq(problems.printerProblem(p({ kind: 'tls', message: 'x' }), now).kind, 'tls', 'printerProblem: tls');
	eq([problems.printerProblem(p({ kind: 'auth', message: 'm' }, { connected: true }), now),
		problems.printerProblem(p({ kind: 'auth', message: 'm' }, { enabled: false }), now),
		problems.printerProblem(p(null), now), problems.printerProblem(p({ kind: 'auth' }), now)],
	[null, null, null, null], 'printerProblem: nothing when connected, disabled, no error or no message');
	eq([problems.spoolmanBanner({ ok: false, error: 'Connection refused', since: at(9, 2), backlog: 3 }, now),
		problems.spoolmanBanner({ ok: false, error: null, since: at(9, 2), backlog: 1 }, now),
		problems.spoolmanBanner({ ok: false, error: 'timeout', since: null, backlog: 0 }, now),
		problems.spoolmanBanner({ ok: true, error: null, since: at(9, 2), backlog: 4 }, now),
		problems.spoolmanBanner({ ok: null, backlog: 0 }, now), problems.spoolmanBanner(undefined, now)],
	['Spoolman is unreachable since 09:02 (Connection refused). 3 uses are waiting and will be sent when it is back.',
		'Spoolman is unreachable since 09:02. 1 use is waiting and will be sent when it is back.',
		'Spoolman is unreachable (timeout). Nothing is waiting to be sent.', null, null, null],
	'spoolmanBanner: since, error and backlog when down; nothing when ok or unknown');
}

// --- api.js against a stub fetch ---------------------------------------------------------------------------
eq([query({ a: 1, b: '', c: null, d: undefined, e: 'x y&z' }), query({})], ['?a=1&e=x+y%26z', ''],
	'query: empty values are left out and values are encoded');
const calls = [];
let answer = null;
globalThis.fetch = async (url, init) => {
	calls.push({ url, init });
	if (answer instanceof Error)
		throw answer;
	return answer;
};
const json = (status, body, ctype = 'application/json; charset=utf-8') =>
	new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'Content-Type': ctype } });

setCsrf('tok');
answer = json(200, { ok: 1 });
eq(await api('GET', '/status'), { ok: 1 }, 'api GET: the parsed answer');
check(calls[0].url === '/api/v1/status' && !('X-CSRF-Token' in calls[0].init.headers) && !calls[0].init.body,
	'api GET: /api/v1 prefix, no CSRF header, no body', JSON.stringify(calls[0]));
answer = json(200, { tray: 5 });
await api('PUT', '/printers/1/trays/5', { spool_id: 12, move: true });
const put = calls[1].init;
check(put.method === 'PUT' && put.headers['X-CSRF-Token'] === 'tok' && put.headers['Content-Type'] === 'application/json' &&
	put.body === '{"spool_id":12,"move":true}' && put.credentials === 'same-origin',
	'api PUT: CSRF header, JSON body, same-origin credentials', JSON.stringify(put));
answer = new Response(null, { status: 204 });
eq(await api('DELETE', '/session'), null, 'api: 204 is null');
answer = json(409, { error: 'conflict', detail: 'spool 12 is in P1S, AMS 1 slot 1' });
let err = await api('PUT', '/x', {}).catch((e) => e);
check(err instanceof ApiError && err.status === 409 && err.error === 'conflict' && err.detail.startsWith('spool 12'),
	'api: an error answer becomes ApiError {status, error, detail}', JSON.stringify(err));
answer = new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } });
err = await api('GET', '/x').catch((e) => e);
check(err.status === 502 && err.error === 'http_502' && /HTTP 502/.test(err.detail),
	'api: a non-JSON error still gives a sentence', JSON.stringify(err));
answer = new TypeError('Failed to fetch');
err = await api('GET', '/x').catch((e) => e);
check(err.status === 0 && err.error === 'network', 'api: no answer at all is status 0 "network"', JSON.stringify(err));
answer = null;
calls.length = 0;
globalThis.fetch = async (url, init) => {
	calls.push({ url, init });
	return /tz=UTC/.test(url) ? json(200, { rows: [] }) :
		json(400, { error: 'invalid', detail: 'tz: Mars/Olympus is not a known time zone' });
};
eq(await api('GET', '/usage?group=day&tz=Mars%2FOlympus&from=2024-03-01'), { rows: [] },
	'api: a time zone the server refuses is asked again in UTC');
check(calls.length === 2 && calls[1].url === '/api/v1/usage?group=day&tz=UTC&from=2024-03-01' &&
	fmt.timeZone() === 'UTC', 'api: ... with the other parameters kept, and UTC from then on',
	JSON.stringify(calls.map((c) => c.url)));
globalThis.fetch = async (url, init) => {
	calls.push({ url, init });
	return answer;
};
let gone = 0;
setUnauthorizedHandler(() => gone++);
answer = json(401, { error: 'invalid_login', detail: 'wrong' });
await api('POST', '/session', {}).catch(() => null);
answer = json(401, { error: 'unauthorized', detail: 'log in' });
await api('GET', '/me').catch(() => null);
check(gone === 1, 'api: only 401 "unauthorized" ends the session (a wrong login does not)', `handler ran ${gone} times`);

// --- the sources: no HTML from strings -------------------------------------------------------------------
const bad = [];
const walk = (d) => {
	for (const f of readdirSync(d)) {
		const p = join(d, f);
		if (statSync(p).isDirectory())
			walk(p);
		else if (/\.(jsx?|mjs)$/.test(f)) {
			const src = readFileSync(p, 'utf8');
			for (const word of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'dangerouslySetInnerHTML',
				'document.write', 'eval(', 'new Function'])
				if (src.includes(word))
					bad.push(`${p.slice(root.length + 1)}: ${word}`);
		}
	}
};
walk(join(root, 'src'));
check(!bad.length, 'src/ never builds HTML from strings (innerHTML, dangerouslySetInnerHTML, eval...)', bad.join('\n'));

// --- the build ---------------------------------------------------------------------------------------------
if (!existsSync(join(dist, 'index.html'))) {
	check(false, `${dist}/index.html exists (make frontend)`);
} else {
	const html = readFileSync(join(dist, 'index.html'), 'utf8');
	const refs = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]);
	const missing = refs.filter((r) => !existsSync(join(dist, r)));
	check(refs.length >= 4 && !missing.length, `index.html names ${refs.length} files, all present`, missing.join(' '));
	check(!/<script>|<style|style="|\son[a-z]+="/i.test(html) && !/https?:\/\//.test(html),
		'index.html has no inline script or style and no outside URL (CSP, offline)');
	let gz = 0;
	for (const f of readdirSync(join(dist, 'assets')).filter((x) => x.endsWith('.js')))
		gz += gzipSync(readFileSync(join(dist, 'assets', f)), { level: 9 }).length;
	gz += gzipSync(readFileSync(join(dist, 'sw.js')), { level: 9 }).length;
	check(gz > 10000 && gz <= 200 * 1024, `all JavaScript is ${(gz / 1024).toFixed(1)} KB gzip-compressed (at most 200 KB)`);
	const sw = readFileSync(join(dist, 'sw.js'), 'utf8');
	const shell = JSON.parse(/const SHELL = (\[[^\n]*\]);/.exec(sw)?.[1] || 'null');
	check(Array.isArray(shell) && shell.includes('/') && shell.every((u) => !u.startsWith('/api')) &&
		shell.every((u) => u === '/' || existsSync(join(dist, u))) && !sw.includes('%VERSION%'),
	'sw.js caches the shell (every file exists) and nothing under /api', JSON.stringify(shell));
	check(/url\.pathname\.startsWith\('\/api\/'\)/.test(sw), 'sw.js leaves /api/ requests to the network');
	let man = null;
	try {
		man = JSON.parse(readFileSync(join(dist, 'manifest.webmanifest'), 'utf8'));
	} catch (e) {
		man = null;
	}
	const pngs = man ? man.icons.filter((i) => i.type === 'image/png') : [];
	const sizesOk = pngs.every((i) => {
		const b = readFileSync(join(dist, i.src));
		const [w, h] = i.sizes.split('x').map(Number);
		return b.toString('ascii', 1, 4) === 'PNG' && b.readUInt32BE(16) === w && b.readUInt32BE(20) === h;
	});
	check(man && man.start_url === '/' && man.display === 'standalone' && pngs.some((i) => i.sizes === '192x192') &&
		pngs.some((i) => i.sizes === '512x512') && pngs.some((i) => i.purpose === 'maskable') && sizesOk,
	'manifest.webmanifest: installable (standalone, 192 and 512 PNG icons of those sizes, a maskable one)');
}

console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
