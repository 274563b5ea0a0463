// api.js: the one way the app talks to /api/v1: JSON in and out, the CSRF header, errors as ApiError.

import { zoneRefused } from './format.js';

let csrfToken = null;
let onUnauthorized = null;

/** ApiError: an answer that is not 2xx (status 0: no answer at all). `error` is the API's word, `detail` its sentence. */
export class ApiError extends Error {
	constructor(status, error, detail, body) {
		super(detail);
		this.status = status;
		this.error = error;
		this.detail = detail;
		this.body = body;
	}
}

/** setCsrf(token): the session's CSRF token (from log in, setup or GET /me); null after log out. */
export function setCsrf(token) {
	csrfToken = token;
}

/** setUnauthorizedHandler(fn): fn(err) runs when an answer says the session is gone (401 unauthorized). */
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

/** query(params): "?a=1&b=2" from an object, leaving out null, undefined and "" values ("" when none are left). */
export function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== null && v !== undefined && v !== '')
			q.set(k, String(v));
	const s = q.toString();
	return s ? '?' + s : '';
}

/**
 * api(method, path, body?, opts?): calls /api/v1<path>; resolves to the parsed JSON (null for 204), rejects with
 * ApiError.  opts.signal aborts it.  Every state change carries X-CSRF-Token.
 */
export async function api(method, path, body, opts = {}) {
	const headers = { Accept: 'application/json' };
	if (method !== 'GET' && method !== 'HEAD' && csrfToken)
		headers['X-CSRF-Token'] = csrfToken;
	const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal: opts.signal };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch('/api/v1' + path, init);
	} catch (e) {
		if (e && e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'network', 'The server cannot be reached: check the connection.', null);
	}
	if (res.status === 204)
		return null;
	let data = null;
	if ((res.headers.get('Content-Type') || '').includes('json')) {
		try {
			data = await res.json();
		} catch (e) {
			data = null;
		}
	}
	if (res.ok)
		return data;
	// A time zone the server's PostgreSQL does not know (tz: ...): ask again in UTC, and keep UTC from now on.
	if (res.status === 400 && data && typeof data.detail === 'string' && data.detail.startsWith('tz:') &&
	    /[?&]tz=/.test(path) && !/[?&]tz=UTC(&|$)/.test(path)) {
		zoneRefused();
		return api(method, path.replace(/([?&]tz=)[^&]*/, '$1UTC'), body, opts);
	}
	const word = data && typeof data.error === 'string' ? data.error : 'http_' + res.status;
	const detail = data && typeof data.detail === 'string' ? data.detail : `The server answered HTTP ${res.status}.`;
	const err = new ApiError(res.status, word, detail, data);
	if (res.status === 401 && word === 'unauthorized' && onUnauthorized)
		onUnauthorized(err);
	throw err;
}
