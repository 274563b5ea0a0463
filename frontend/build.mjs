// build.mjs: bundles src/ into dist/ (hashed assets, index.html, manifest, icons, service worker) and checks the size.
//
// node build.mjs [--dev]   (run by `make frontend`; --dev keeps the code unminified, for reading stack traces)
// Output: dist/index.html, dist/sw.js, dist/manifest.webmanifest, dist/icons/*, dist/assets/<name>-<hash>.{js,css}.
// Prints the gzip-compressed size of all JavaScript and fails when it exceeds BUDGET (docs/frontend.md).
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { drawIcon } from './tools/icons.mjs';

const BUDGET = 200 * 1024;
const dev = process.argv.includes('--dev');
const out = 'dist';

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
mkdirSync(join(out, 'icons'), { recursive: true });

const result = await esbuild.build({
	entryPoints: ['src/main.jsx'],
	bundle: true,
	splitting: true,
	format: 'esm',
	outdir: join(out, 'assets'),
	entryNames: '[name]-[hash]',
	chunkNames: '[name]-[hash]',
	assetNames: '[name]-[hash]',
	minify: !dev,
	sourcemap: false,
	target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
	jsx: 'automatic',
	jsxImportSource: 'preact',
	legalComments: 'none',
	metafile: true,
	logLevel: 'warning',
});

// The entry's JS and CSS, for index.html.
let js = null, css = null;
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
	if (meta.entryPoint === 'src/main.jsx' && file.endsWith('.js')) js = file;
	if (file.endsWith('.css') && file.includes('main-')) css = file;
}
if (!js || !css)
	throw new Error('build: no entry JS or CSS in the esbuild output');
const rel = (f) => '/' + f.slice(out.length + 1);

const html = readFileSync('src/index.html', 'utf8')
	.replace('%CSS%', rel(css))
	.replace('%JS%', rel(js));
if (html.includes('%'))
	throw new Error('build: src/index.html has an unknown %placeholder%');
writeFileSync(join(out, 'index.html'), html);

cpSync('public', out, { recursive: true });
for (const icon of [
	{ name: 'icon-192.png', size: 192, maskable: false },
	{ name: 'icon-512.png', size: 512, maskable: false },
	{ name: 'icon-maskable-512.png', size: 512, maskable: true },
	{ name: 'apple-touch-icon.png', size: 180, maskable: true },
])
	writeFileSync(join(out, 'icons', icon.name), drawIcon(icon.size, icon.maskable));

// The service worker caches the app shell: index.html, every asset, the manifest and the icons.  Its version is
// a hash of that list's contents, so a new build installs a new cache and drops the old one.
const shell = ['/', '/manifest.webmanifest'];
for (const dir of ['assets', 'icons'])
	for (const f of readdirSync(join(out, dir)).sort())
		shell.push(`/${dir}/${f}`);
const h = createHash('sha256');
for (const p of shell)
	h.update(p === '/' ? html : readFileSync(join(out, p)));
const version = h.digest('hex').slice(0, 16);
const sw = readFileSync('src/sw.js', 'utf8')
	.replace("'%VERSION%'", JSON.stringify(version))
	.replace("['%SHELL%']", JSON.stringify(shell));
writeFileSync(join(out, 'sw.js'), sw);

// The size budget: every JavaScript file a browser may load (the lazy QR decoder included), gzip -9.
let raw = 0, gz = 0;
for (const f of readdirSync(join(out, 'assets')).concat(['../sw.js'])) {
	if (!f.endsWith('.js'))
		continue;
	const b = readFileSync(join(out, 'assets', f));
	raw += b.length;
	gz += gzipSync(b, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1) + ' KB';
console.log(`frontend: ${shell.length} shell files; JavaScript ${kb(raw)}, ${kb(gz)} gzip-compressed (budget ${kb(BUDGET)})`);
if (gz > BUDGET) {
	console.error(`frontend: the JavaScript is ${kb(gz)} gzip-compressed, over the budget of ${kb(BUDGET)}`);
	process.exit(1);
}
