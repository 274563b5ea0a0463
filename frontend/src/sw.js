// sw.js: Spoolkeeper's service worker: caches the app shell only, so the app installs and opens offline.
// API answers (/api/...) are never cached or even seen here: they always go to the network.
// build.mjs fills in VERSION and SHELL.
const VERSION = '%VERSION%';
const SHELL = ['%SHELL%'];
const CACHE = 'spoolkeeper-shell-' + VERSION;

self.addEventListener('install', (event) => {
	event.waitUntil(caches.open(CACHE)
		.then((c) => c.addAll(SHELL.map((u) => new Request(u, { cache: 'reload' }))))
		.then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
	event.waitUntil(caches.keys()
		.then((keys) => Promise.all(keys.filter((k) => k.startsWith('spoolkeeper-shell-') && k !== CACHE)
			.map((k) => caches.delete(k))))
		.then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
	const req = event.request;
	const url = new URL(req.url);
	if (req.method !== 'GET' || url.origin !== self.location.origin)
		return;
	if (url.pathname.startsWith('/api/') || url.pathname === '/metrics')
		return;		// the network, untouched
	if (req.mode === 'navigate') {
		// A page: the network first (a new version is seen at once), the cached shell when offline.
		event.respondWith(fetch(req).catch(() => caches.match('/', { cacheName: CACHE })
			.then((r) => r || Response.error())));
		return;
	}
	if (SHELL.includes(url.pathname)) {
		event.respondWith(caches.match(req, { cacheName: CACHE }).then((r) => r || fetch(req)));
	}
});
