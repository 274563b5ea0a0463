// lib/wait.mjs: polling helpers for the browser tests (never a fixed sleep as the condition).

/* sleep(ms): resolves after ms milliseconds (the pause between two polls). */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/*
 * poll(what, fn, timeoutMs, everyMs): calls async fn until it returns a truthy value and returns that value.
 * Throws "what: not within N s (last: ...)" after timeoutMs; fn may return {last} via poll.last(...) for that
 * message, and an error it throws counts as "not yet" (the last error is shown).
 */
export async function poll(what, fn, timeoutMs = 30000, everyMs = 250)
{
	const end = Date.now() + timeoutMs;
	let last = '';
	for (;;) {
		try {
			const v = await fn((s) => { last = s; });
			if (v)
				return v;
		} catch (e) {
			last = e && e.message ? e.message.split('\n')[0] : String(e);
		}
		if (Date.now() >= end)
			throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s${last ? ` (last: ${last})` : ''}`);
		await sleep(everyMs);
	}
}

/* reEscape(s): s with every regular-expression metacharacter escaped, for new RegExp(). */
export const reEscape = (s) => String(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
