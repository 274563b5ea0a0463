// router.js: client-side routing by path (history API); nginx serves the shell for every page path.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

function current() {
	return { path: location.pathname, search: location.search };
}

/** navigate(url, replace?): goes to a path of the app without reloading. */
export function navigate(url, replace = false) {
	if (replace)
		history.replaceState(null, '', url);
	else
		history.pushState(null, '', url);
	window.scrollTo(0, 0);
	for (const fn of listeners)
		fn(current());
}

window.addEventListener('popstate', () => {
	for (const fn of listeners)
		fn(current());
});

/** useLocation(): {path, search}, re-rendering on every navigation. */
export function useLocation() {
	const [loc, setLoc] = useState(current());
	useEffect(() => {
		listeners.add(setLoc);
		return () => listeners.delete(setLoc);
	}, []);
	return loc;
}

/** linkClick(event): an <a> click handler that routes in the page (plain left clicks only). */
export function linkClick(event) {
	const a = event.currentTarget;
	if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
	    event.altKey || a.target || a.hasAttribute('download') || a.origin !== location.origin)
		return;
	event.preventDefault();
	navigate(a.pathname + a.search + a.hash);
}

/** match(pattern, path): the :params of pattern ("/prints/:id") in path, or null. */
export function match(pattern, path) {
	const p = pattern.split('/'), s = path.replace(/\/+$/, '').split('/');
	if (path === '/' && pattern === '/')
		return {};
	if (p.length !== s.length)
		return null;
	const params = {};
	for (let i = 0; i < p.length; i++) {
		if (p[i].startsWith(':'))
			params[p[i].slice(1)] = decodeURIComponent(s[i]);
		else if (p[i] !== s[i])
			return null;
	}
	return params;
}
