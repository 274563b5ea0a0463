// lib/api.mjs: a logged-in client of the JSON API (/api/v1) for the browser tests' set-up and cross-checks.
import { request } from 'playwright-core';

/*
 * apiLogin(baseURL, username, password): a new API client logged in as that user: {ctx, csrf, get, send, close}.
 * get(path) and send(method, path, body) return {status, json, text}; send adds the CSRF token.  Throws with
 * the answer when the login fails.  The caller calls close().
 */
export async function apiLogin(baseURL, username, password)
{
	const ctx = await request.newContext({ baseURL });
	const r = await ctx.post('/api/v1/session', { data: { username, password } });
	if (r.status() !== 200)
		throw new Error(`POST /api/v1/session as ${username}: ${r.status()} ${await r.text()}`);
	const csrf = (await r.json()).csrf_token;
	const wrap = async (resp) => {
		const text = await resp.text();
		let json = null;
		try { json = JSON.parse(text); } catch { /* not JSON: text says what came */ }
		return { status: resp.status(), json, text, headers: resp.headers() };
	};
	return {
		ctx,
		csrf,
		get: async (path) => wrap(await ctx.get(path)),
		send: async (method, path, body) => wrap(await ctx.fetch(path, {
			method, data: body, headers: { 'X-CSRF-Token': csrf },
		})),
		close: () => ctx.dispose(),
	};
}

/* must(answer, status, what): answer.json when answer.status is status, else throws naming what and the answer. */
export function must(answer, status, what)
{
	if (answer.status !== status)
		throw new Error(`${what}: HTTP ${answer.status} (want ${status}): ${answer.text.slice(0, 400)}`);
	return answer.json;
}
